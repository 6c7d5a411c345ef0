"""Session state is typed and declared once: every key lives in ui/state.py, each record is a
small frozen dataclass read and written through one accessor, and messages are ``Message`` objects shown by notice."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import state
from ui.notice import notice

ROOT = Path(__file__).resolve().parents[2]
KEY_LIKE = re.compile(r"^[a-z_]+\.[a-z_0-9.]+$")  # "page.name": how every session-state key is spelt
WIDGETS = {
    "button",
    "slider",
    "selectbox",
    "radio",
    "toggle",
    "checkbox",
    "text_input",
    "text_area",
    "number_input",
    "file_uploader",
    "download_button",
    "multiselect",
    "select_slider",
    "data_editor",
    "color_picker",
    "date_input",
    "time_input",
    "pills",
    "segmented_control",
    "feedback",
    "chat_input",
    "camera_input",
    "audio_input",
}


@pytest.fixture
def session(monkeypatch) -> dict:
    """A plain dict in place of st.session_state: the accessors only read and write through it."""
    store: dict = {}
    monkeypatch.setattr(st, "session_state", store)
    return store


# --- the accessors ---------------------------------------------------------------------------------------------


def test_records_are_frozen_dataclasses():
    records = [
        state.Message,
        state.ModelError,
        state.TrainMessage,
        state.TooLong,
        state.ShareView,
        state.ViewMessage,
        state.Cut,
        state.LastSample,
        state.ModelComparison,
        state.GenerationView,
    ]
    for record in records:
        assert dataclasses.is_dataclass(record) and record.__dataclass_params__.frozen, record
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.Message("info", "a").text = "b"


def test_model_error_round_trip_and_an_old_tuple_reads_as_nothing(session):
    assert state.model_error() is None
    state.set_model_error(state.ModelError("gpt-nope", "No such model."))
    assert session[state.MODEL_ERROR] == state.ModelError("gpt-nope", "No such model.")
    assert state.model_error().message("gpt2") == state.Message("error", "No such model. Still using gpt2.")
    session[state.MODEL_ERROR] = ("gpt-nope", "No such model.")  # the old tuple form is not a record
    assert state.model_error() is None
    state.set_model_error(None)
    assert state.model_error() is None


def test_train_message_remembers_where_it_belongs(session):
    state.set_train_message("corpus", state.Message("error", "empty.txt: the file is empty."))
    note = state.train_message()
    assert note.where == "corpus" and note.message.kind == "error" and "empty" in note.message.text
    state.set_train_message("train", None)
    assert state.train_message() is None


def test_share_view_and_view_message(session):
    assert state.share_view() == state.ShareView("")  # nothing shared yet: an empty view, never a tuple
    view = state.ShareView("perplexity", ("field",), (state.TooLong("text", 10_000),))
    state.set_share_view(view)
    assert state.share_view().too_long[0].param == "text" and state.share_view().too_long[0].length == 10_000
    message = state.ViewMessage("train", state.Message("success", "View restored from a.json."), ("Ignored x.",))
    state.set_view_message(message)
    assert state.view_message() is message
    state.set_view_message(None)
    assert state.view_message() is None


def test_cuts_are_kept_per_box(session):
    assert state.cut("tokenizer.prompt") is None
    state.set_cut("tokenizer.prompt", state.Cut(25_200, "abc"))
    assert state.cut("tokenizer.prompt") == state.Cut(25_200, "abc") and state.cut("train.corpus") is None
    assert session[state.CONTROLS_CUTS] == {"tokenizer.prompt": state.Cut(25_200, "abc")}


def test_last_sample_has_named_fields(session):
    state.set_last_sample(state.LastSample("␣Paris", 0.7, 0.8, 3))
    last = state.last_sample()
    assert (last.token, last.model_probability, last.sampling_probability, last.seed) == ("␣Paris", 0.7, 0.8, 3)


def test_model_comparison_is_pending_until_it_has_a_result_or_an_error(session):
    state.set_model_comparison(state.ModelComparison("gpt2", "some text"))
    assert state.model_comparison().pending
    result = SimpleNamespace(perplexity=12.0)
    state.set_model_comparison(state.ModelComparison("gpt2", "some text", result=result))
    assert not state.model_comparison().pending and state.model_comparison().result is result
    state.set_model_comparison(state.ModelComparison("gpt2", "some text", error="offline"))
    saved = state.model_comparison()
    assert not saved.pending and saved.result is None and saved.error == "offline"


def test_messages_are_typed_and_the_generation_message_shows_once(session):
    state.set_perplexity_message(state.Message("error", "photo.txt: binary"))
    assert state.perplexity_message() == state.Message("error", "photo.txt: binary")
    state.set_generation_message(state.Message("warning", "The generation has finished."))
    assert state.take_generation_message() == state.Message("warning", "The generation has finished.")
    assert state.take_generation_message() is None and state.GEN_MESSAGE not in session


def test_generation_for_gives_the_attention_page_a_snapshot_or_nothing(session):
    assert state.generation_for("m") is None  # no generation in this session
    stepper = SimpleNamespace(model_name="m", all_ids=[1, 2, 3], prompt_len=3)
    session[state.GEN_STEPPER] = stepper
    assert state.generation_for("m") is None  # nothing generated yet
    stepper.all_ids = [1, 2, 3, 4, 5]
    assert state.generation_for("other model") is None
    view = state.generation_for("m")
    assert view == state.GenerationView("m", (1, 2, 3, 4, 5), 3) and view.generated == 2
    stepper.all_ids = [1, 2, 3, 4, 5, 6]  # the generation page goes on: the view already taken does not change
    assert view.ids == (1, 2, 3, 4, 5)


# --- one way to show a message -----------------------------------------------------------------------------------


def test_notice_takes_the_kind_from_a_message_and_shows_its_text_inert():
    shown = []
    where = SimpleNamespace(
        **{
            kind: (lambda text, kind=kind: shown.append((kind, text)))
            for kind in ("info", "warning", "error", "success", "caption")
        }
    )
    notice(state.Message("error", "<b>bad</b>.txt: *not* a text"), where=where)
    notice(state.Message("success", "done"), "caption", where=where)  # an explicit kind wins
    notice(ValueError("plain"), where=where)
    assert shown == [("error", r"\<b\>bad\</b\>.txt: \*not\* a text"), ("caption", "done"), ("info", "plain")]


def test_a_message_left_by_a_callback_is_shown_on_the_next_run():
    def script():
        import streamlit as st

        from ui import state
        from ui.notice import notice

        def fail():
            state.set_perplexity_message(state.Message("error", "upload.txt: <script>x</script>"))

        st.button("Go", key="go", on_click=fail)
        if message := state.perplexity_message():
            notice(message)

    at = AppTest.from_function(script).run()
    assert not at.error
    at.button(key="go").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [r"upload.txt: \<script\>x\</script\>"]


# --- keys declared once ------------------------------------------------------------------------------------------


def _sources() -> list[Path]:
    files = sorted((ROOT / "app_pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py")) + [ROOT / "app.py"]
    return [p for p in files if p != ROOT / "ui" / "state.py"]


def _is_session_state(node: ast.AST, aliases: set[str]) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "session_state") or (
        isinstance(node, ast.Name) and node.id in aliases
    )


def _literal(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def undeclared_keys(source: str) -> list[str]:
    """Places in ``source`` that name a session-state key by a string literal instead of a ui.state constant."""
    tree = ast.parse(source)
    aliases = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_session_state(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_session_state(node.value, aliases) and _literal(node.slice):
            found.append(f"line {node.lineno}: session_state[literal]")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and _is_session_state(node.func.value, aliases)
            and node.args
            and _literal(node.args[0])
        ):
            found.append(f"line {node.lineno}: session_state.{node.func.attr}(literal)")
        elif (
            isinstance(node, ast.Compare)
            and _literal(node.left)
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and _is_session_state(node.comparators[0], aliases)
        ):
            found.append(f"line {node.lineno}: literal in session_state")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WIDGETS:
            key = next((k.value for k in node.keywords if k.arg == "key"), None)
            if key is None:
                found.append(f"line {node.lineno}: {node.func.attr} without a key")
            elif _literal(key) and not (
                isinstance(key, ast.JoinedStr) and key.values and isinstance(key.values[0], ast.FormattedValue)
            ):
                found.append(f"line {node.lineno}: {node.func.attr} keyed by a literal")
    for node in tree.body:  # module constants spelt like keys ("generation.replayed") belong in ui/state.py
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and KEY_LIKE.match(node.value.value)
        ):
            found.append(f"line {node.lineno}: key-like constant {node.value.value!r}")
    return found


def test_the_checker_finds_every_kind_of_undeclared_key():
    bad = """
import streamlit as st
ss = st.session_state
REPLAYED = "generation.replayed"
st.session_state["sidebar.link_note"] = 1
st.session_state.get("sidebar.model_from_link")
ss.pop(f"generation.{x}", None)
if "share.session_started" not in st.session_state: pass
st.toggle("Presenter mode", key="shared.presenter")
st.button("Go")
"""
    assert len(undeclared_keys(bad)) == 7
    good = """
import streamlit as st
from ui import state
st.session_state[state.PRESENTER] = 1
st.button("Go", key=f"{state.GEN_PICK_BUTTON}.{i}")
st.plotly_chart(figure, key="generation.bars")
"""
    assert undeclared_keys(good) == []


def test_every_session_state_key_is_declared_in_ui_state():
    offenders = {p.relative_to(ROOT).as_posix(): found for p in _sources() if (found := undeclared_keys(p.read_text()))}
    assert not offenders, offenders


def test_keys_in_ui_state_are_distinct():
    keys = {
        name: value
        for name, value in vars(state).items()
        if name.isupper() and isinstance(value, str) and KEY_LIKE.match(value)
    }
    assert len(keys) > 100
    assert len(set(keys.values())) == len(keys), "two constants name the same key"

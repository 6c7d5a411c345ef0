"""AppTest: the shared-server limits bite where they should (a hostile link, a long text, a big model) and say so."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import core.perplexity
from core.models import converted_model_dir
from core.perplexity_examples import FLUENT
from tests.app.helpers import ROOT, all_text, assert_clean, open_page
from ui import state
from ui.model_picker import LOCAL_FOLDER

pytestmark = pytest.mark.slow  # make test only: runs that go to the operator's caps

OPERATOR_ENV = (
    "NTE_MAX_NEW_TOKENS",
    "NTE_MAX_LINK_STEPS",
    "NTE_MAX_PERPLEXITY_CHARS",
    "NTE_MAX_PARAMS",
    "NTE_MAX_CACHED_MODELS",
)


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for name in OPERATOR_ENV:
        monkeypatch.delenv(name, raising=False)


def open_link(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at


def test_a_link_asking_for_2000_tokens_generates_at_most_the_cap_and_says_so():
    at = open_link(
        "app_pages/generation.py", {"prompt": "Once upon a time", "max_new": "2000", "steps": "2000", "t": "0"}
    )
    stepper = at.session_state[state.GEN_STEPPER]
    assert 1 <= len(stepper.steps) <= 64
    assert stepper.max_new_tokens == 256 and at.number_input(key=state.GEN_MAX_NEW).value == 256
    assert at.number_input(key=state.GEN_MAX_NEW).proto.max == 256
    text = all_text(at)
    assert "This link asked for 2,000 steps; this server replays at most 64. Press Run to continue." in text
    assert "Max new tokens was 2,000; this server generates at most 256 per run." in text
    assert "This server generates at most 256 tokens per run." in text
    # the next press of "Run to the end" stops at the cap, not at the link's 2,000
    at.button(key="generation.run_all").click().run()
    assert_clean(at)
    assert len(at.session_state[state.GEN_STEPPER].steps) <= 256


def test_the_operator_sets_the_link_replay_and_token_caps(monkeypatch):
    monkeypatch.setenv("NTE_MAX_LINK_STEPS", "3")
    monkeypatch.setenv("NTE_MAX_NEW_TOKENS", "5")
    at = open_link("app_pages/generation.py", {"prompt": "Once upon a time", "max_new": "8", "steps": "40", "t": "0"})
    assert len(at.session_state[state.GEN_STEPPER].steps) == 3
    text = all_text(at)
    assert "This link asked for 40 steps; this server replays at most 3. Press Run to continue." in text
    assert "This server generates at most 5 tokens per run." in text
    at.button(key="generation.run_all").click().run()
    assert_clean(at)
    assert len(at.session_state[state.GEN_STEPPER].steps) == 5
    assert at.session_state[state.GEN_STEPPER].finished


def test_without_the_kv_cache_a_run_stops_at_its_token_budget(monkeypatch):
    monkeypatch.setenv("NTE_MAX_NEW_TOKENS", "4")  # budget without the cache: 16 x 4 = 64 tokens recomputed
    at = open_page("app_pages/generation.py")
    at.text_area(key=state.GEN_PROMPT).set_value(" ".join(["word"] * 40)).run()
    at.toggle(key=state.GEN_NO_CACHE).set_value(True).run()
    assert "without the KV cache, one run recomputes at most 64 tokens" in all_text(at)
    at.button(key="generation.run_all").click().run()
    assert_clean(at)
    stepper = at.session_state[state.GEN_STEPPER]
    assert 1 <= len(stepper.steps) < 4 and not stepper.finished
    assert any("this server's limit per run: 64" in w.value for w in at.warning)


def test_perplexity_refuses_a_text_over_the_limit_before_any_scoring(monkeypatch):
    windows = []
    real = core.perplexity.sliding_windows
    monkeypatch.setattr(core.perplexity, "sliding_windows", lambda *a, **k: windows.append(a) or real(*a, **k))
    monkeypatch.setenv("NTE_MAX_PERPLEXITY_CHARS", "300")
    at = open_page("app_pages/perplexity.py")
    assert "This server scores texts of up to 300 characters." in all_text(at)
    windows.clear()
    at.text_area(key=state.PPL_TEXT).input(FLUENT * 2).run()
    assert_clean(at)
    refusal = next(i.value for i in at.info if "at most 300" in i.value).replace("\\", "")  # markdown escapes
    assert f"{len(FLUENT * 2):,} characters" in refusal and "NTE_MAX_PERPLEXITY_CHARS" in refusal
    assert windows == [] and not any(m.label == "Perplexity" for m in at.metric)


def test_perplexity_default_limit_is_stated_and_enforced():
    at = open_page("app_pages/perplexity.py")
    assert "This server scores texts of up to 4,000 characters." in all_text(at)
    at.text_area(key=state.PPL_TEXT).input("a " * 2_001).run()
    assert any("4,002 characters" in i.value and "at most 4,000" in i.value for i in at.info)


def test_a_class_server_keeps_one_model_and_offers_no_other(monkeypatch):
    """The default (max_cached_models = 1): the picker offers the bundled model only, a link's other model is
    ignored with a note, and a direct load of another model is refused in plain words."""
    from core.models import DEFAULT_MODEL, ModelLoadError
    from ui.model_picker import ONE_MODEL_NOTE, load

    at = open_link("app_pages/home.py", {"model": "gpt2"})
    assert at.sidebar.selectbox(key=state.MODEL_CHOICE).options == [DEFAULT_MODEL]
    assert ONE_MODEL_NOTE in all_text(at)
    assert "Ignored the link's 'model' value" in all_text(at)
    with pytest.raises(ModelLoadError, match="one model loaded for everyone"):
        load("gpt2")
    monkeypatch.setenv("NTE_MAX_CACHED_MODELS", "2")  # an operator who keeps two models gets the others back
    at.run()
    assert "gpt2" in at.sidebar.selectbox(key=state.MODEL_CHOICE).options


def test_the_model_picker_refuses_a_model_over_the_operators_cap(monkeypatch):
    monkeypatch.setenv("NTE_MAX_CACHED_MODELS", "2")
    monkeypatch.setenv("NTE_ALLOW_LOCAL_MODELS", "1")
    monkeypatch.setenv("NTE_MAX_PARAMS", "100e6")  # the 135 M model in a folder is over it
    at = open_page("app_pages/home.py")
    assert "This server loads models of up to 100 M parameters." in all_text(at)
    at.sidebar.selectbox(key=state.MODEL_CHOICE).set_value(LOCAL_FOLDER).run()
    at.sidebar.text_input(key=state.MODEL_CUSTOM_ID).set_value(str(converted_model_dir())).run()
    assert_clean(at)
    assert any("above this server's cap of 0.10 B" in e.value.replace("\\", "") for e in at.sidebar.error)

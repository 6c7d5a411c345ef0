"""Nothing is lost silently: what a link cannot hold is named, a view file restores it exactly,
a hostile file gets a clear message, an over-long paste is cut with a note, a restart is announced."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import ROOT, assert_clean, open_page
from ui import state
from ui.share import BOOT_ID, Shared, view_file_bytes

pytestmark = pytest.mark.slow  # make test only: a 10,000-character text scored under a raised bound

LONG_TEXT = ("The bakery on the corner opens at six. " * 260)[:10_000]  # 10,000 characters
PPL_UPLOAD = "share.view_upload.perplexity"
TRAIN_UPLOAD = "share.view_upload.train"
PPL_FIELDS = [
    Shared(state.PPL_TEXT, "text", max_chars=4000),
    Shared(state.PPL_ADD_BOS, "bos", "bool"),
    Shared(state.PPL_WINDOW, "window", "int", 2, 2048),
    Shared(state.PPL_STRIDE, "stride", "int", 1, 2048),
]


def _share_box(at: AppTest):
    return next(e for e in at.expander if e.label == "Share this view")


def _texts(element) -> str:
    """Every message and caption under ``element``, joined."""
    return " ".join(
        str(getattr(e, "value", ""))
        for kind in ("warning", "error", "success", "caption", "info")
        for e in getattr(element, kind)
    )


def _param(at: AppTest, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def raised_limit():
    """A server whose operator lets the calculator score 20,000 characters (longer than a link can hold) and feed
    the model the tokens such a text needs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NTE_MAX_PERPLEXITY_CHARS", "20000")
        patch.setenv("NTE_MAX_PERPLEXITY_TOKENS", "16384")
        yield


@pytest.fixture(scope="module")
def long_text_session(raised_limit) -> AppTest:
    """The Perplexity page with a 10,000-character text (scored once for the module)."""
    at = open_page("app_pages/perplexity.py")
    at.text_area(key=state.PPL_TEXT).input(LONG_TEXT).run()
    assert_clean(at)
    assert at.metric, "the text was not scored"
    return at


def test_a_text_too_long_for_a_link_is_named_in_the_share_box(long_text_session):
    at = long_text_session
    box = _share_box(at)
    assert "This text (10,000 characters) is too long for a link" in _texts(box)
    assert "Download the view file" in _texts(box)
    assert _param(at, "text") is None  # no older, different text left in the link
    assert _param(at, "window") == "1024" and _param(at, "bos") == "1"  # the other settings stay in the link
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the view file (JSON)" in labels
    assert at.file_uploader(key=PPL_UPLOAD).label == "Load a view file"


def test_the_view_file_restores_the_view_exactly_in_a_fresh_session(long_text_session):
    data = view_file_bytes(PPL_FIELDS, "perplexity", long_text_session.session_state)
    document = json.loads(data)
    assert document["page"] == "perplexity" and document["app_version"]
    assert document["values"]["text"] == LONG_TEXT and document["values"]["window"] == 1024

    fresh = open_page("app_pages/perplexity.py")
    assert fresh.text_area(key=state.PPL_TEXT).value != LONG_TEXT
    fresh.file_uploader(key=PPL_UPLOAD).set_value(("perplexity-view.json", data, "application/json")).run()
    assert_clean(fresh)
    assert fresh.text_area(key=state.PPL_TEXT).value == LONG_TEXT
    assert fresh.number_input(key=state.PPL_WINDOW).value == 1024
    assert fresh.toggle(key=state.PPL_ADD_BOS).value is True
    assert "View restored from perplexity-view.json" in _texts(_share_box(fresh))
    # the same numbers as the session the file came from
    assert [m.value for m in fresh.metric] == [m.value for m in long_text_session.metric]


def test_the_train_link_carries_the_corpus_and_its_view_file_the_long_one():
    at = open_page("app_pages/train.py")
    at.radio(key=state.TRAIN_KIND).set_value("word").run()
    at.text_area(key=state.TRAIN_CORPUS).input("the cat sat on the mat.\n" * 4).run()
    assert_clean(at)
    assert _param(at, "corpus") == "the cat sat on the mat.\n" * 4 and _param(at, "tokenizer") == "word"

    corpus = "".join(f"line {i}: the cat sat on the mat.\n" for i in range(400))  # about 13,000 characters
    at.text_area(key=state.TRAIN_CORPUS).input(corpus).run()
    assert _param(at, "corpus") is None
    assert f"This corpus ({len(corpus):,} characters) is too long for a link" in _texts(_share_box(at))
    fields = [
        Shared(state.TRAIN_KIND, "tokenizer", "choice", choices=("char", "word")),
        Shared(state.TRAIN_CORPUS, "corpus", max_chars=5_000, limit=100_000),
    ]
    data = view_file_bytes(fields, "train", at.session_state)
    fresh = open_page("app_pages/train.py")
    fresh.file_uploader(key=TRAIN_UPLOAD).set_value(("train-view.json", data, "application/json")).run()
    assert_clean(fresh)
    assert fresh.text_area(key=state.TRAIN_CORPUS).value == corpus
    assert fresh.radio(key=state.TRAIN_KIND).value == "word"


HOSTILE = {
    "not JSON": (b"\x00\xffnot json at all", "not readable JSON"),
    "nested": (b"[" * 100_000, "not readable JSON"),
    "too big": (b" " * 1_000_001, "a view file has at most 1,000,000"),
    "a list": (b"[1, 2, 3]", "not a view file of this app"),
    "other page": (
        json.dumps({"kind": "next-token-explorer view", "page": "<b>evil</b>", "values": {}}).encode(),
        "for another page",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_corrupt_or_hostile_view_file_gets_a_clear_message(name):
    data, expected = HOSTILE[name]
    at = open_page("app_pages/train.py")
    before = at.text_area(key=state.TRAIN_CORPUS).value
    at.file_uploader(key=TRAIN_UPLOAD).set_value(("bad.json", data, "application/json")).run()
    assert_clean(at)
    errors = " ".join(e.value for e in _share_box(at).error)
    assert expected in errors and "bad.json" in errors
    assert "Traceback" not in errors and "Exception" not in errors and "<b>" not in errors
    assert at.text_area(key=state.TRAIN_CORPUS).value == before


def test_unknown_keys_and_bad_values_in_a_view_file_are_ignored_with_a_note():
    document = {
        "kind": "next-token-explorer view",
        "page": "train",
        "app_version": "0.1.0",
        "values": {
            "corpus": "a b c",
            "layers": 10**400,
            "seed": "1e999",
            "heads": [1],
            "[x](https://evil.example)": 1,
            "tokenizer": "bpe",
        },
    }
    at = open_page("app_pages/train.py")
    seed = at.number_input(key=state.TRAIN_SEED).value
    at.file_uploader(key=TRAIN_UPLOAD).set_value(("odd.json", json.dumps(document).encode(), "application/json")).run()
    assert_clean(at)
    notes = _texts(_share_box(at))
    assert "View restored from odd.json" in notes
    assert "Ignored 1 unknown key" in notes and "https://evil" not in notes
    for param in ("layers", "seed", "heads", "tokenizer"):
        assert f"Ignored the file's '{param}' value" in notes
    assert at.text_area(key=state.TRAIN_CORPUS).value == "a b c"
    assert at.number_input(key=state.TRAIN_SEED).value == seed


def test_a_text_over_the_real_limit_in_a_view_file_is_refused():
    document = {"kind": "next-token-explorer view", "page": "train", "values": {"corpus": "x" * 100_001}}
    at = open_page("app_pages/train.py")
    at.file_uploader(key=TRAIN_UPLOAD).set_value(("big.json", json.dumps(document).encode(), "application/json")).run()
    assert_clean(at)
    assert "Ignored the file's 'corpus' value (too long)" in _texts(_share_box(at))
    assert len(at.text_area(key=state.TRAIN_CORPUS).value) < 100_001


def test_an_over_long_paste_is_cut_with_a_message_not_dropped():
    at = open_page("app_pages/tokenizer.py")
    at.text_area(key=state.TOK_PROMPT).input("abc " * 6_300).run()  # 25,200 characters
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert (
        "Your text had 25,200 characters; this box takes at most 20,000, so only the first 20,000 are used" in warnings
    )
    assert at.text_area(key=state.TOK_PROMPT).value == ("abc " * 6_300)[:20_000]
    at.text_area(key=state.TOK_PROMPT).input("short again").run()
    assert "Your text had" not in " ".join(w.value for w in at.warning)


def test_a_session_started_from_another_server_process_says_the_server_restarted():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"prompt": "Restored words", "boot": "an-older-process"})
    at.run()
    at.switch_page("app_pages/tokenizer.py").run()
    assert_clean(at)
    assert any("The server restarted" in i.value for i in at.info)
    assert at.text_area(key=state.TOK_PROMPT).value == "Restored words"
    assert _param(at, "boot") == BOOT_ID
    at.button(key="share.restart_ok").click().run()
    assert not any("The server restarted" in i.value for i in at.info)

    same = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    same.query_params.update({"prompt": "Restored words", "boot": BOOT_ID})
    same.run()
    same.switch_page("app_pages/tokenizer.py").run()
    assert not any("The server restarted" in i.value for i in same.info)

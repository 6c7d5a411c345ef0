"""AppTest: a mistake a person makes is shown as that mistake (a notice, nothing logged); a bug, a plain ValueError
from core, is not mistaken for one: it reaches the last-line handler, which shows a plain message and logs it."""

from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

import core.toy
from tests.app.helpers import ROOT, all_text, assert_clean, open_page
from ui import state
from ui.errors import UNEXPECTED_ERROR

TOY = "Toy vocabulary"


def _toy_page():
    at = open_page("app_pages/next_token.py")
    at.radio(key="next_token.mode").set_value(TOY).run()
    assert_clean(at)
    return at


def test_a_bug_in_core_reaches_the_last_line_handler_and_is_logged(monkeypatch, caplog):
    at = _toy_page()

    def broken(tokens_text, logits_text):
        raise ValueError("a programming mistake in parse_toy")

    monkeypatch.setattr(core.toy, "parse_toy", broken)
    with caplog.at_level(logging.ERROR, logger="next_token_explorer"):
        at.text_input(key="next_token.toy_logits").set_value("1, 2, 3").run()
    assert not at.exception
    assert [e.value for e in at.error] == [UNEXPECTED_ERROR]
    assert "a programming mistake" not in all_text(at)  # the bug's text is for the log, not the page
    logged = [r for r in caplog.records if r.name == "next_token_explorer" and r.exc_info]
    assert len(logged) == 1 and "Next-token" in logged[0].getMessage()
    error = logged[0].exc_info[1]
    assert type(error) is ValueError and str(error) == "a programming mistake in parse_toy"
    traceback = logging.Formatter().formatException(logged[0].exc_info)
    assert "in broken" in traceback and "app_pages/next_token.py" in traceback  # the traceback goes with it


def test_a_typed_mistake_is_shown_as_a_notice_and_not_logged(caplog):
    at = _toy_page()
    with caplog.at_level(logging.ERROR, logger="next_token_explorer"):
        at.text_input(key="next_token.toy_logits").set_value("1, x").run()
    assert_clean(at)
    assert "'x' is not a number; logits are numbers like 3.0 or -1.5." in all_text(at)
    assert not [r for r in caplog.records if r.name == "next_token_explorer"]


@pytest.mark.parametrize(
    "link, replayed",
    [
        ({"steps": "2", "picks": "0:x"}, 0),  # a pick that is no token id: the link's steps are ignored, with a note
        ({"steps": "two"}, 0),
        ({"steps": "2", "picks": f"0:{10**9}"}, 0),  # a token outside the vocabulary: the replay stops there
        ({"steps": "2", "picks": "1:5"}, 2),
    ],
)
def test_a_links_bad_steps_or_picks_are_a_note_not_an_error(link, replayed):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update(link)
    at.run()
    at.switch_page("app_pages/generation.py").run()
    assert_clean(at)
    stepper = at.session_state[state.GEN_STEPPER]
    assert len(stepper.steps) == replayed
    noted = "Ignored the link's 'steps' or 'picks' value" in all_text(at)
    assert noted == (not link["steps"].isdigit() or link.get("picks", "").endswith(":x"))
    if replayed:
        assert stepper.steps[1].token_id == 5 and stepper.steps[1].chosen_by == "you"

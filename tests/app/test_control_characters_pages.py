"""AppTest: a right-to-left override (U+202E) or a NUL typed into the pages' text boxes is refused with a message
naming it, never shown reordered and never an error: the class poll's prompt, the tokenizer's text, BPE corpus and
chat message, the n-gram corpus, start words and held-out sentence, the generation page's stop strings."""

from __future__ import annotations

import pytest

from components.inert import inert_markdown
from core.serving.rooms import TeacherKey
from tests.app.helpers import all_text, assert_clean, open_page
from ui import state

pytestmark = pytest.mark.slow  # make test only: every text box with every control character

CASES = {"U+202E": "Paris\u202e is", "U+0000": "Paris\x00 is"}


def says(at, name: str) -> bool:
    return inert_markdown(name) in all_text(at)


@pytest.mark.parametrize("name", list(CASES))
def test_the_class_poll_refuses_a_prompt_with_a_control_character(name):
    at = open_page("app_pages/class_poll.py")
    at.text_area(key=state.POLL_PROMPT).set_value(f"The capital of France is {CASES[name]}").run()
    at.button(key=state.POLL_START).click().run()
    assert_clean(at)
    room = at.session_state[state.POLL_ROOM] if state.POLL_ROOM in at.session_state else None
    assert not isinstance(room, TeacherKey)  # no room was opened on that prompt
    assert says(at, name), all_text(at)


@pytest.mark.parametrize("name", list(CASES))
def test_text_boxes_name_the_control_character(name):
    text = CASES[name]
    boxes = {
        "app_pages/tokenizer.py": [
            ("text_area", state.TOK_PROMPT),
            ("text_area", state.TOK_BPE_CORPUS),
            ("text_area", state.TOK_CHAT_USER),
        ],
        "app_pages/ngram.py": [
            ("text_area", state.NGRAM_CORPUS),
            ("text_input", state.NGRAM_START),
            ("text_input", state.NGRAM_HELDOUT),
        ],
    }
    for page, widgets in boxes.items():
        at = open_page(page)
        for kind, key in widgets:
            before = getattr(at, kind)(key=key).value
            getattr(at, kind)(key=key).set_value(f"the hub {text} left").run()
            assert_clean(at)
            assert says(at, name), (page, key, all_text(at))
            getattr(at, kind)(key=key).set_value(before).run()  # the next box starts from a working page
            assert_clean(at)
            assert not says(at, name), (page, key)


def test_a_stop_string_with_a_control_character_is_ignored_with_a_note():
    at = open_page("app_pages/generation.py")
    at.text_input(key=state.GEN_STOP_STRINGS).set_value(".|\u202e.").run()
    assert_clean(at)
    assert "Ignored a stop string" in all_text(at) and says(at, "U+202E")

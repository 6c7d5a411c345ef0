"""The class-poll page through app.py (AppTest): a teacher's session starts a room, students' sessions open
?room=CODE and submit, the teacher's view counts them, the reveal reaches the students; bad codes and guesses get a
message; a <script> guess stays text. Also the predict-first page. Every session of one process shares the
in-process room store, as the sessions of one server do."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.poll import GuessError, check_guess
from core.serving.rooms import TeacherKey
from tests.app.helpers import ROOT, all_text, assert_clean, open_page, plotly_specs
from tests.app.test_bad_input_sweep import HOSTILE_TEXT, REFUSED
from ui import state

PAGE = "app_pages/class_poll.py"
PROMPT_STYLE = "<style>.nte-poll-prompt{font-size:1.6rem;font-weight:600;line-height:1.3}</style>"


def teacher_session() -> tuple[AppTest, TeacherKey]:
    at = open_page(PAGE)
    at.button(key=state.POLL_START).click().run()
    assert_clean(at)
    key = at.session_state[state.POLL_ROOM]
    assert isinstance(key, TeacherKey)
    assert f"Room code: `{key.code}`" in all_text(at)
    assert len(at.get("image")) == 1  # the QR code of the link
    return at, key


def student_session(code: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["room"] = code
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def submit(at: AppTest, guess: str) -> None:
    at.text_input(key=state.POLL_GUESS).input(guess)
    at.button(key=state.POLL_SUBMIT).click().run()
    assert_clean(at)


def class_bars(at: AppTest) -> dict[str, int]:
    """The class's histogram in the page's one chart: each label's first line -> count."""
    (spec,) = plotly_specs(at)
    bars = spec["data"][0]
    return {label.split("<br>")[0]: int(n) for label, n in zip(bars["y"], bars["x"])}


def test_teacher_starts_students_submit_teacher_counts_and_reveals():
    teacher, key = teacher_session()
    assert teacher.metric[0].value == "0"
    one, two = student_session(key.code), student_session(key.code.lower())
    assert "The capital of France is" in all_text(one)
    submit(one, "Paris")
    assert "Your guess is in: Paris" in all_text(one)
    submit(two, "  Paris ")
    submit(two, "Lyon")  # a second guess replaces the first
    teacher.run()
    assert_clean(teacher)
    assert teacher.metric[0].value == "2"
    assert class_bars(teacher) == {"Paris": 1, "Lyon": 1}
    spec = plotly_specs(teacher)[0]
    assert len(spec["data"]) == 1  # before the reveal: no model numbers on the projector
    assert "hidden until you reveal" in str(spec["layout"]["annotations"])

    teacher.button(key=state.POLL_REVEAL).click().run()
    assert_clean(teacher)
    assert "The model's answer: **␣Paris**" in all_text(teacher)
    spec = plotly_specs(teacher)[0]
    assert len(spec["data"]) == 2 and spec["data"][1]["y"][0] == "1. ␣Paris"
    paris = next(label for label in spec["data"][0]["y"] if label.startswith("Paris"))
    assert "→ ␣Paris" in paris and "rank 1" in paris

    one.run()
    assert_clean(one)
    text = all_text(one)
    assert "The model's answer: **␣Paris**" in text
    assert "the model's own answer" in text
    two.run()
    assert "rank " in all_text(two) and "Lyon" in all_text(two)

    teacher.text_area(key=state.POLL_NEXT_PROMPT).input("The package left the").run()
    teacher.button(key=state.POLL_NEXT).click().run()
    assert_clean(teacher)
    assert "Round 2" in all_text(teacher) and teacher.metric[0].value == "0"
    one.run()
    assert "round 2" in all_text(one) and one.text_input(key=state.POLL_GUESS).value == ""

    teacher.button(key=state.POLL_CLOSE).click().run()
    assert_clean(teacher)
    assert teacher.session_state[state.POLL_ROOM] is None
    one.run()
    assert "closed this room" in all_text(one)


@pytest.mark.parametrize(
    ("code", "message"), [("ZZ", "is not a room code"), ("<script>", "is not a room code"), ("K7MX3P", "No open room")]
)
def test_bad_codes_get_a_message(code, message):
    at = student_session(code)
    errors = " ".join(e.value for e in at.error)
    assert message in errors
    assert "<script>" not in errors  # shown inert (escaped)
    assert at.text_input(key=state.POLL_JOIN_CODE)  # and a box to type the code again


def test_bad_guesses_get_a_message_and_a_script_guess_stays_text():
    teacher, key = teacher_session()
    student = student_session(key.code)
    for bad, message in (("   ", "Type a guess first"), ("x" * 41, "at most 40"), ("a\u200bb", "invisible")):
        submit(student, bad)
        assert message in " ".join(e.value for e in student.error)
    submit(student, "<script>alert(1)</script>")
    success = " ".join(s.value for s in student.success)
    assert "\\<script\\>" in success and "<script>" not in success
    teacher.run()
    assert teacher.metric[0].value == "1"
    labels = list(class_bars(teacher))
    assert labels == ["&lt;script&gt;alert(1)&lt;/script&gt;"]


def test_predict_first_scores_a_guess():
    at = open_page("app_pages/predict_first.py")
    assert "The …" in at.get("html")[0].proto.body
    at.text_input(key=state.PF_GUESS).input("cat")
    at.button(key=state.PF_SUBMIT).click().run()
    assert_clean(at)
    saved = at.session_state[state.PF_SCORES]
    assert saved[0] == "The cat sat on the mat." and len(saved[1]) == 1
    assert saved[1][0].guess_right  # "cat" is the text's next word
    assert "The cat …" in at.get("html")[0].proto.body
    assert len(at.dataframe) == 1
    at.text_input(key=state.PF_GUESS).input("   ").run()
    at.button(key=state.PF_SUBMIT).click().run()
    assert "Type a guess first" in " ".join(e.value for e in at.error)
    assert len(at.session_state[state.PF_SCORES][1]) == 1


@pytest.fixture(scope="module")
def poll_room():
    """One teacher and one student session on one room, shared by the sweep below."""
    teacher, key = teacher_session()
    return teacher, key, student_session(key.code)


def accepted(text: str) -> bool:
    try:
        check_guess(text)
    except GuessError:
        return False
    return True


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_guesses(poll_room, text):
    teacher, key, student = poll_room
    submit(student, text)
    if accepted(text):
        assert " ".join(s.value for s in student.success).startswith("Your guess is in:")
    else:
        assert student.error and not student.success
    assert "<script>" not in all_text(student).replace(PROMPT_STYLE, "")  # shown inert (escaped) if at all
    teacher.run()
    assert_clean(teacher)
    assert not any("<script>" in label for label in class_bars(teacher))


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_first_prompts(text):
    at = open_page(PAGE)
    at.text_area(key=state.POLL_PROMPT).set_value(text).run()
    at.button(key=state.POLL_START).click().run()
    assert_clean(at)
    key = at.session_state[state.POLL_ROOM] if state.POLL_ROOM in at.session_state else None
    if text in REFUSED:
        assert key is None and at.error
        return
    assert isinstance(key, TeacherKey)
    assert plotly_specs(at)
    at.button(key=state.POLL_CLOSE).click().run()
    assert_clean(at)


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_predict_first_texts(text):
    at = open_page("app_pages/predict_first.py")
    at.text_area(key=state.PF_TEXT).set_value(text).run()
    assert_clean(at)
    if len(text.split()) < 2:
        assert at.info or at.error or at.warning

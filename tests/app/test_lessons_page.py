"""AppTest: the Guided lessons page. Every step of all five lessons answered correctly is checked right (answers
from the lesson's numbers or computed here from the model), a wrong answer and a wrong page state are checked
wrong, the Open button puts the page in the lesson's state, and the results file holds every answer."""

from __future__ import annotations

import json

import pytest

from components.guided import results_json
from core.guided import expected_answer, load_guided_lessons
from tests.app.helpers import assert_clean, open_page
from ui import state

PAGE = "app_pages/lessons.py"
LESSONS = load_guided_lessons()

# The page state a student leaves to reach each state step's target, by (lesson, step index).
GOOD_STATES = {
    "temperature": {state.TEMP_SOURCE: state.REAL_LOGITS, state.TEMP_VALUE: 0.3},
    "next_token": {state.NT_MODE: state.REAL_LOGITS, state.NT_TEMPERATURE: 1.0, state.NT_TOP_K: 3, state.NT_TOP_P: 1.0},
}


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def go_to(at, key: str, index: int):
    at.session_state[state.GUIDED_LESSON] = key
    at.session_state[state.GUIDED_STEP] = {key: index}
    return at.run()


def verdicts(at) -> list[str]:
    return [e.value for e in at.success] + [e.value for e in at.warning]


def test_five_lessons_ship_and_each_names_its_source_lesson():
    assert len(LESSONS) == 5
    assert [lesson.lesson for lesson in LESSONS] == [
        "the first lesson",
        "the Large Language Models lesson",
        "the next-token lesson",
        "the Mini-GPT lesson",
        "the tokens-to-tokens lesson",
    ]


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.key for lesson in LESSONS])
def test_every_step_answered_right_is_checked_right(at, lesson, bundled_lm):
    for index, step in enumerate(lesson.steps):
        go_to(at, lesson.key, index)
        if step.kind == "state":
            for key, value in GOOD_STATES[step.page].items():
                at.session_state[key] = value
            at.session_state[state.PAGE_PROMPT[step.page]] = step.prompt
        else:
            answer = expected_answer(step, bundled_lm)
            box = at.radio if step.kind == "choice" else at.text_input
            if step.kind == "number":
                answer = f"{float(answer) * step.scale:.6g}"
            box(key=f"{state.GUIDED_ANSWER}.{lesson.key}.{index}").set_value(answer)
        at.button(key=f"{state.GUIDED_CHECK}.{lesson.key}.{index}").click().run()
        assert_clean(at)
        record = at.session_state[state.GUIDED_RESULTS][lesson.key][index]
        assert record["correct"], (lesson.key, index, record)
        assert any(v.startswith("Right") for v in verdicts(at))
    assert (
        f"{len(lesson.steps)} of {len(lesson.steps)} answered, {len(lesson.steps)} right"
        in at.get("progress")[0].proto.text
    )


def test_a_wrong_answer_is_checked_wrong_and_says_the_right_one(at):
    go_to(at, "2_temperature", 0)
    at.text_input(key=f"{state.GUIDED_ANSWER}.2_temperature.0").set_value("0.8")
    at.button(key=f"{state.GUIDED_CHECK}.2_temperature.0").click().run()
    assert_clean(at)
    assert not at.session_state[state.GUIDED_RESULTS]["2_temperature"][0]["correct"]
    assert "Not quite: the answer is 0.952" in " ".join(verdicts(at))


def test_a_page_state_short_of_the_target_is_not_yet_right(at):
    go_to(at, "2_temperature", 3)
    at.session_state[state.TEMP_SOURCE] = state.REAL_LOGITS
    at.session_state[state.TEMP_VALUE] = 1.5
    at.session_state[state.TEMP_PROMPT] = "The capital of France is"
    at.button(key=f"{state.GUIDED_CHECK}.2_temperature.3").click().run()
    assert_clean(at)
    assert "Not yet" in " ".join(verdicts(at))


def test_an_answer_that_is_not_a_number_gets_a_plain_message(at):
    go_to(at, "4_mini_gpt", 2)
    at.text_input(key=f"{state.GUIDED_ANSWER}.4_mini_gpt.2").set_value("<b>two</b>")
    at.button(key=f"{state.GUIDED_CHECK}.4_mini_gpt.2").click().run()
    assert_clean(at)
    assert any("is not a number" in w.value for w in at.info)


def test_open_puts_the_page_in_the_lessons_state():
    at = open_page(PAGE)
    go_to(at, "2_temperature", 0)
    at.button(key=f"{state.GUIDED_OPEN}.2_temperature.0").click().run()
    assert_clean(at)
    assert any(t.value == "Temperature" for t in at.title)
    assert at.session_state[state.TEMP_VALUE] == 0.5  # the five-word preset at temperature 0.5 was applied
    assert state.LESSON_PENDING not in at.session_state


def test_the_results_file_holds_every_answer(at):
    done = at.session_state[state.GUIDED_RESULTS]
    payload = json.loads(results_json(LESSONS, done, "a model"))
    assert payload["model"] == "a model"
    rows = {entry["lesson"]: entry for entry in payload["lessons"]}
    assert rows["The greedy loop"]["right"] == 4 and rows["The greedy loop"]["steps"] == 4
    assert rows["The greedy loop"]["answers"]["1"]["correct"] is True


def test_a_teacher_runs_the_lessons_prompts_as_class_poll_rounds():
    at = open_page(PAGE)
    at.session_state[state.GUIDED_LESSON] = "3_warehouse"
    at.run()
    at.button(key=state.GUIDED_POLL).click().run()
    assert_clean(at)
    assert any(t.value.startswith("Class poll") for t in at.title)
    lesson = next(lesson for lesson in LESSONS if lesson.key == "3_warehouse")
    assert at.session_state[state.POLL_PROMPT] == lesson.poll_prompts[0] == "The package left the"
    assert at.session_state[state.POLL_ROUND_PROMPTS] == list(lesson.poll_prompts)

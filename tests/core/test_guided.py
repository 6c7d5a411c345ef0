"""core.guided: lesson files are validated with a message naming the step; answers are checked against the lesson's
numbers (within the tolerance) or the model's; a page state is checked against its target."""

from __future__ import annotations

import pytest

from core.guided import (
    AnswerError,
    LessonFileError,
    Step,
    check_answer,
    check_state,
    expected_answer,
    load_guided_lessons,
    parse_lesson,
)
from core.next_token import next_token_distribution

GOOD = """
title = "T"
lesson = "the first lesson"
[[steps]]
say = "s"
question = "q"
kind = "number"
answer = { value = 0.5 }
tolerance = 0.01
"""


def test_the_shipped_lessons_load():
    lessons = load_guided_lessons()
    assert [lesson.key for lesson in lessons] == [
        "1_greedy_loop",
        "2_temperature",
        "3_warehouse",
        "4_mini_gpt",
        "5_tokens_to_tokens",
    ]
    assert all(lesson.intro and lesson.steps for lesson in lessons)


@pytest.mark.parametrize(
    "change, message",
    [
        (('kind = "number"', 'kind = "essay"'), "kind must be one of"),
        (('lesson = "the first lesson"', 'lesson = "a lesson nobody wrote"'), "must name a source lesson"),
        (("answer = { value = 0.5 }", 'answer = { model = "weather" }'), "model measure must be one of"),
        (('say = "s"', 'say = "s"\npreset = "No such preset"\npage = "temperature"'), "has no lesson preset"),
        (("tolerance = 0.01", "colour = 3"), "unknown field"),
        (("[[steps]]", "[[steps"), "not valid TOML"),
    ],
)
def test_a_broken_lesson_file_names_what_is_wrong(change, message):
    with pytest.raises(LessonFileError, match=message):
        parse_lesson(GOOD.replace(*change), "broken")


def test_numbers_are_right_within_the_tolerance_only():
    step = parse_lesson(GOOD, "t").steps[0]
    assert check_answer(step, "0.505", 0.5).correct
    assert check_answer(step, " 0.5 ", 0.5).correct
    assert not check_answer(step, "0.52", 0.5).correct
    assert "0.5" in check_answer(step, "0.52", 0.5).message
    with pytest.raises(AnswerError):
        check_answer(step, "half", 0.5)
    with pytest.raises(AnswerError):
        check_answer(step, "nan", 0.5)


def test_a_percent_question_scales_the_expected_probability():
    step = Step("s", "q", "number", answer={"value": 0.773}, scale=100, tolerance=0.5)
    assert check_answer(step, "77.3 %", 0.773).correct
    assert not check_answer(step, "0.773", 0.773).correct


def test_tokens_compare_without_case_or_the_visible_space():
    step = Step("s", "q", "token", answer={"token": "x"})
    assert check_answer(step, "paris", "␣Paris").correct
    assert not check_answer(step, "London", "␣Paris").correct


def test_model_answers_come_from_the_model(bundled_lm):
    top = Step("s", "q", "token", answer={"model": "top_token", "prompt": "The capital of France is"})
    assert expected_answer(top, bundled_lm) == "␣Paris"
    p = Step("s", "q", "number", answer={"model": "top_probability", "prompt": "The capital of France is"})
    dist = next_token_distribution(bundled_lm, "The capital of France is")
    assert expected_answer(p, bundled_lm) == pytest.approx(float(dist.probs.max()))
    kv = Step("s", "q", "number", answer={"model": "kv_bytes_per_token"})
    assert expected_answer(kv, bundled_lm) == 2 * 30 * 3 * 64 * 4  # SmolLM2 in float32
    count = Step("s", "q", "number", answer={"model": "token_count", "text": "Hello, world!"})
    assert expected_answer(count, bundled_lm) == len(bundled_lm.tokenizer("Hello, world!")["input_ids"])


def test_a_target_state_is_checked_on_the_model(bundled_lm):
    step = Step("s", "q", "state", target={"measure": "top_probability_at_temperature", "at_least": 0.9})
    prompt = "The capital of France is"
    assert check_state(step, {"prompt": prompt, "temperature": 0.3}, bundled_lm).correct
    assert not check_state(step, {"prompt": prompt, "temperature": 1.5}, bundled_lm).correct
    few = Step("s", "q", "state", target={"measure": "tokens_the_sampler_can_pick", "at_most": 3, "min_temperature": 0})
    assert check_state(few, {"prompt": prompt, "temperature": 1.0, "top_k": 3, "top_p": 1.0}, bundled_lm).correct
    assert not check_state(few, {"prompt": prompt, "temperature": 1.0, "top_k": 4, "top_p": 1.0}, bundled_lm).correct
    assert "above 0" in check_state(few, {"prompt": prompt, "temperature": 0.0, "top_k": 3}, bundled_lm).message


def test_every_lesson_brings_prompts_for_class_poll_rounds():
    for lesson in load_guided_lessons():
        assert len(lesson.poll_prompts) >= 2, lesson.key
    with pytest.raises(LessonFileError, match="poll_prompts"):
        parse_lesson(
            GOOD.replace('lesson = "the first lesson"', 'lesson = "the first lesson"\npoll_prompts = [""]'), "x"
        )

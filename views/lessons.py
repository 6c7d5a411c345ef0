"""The Guided lessons page's parts: the lesson picker and progress, one step (what the lesson says, the page to
open in the lesson's state, the question and its check), and the results a student downloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components.inert import inert_markdown
from core.errors import InputError
from core.guided import AnswerError, GuidedLesson, Step, check_answer, check_state, expected_answer, load_guided_lessons
from core.models import LoadedModel
from ui import state
from ui.inference import shared_run
from ui.memo import session_memo
from ui.navigation import available_pages
from ui.page_links import open_page


@st.cache_data(show_spinner=False)
def lessons() -> tuple[GuidedLesson, ...]:
    """The lesson files of core/data/lessons, read once per process (they do not change while it runs)."""
    return load_guided_lessons()


def results() -> dict[str, dict[int, dict[str, Any]]]:
    """This session's answers: lesson key -> step index -> record (question, answer, expected, correct)."""
    return st.session_state.setdefault(state.GUIDED_RESULTS, {})


def page_title(page: str) -> str:
    return next((p.title for p in available_pages() if p.path == f"app_pages/{page}.py"), page)


def progress(lesson: GuidedLesson) -> None:
    """How far the student is: a bar and 'n of m right'."""
    done = results().get(lesson.key, {})
    right = sum(1 for record in done.values() if record["correct"])
    st.progress(len(done) / len(lesson.steps), text=f"{len(done)} of {len(lesson.steps)} answered, {right} right")


def expected(lm: LoadedModel, lesson: GuidedLesson, index: int) -> Any:
    """The step's expected answer, memoised; a model answer is one queued job on the shared model."""
    step = lesson.steps[index]
    return session_memo(
        "guided.expected",
        (lm.name, lesson.key, index),
        lambda: shared_run(lm, lambda: expected_answer(step, lm), what="lesson answer"),
        max_entries=32,
    )


def page_values(step: Step) -> dict[str, Any]:
    """The inputs a state step reads from its page; AnswerError (a plain note) when the page is not checkable yet."""
    keys = state.CHECKED_INPUTS[step.page]
    values = {name: st.session_state.get(key) for name, key in keys.items()}
    if values["prompt"] is None:
        values["prompt"] = st.session_state.get(state.PROMPT, state.DEFAULT_PROMPT)
    where = page_title(step.page)
    if values["mode"] not in (None, state.REAL_LOGITS):
        raise AnswerError(f"On the {where} page, choose {state.REAL_LOGITS} first: this step reads the model.")
    if values["temperature"] is None:
        raise AnswerError(f"Open the {where} page and set it first (the button above).")
    return values


def record(lesson: GuidedLesson, index: int, answer: Any, expected_value: Any, correct: bool, message: str) -> None:
    results().setdefault(lesson.key, {})[index] = {
        "question": lesson.steps[index].question,
        "answer": answer,
        "expected": expected_value,
        "correct": correct,
        "verdict": message,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def answer_box(lesson: GuidedLesson, index: int) -> Any:
    """The answer widget of a step: a text box for numbers and tokens, radio buttons for a choice."""
    step, key = lesson.steps[index], f"{state.GUIDED_ANSWER}.{lesson.key}.{index}"
    if step.kind == "choice":
        return st.radio("Your answer", list(step.choices), index=None, key=key)
    label = "Your answer (a number)" if step.kind == "number" else "Your answer (a token)"
    return st.text_input(label, key=key, max_chars=100)


def step_panel(lm: LoadedModel, lesson: GuidedLesson, index: int) -> None:
    """One step: the lesson's words, the page to open in the lesson's state, the question, the check."""
    step = lesson.steps[index]
    st.markdown(f"**Step {index + 1} of {len(lesson.steps)}.** {step.say}")
    if step.page:
        label = f"Open {page_title(step.page)}" + (" with the lesson's example" if step.preset else "")
        if st.button(label, key=f"{state.GUIDED_OPEN}.{lesson.key}.{index}", icon=":material/arrow_forward:"):
            open_page(step.page, prompt=step.prompt or None, preset=step.preset or None)
        st.caption("Come back here (Guided lessons in the menu) to answer; your progress is kept.")
    st.markdown(f"**Question:** {step.question}")
    if step.kind != "state":
        answer_box(lesson, index)
    st.button(
        "Check",
        key=f"{state.GUIDED_CHECK}.{lesson.key}.{index}",
        type="primary",
        on_click=check,
        args=(lm, lesson, index),
    )
    note = st.session_state.get(state.GUIDED_NOTE)
    if note is not None and note[:2] == (lesson.key, index):
        st.info(inert_markdown(note[2]))
    done = results().get(lesson.key, {}).get(index)
    if done is not None:
        (st.success if done["correct"] else st.warning)(inert_markdown(done["verdict"]))
        if step.explain:
            st.caption(step.explain)


def check(lm: LoadedModel, lesson: GuidedLesson, index: int) -> None:
    """The Check button's callback (it runs before the page is drawn, so the progress shows this answer): check the
    step's answer, or its page's state, and record the verdict; a plain note when it cannot be checked."""
    step = lesson.steps[index]
    st.session_state.pop(state.GUIDED_NOTE, None)
    try:
        if step.kind == "state":
            values = page_values(step)
            verdict = shared_run(lm, lambda: check_state(step, values, lm), what="lesson check")
            shown = {k: v for k, v in values.items() if k != "mode"}
            record(lesson, index, shown, dict(step.target), verdict.correct, verdict.message)
            return
        given = st.session_state.get(f"{state.GUIDED_ANSWER}.{lesson.key}.{index}")
        if given in (None, ""):
            raise AnswerError("Give an answer first.")
        want = expected(lm, lesson, index)
        verdict = check_answer(step, given, want)
    except InputError as error:
        st.session_state[state.GUIDED_NOTE] = (lesson.key, index, str(error))
        return
    record(lesson, index, given, want, verdict.correct, verdict.message)


def poll_rounds(lesson: GuidedLesson) -> None:
    """For a teacher: run the lesson's prompts as class-poll rounds (the class guesses each next token on their
    phones; the poll's "Next round with the lesson prompt" steps through them)."""
    if not lesson.poll_prompts:
        return
    with st.expander("Teachers: run this lesson with the whole class"):
        st.markdown(
            "Class-poll rounds, one per prompt: "
            + "; ".join(f"*{inert_markdown(p)}*" for p in lesson.poll_prompts)
            + ". The class guesses each next token on their phones before the model's answer is revealed."
        )
        if st.button("Run these prompts as class-poll rounds", key=state.GUIDED_POLL, icon=":material/how_to_vote:"):
            st.session_state[state.POLL_ROUND_PROMPTS] = list(lesson.poll_prompts)
            st.session_state[state.POLL_PROMPT] = lesson.poll_prompts[0]
            open_page("class_poll")

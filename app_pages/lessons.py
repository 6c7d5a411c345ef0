"""Guided lessons: the seed lessons step by step; each step opens a page in the lesson's state and asks a question
that the app checks against the lesson's numbers or the model."""

import streamlit as st

from components.guided import results_json
from components.inert import inert_markdown
from core.lessons import LESSONS
from ui import state
from ui.model_picker import current_model
from views.lessons import lessons, poll_rounds, progress, results, step_panel

st.title("Guided lessons")
st.caption(
    "Five lessons, step by step. Each step says what the lesson says, opens the page that shows it (in the lesson's "
    "state), and asks a question. The app checks your answer against the lesson's own numbers or the model in use."
)
all_lessons = lessons()
by_key = {lesson.key: lesson for lesson in all_lessons}
source = {lesson.name: lesson.title for lesson in LESSONS}
st.session_state.setdefault(state.GUIDED_LESSON, all_lessons[0].key)
key = st.selectbox(
    "Lesson", list(by_key), key=state.GUIDED_LESSON, format_func=lambda k: f"{k.split('_')[0]}. {by_key[k].title}"
)
lesson = by_key[key]
st.caption(f"From *{inert_markdown(source[lesson.lesson])}*.")
st.markdown(lesson.intro)
progress(lesson)

steps = st.session_state.setdefault(state.GUIDED_STEP, {})
index = min(max(int(steps.get(key, 0)), 0), len(lesson.steps) - 1)
with st.container(border=True):
    step_panel(current_model(), lesson, index)
back, forward = st.columns(2)
if back.button("Previous step", key=state.GUIDED_PREV, disabled=index == 0, icon=":material/arrow_back:"):
    steps[key] = index - 1
    st.rerun()
if forward.button(
    "Next step", key=state.GUIDED_NEXT, disabled=index == len(lesson.steps) - 1, icon=":material/arrow_forward:"
):
    steps[key] = index + 1
    st.rerun()

done = results().get(key, {})
st.markdown(
    "**Steps:** "
    + " · ".join(
        (f"{i + 1} {'✅' if done[i]['correct'] else '❌'}" if i in done else f"{i + 1} ○")
        for i in range(len(lesson.steps))
    )
)
st.download_button(
    "Download my results (JSON)",
    results_json(all_lessons, results(), st.session_state.get(state.MODEL_NAME)),
    file_name="guided-lessons-results.json",
    mime="application/json",
    key=state.GUIDED_DOWNLOAD,
    disabled=not results(),
)
poll_rounds(lesson)

"""Class poll: the class guesses the next token on their phones; the teacher's screen shows the guesses beside the
model's distribution, then reveals the model's answer. Students join with ``?room=CODE`` on this page."""

import streamlit as st

from ui import state
from ui.notice import notice
from ui.poll import teacher_key
from views.class_poll.student import join_form, student_view
from views.class_poll.teacher import resume_teacher, teacher_view

TEACHER, STUDENT = "I'm the teacher: run a poll", "I'm a student: join a poll"

st.title("Class poll: guess the next token")
st.caption(
    "Next-token prediction with the whole class: everyone guesses the token that comes after the prompt, then "
    "the model shows its probability for every guess. The poll always uses SmolLM2-135M-Instruct."
)
resume_teacher()
if message := st.session_state.pop(state.POLL_MESSAGE, None):
    notice(message)
room_param = st.query_params.get("room")
own = teacher_key()
if room_param and not (own and room_param.strip().upper() == own.code):
    student_view(room_param)
elif st.radio("Your role", [TEACHER, STUDENT], horizontal=True, key=state.POLL_ROLE) == TEACHER or own:
    teacher_view()
else:
    join_form()

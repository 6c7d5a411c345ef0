"""The class poll's student view: join by code (counted per network address), guess, follow the room live, and see
the reveal: the model's answer and where this student's guess ranks."""

from __future__ import annotations

import streamlit as st

from components.inert import inert_markdown
from components.poll import poll_chart
from core.poll import class_guesses, match_guess
from core.serving.rooms import DEFAULT_TTL, RoomError, RoomNotFound, RoomStore, RoomView, normalise_code
from core.text import TextError
from ui import state
from ui.charts import show_chart
from ui.memo import session_distribution
from ui.notice import notice
from ui.poll import client_address, poll_model, shared_store, student_id
from ui.settings import limits, raise_hint
from views.class_poll.shared import show_answer, show_prompt, store_problem


@st.fragment(run_every=2)
def watch_room(code: str, seen: tuple) -> None:
    """The student's live check: when the teacher reveals, moves on or closes, the whole page redraws."""
    try:
        view = shared_store().get(code)
    except RoomError:
        st.rerun(scope="app")
    if (view.round, view.revealed, view.closed, view.locked) != seen:
        st.rerun(scope="app")
    timer = f" Guesses lock in {view.locks_in:.0f} s." if view.locks_in is not None and not view.revealed else ""
    st.caption(f"Live: {view.total:,} {'guess' if view.total == 1 else 'guesses'} in so far.{timer}")


def join_form() -> None:
    """A room code box and "Join": a valid code goes into the URL as ``?room=CODE`` and the page reruns."""
    code = st.text_input("Room code", key=state.POLL_JOIN_CODE, placeholder="K7MX3P")
    if st.button("Join", key=state.POLL_JOIN, type="primary"):
        try:
            st.query_params["room"] = normalise_code(code)
            st.rerun()
        except RoomError as error:
            notice(error, "error")


def guess_form(store: RoomStore, code: str, me: str, view: RoomView, mine: str | None) -> None:
    """Before the reveal: the guess box and "Submit"; then the guess that is in (it can change until the reveal)."""
    with st.form(state.POLL_GUESS_FORM, border=False):
        guess = st.text_input("Your guess for the next token", key=state.POLL_GUESS, placeholder="e.g. Paris")
        sent = st.form_submit_button("Submit", key=state.POLL_SUBMIT, type="primary", width="stretch")
    if sent:
        try:
            admit_student(store, code)
            mine = store.add_guess(code, me, guess, view.round)
            st.success(f"Your guess is in: {inert_markdown(mine)}")
        except (RoomError, TextError) as error:
            notice(error, "error")
    elif mine:
        st.info(f"Your guess: {inert_markdown(mine)}. You can change it until the teacher reveals the answer.")


def admit_student(store: RoomStore, code: str) -> None:
    """Count this session once as a student of room ``code`` from its network address; past the per-address limit
    it is refused (a script opening hundreds of fake students), and the teacher's page shows how many were."""
    joined = st.session_state.get(state.POLL_JOINED) or frozenset()
    if code in joined:
        return
    limit = limits().poll_students_per_client
    if store.hit(f"join:{code}:{client_address()}", DEFAULT_TTL) > limit:
        store.hit(f"refused:{code}", DEFAULT_TTL)
        raise RoomError(
            f"{limit} students from your network address have already joined this room, the most one address may "
            f"add. Ask your teacher. {raise_hint('poll_students_per_client')}"
        )
    st.session_state[state.POLL_JOINED] = joined | {code}


def find_room(store: RoomStore, code: str) -> RoomView:
    """The room a student asked for; unknown codes count against their address, and past the per-minute limit
    no code is looked up at all (trying codes at random)."""
    opened = st.session_state.get(state.POLL_OPENED) or frozenset()
    if code in opened:
        return store.get(code)
    bucket, limit = f"lookup:{client_address()}", limits().poll_wrong_codes_per_minute
    if store.hit(bucket, 60.0, count=0) >= limit:
        raise RoomError(
            f"Too many unknown room codes from your network address in the last minute (at most {limit}): wait a "
            f"minute, then check the code with your teacher. {raise_hint('poll_wrong_codes_per_minute')}"
        )
    try:
        view = store.get(code)
    except RoomNotFound:
        store.hit(bucket, 60.0)
        raise
    st.session_state[state.POLL_OPENED] = opened | {code}
    return view


POLL_ONLY_CSS = (
    "<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
    "[data-testid='stExpandSidebarButton'],[data-testid='stSidebarNav'],[data-testid='stTopNavLinkContainer']"
    "{display:none !important}</style>"
)


def revealed_panel(view: RoomView, mine: str | None) -> None:
    """After the reveal: the model's answer, where this student's guess ranks, and the class's guesses."""
    dist = session_distribution(poll_model(), view.prompt)
    show_answer(dist)
    if mine:
        m = match_guess(dist, view.prompt, mine)
        verdict = "the model's own answer!" if m.top1 else f"rank {m.rank:,} of {dist.vocab_size:,}."
        st.info(
            f"Your guess {inert_markdown(mine)} is the token {inert_markdown(m.token)}: probability "
            f"{m.probability:.2%}, {verdict}"
        )
    else:
        st.info("You did not guess in this round.")
    rows = class_guesses(dist, view.prompt, dict(view.counts))
    show_chart(poll_chart(rows, dist.candidates(5), stacked=True), state.POLL_STUDENT_CHART)


def student_view(raw_code: str) -> None:
    """A student's phone in room ``raw_code``: the prompt, the guess form or the reveal, and the live check."""
    store, me = shared_store(), student_id()
    if st.query_params.get("view") == "poll":  # the teacher chose a poll-only student link: no page menu
        st.html(POLL_ONLY_CSS)
    try:
        code = normalise_code(raw_code)
        view = find_room(store, code)
    except RoomError as error:
        notice(error, "error")
        if isinstance(error, RoomNotFound) and (problem := store_problem()):
            notice(problem, "warning")
        join_form()
        return
    if view.closed:
        st.info("The teacher has closed this room. Thank you for taking part!")
        return
    st.subheader(f"Room {code} · round {view.round}")
    st.caption("What comes next? Type the word you think the model will predict.")
    show_prompt(view.prompt)
    if st.session_state.get(state.POLL_SEEN) != view.round:  # a new round starts with an empty box
        st.session_state[state.POLL_SEEN] = view.round
        st.session_state[state.POLL_GUESS] = ""
    mine = store.my_guess(code, me)
    if view.revealed:
        revealed_panel(view, mine)
    elif view.locked:
        st.info(
            f"The teacher has locked the guesses. Your guess: {inert_markdown(mine)}. Wait for the reveal."
            if mine
            else "The teacher has locked the guesses for this round: wait for the reveal."
        )
    else:
        guess_form(store, code, me, view, mine)
    watch_room(code, (view.round, view.revealed, view.closed, view.locked))

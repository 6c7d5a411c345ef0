"""The class poll's teacher view: start a room, its link and QR code (or the projector's join banner), the live results
fragment, reveal, lock, next round, move, close, the results file, and getting the room back after a reload, with
their callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from components.inert import inert_html
from components.poll import guess_table, poll_chart, qr_png
from core.poll import class_guesses
from core.seed_examples import CAPITAL_PROMPT, PACKAGE_PROMPTS
from core.serving.rooms import (
    DEFAULT_TTL,
    MAX_GUESSES_PER_ROUND,
    MAX_POLL_PROMPT_CHARS,
    NotTeacher,
    RoomError,
    RoomNotFound,
    RoomStore,
    RoomView,
    TeacherKey,
    normalise_code,
)
from core.text import TextError
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import limited_text
from ui.memo import session_distribution
from ui.notice import notice
from ui.poll import (
    HOST_COOKIE,
    TOP_K,
    host_cookie_value,
    host_link,
    local_only,
    next_lesson_prompt,
    parse_host_cookie,
    poll_model,
    results_builder,
    room_link,
    set_teacher_key,
    shared_store,
    teacher_key,
)
from ui.settings import limits
from views.class_poll.shared import show_answer, show_prompt, store_problem

ROUND_TIMER_SECONDS = 30
LOST = (
    "Room {code} is no longer in the room store, although it had not expired: the server (or its Redis) restarted "
    "without keeping its rooms. Start a new poll and give the class the new code; an operator keeps rooms across "
    "restarts with a Redis that saves to disk (deploy/README.md, Redis persistence)."
)
EXPIRED = "Your room {code} has expired (rooms close two hours after the teacher's last action)."


def say(kind: state.Kind, text: str) -> None:
    """Leave a message for the next run of the page (callbacks run before it, so they cannot draw it themselves)."""
    st.session_state[state.POLL_MESSAGE] = state.Message(kind, text)


def act(action: Callable[[], object], done: str | None = None) -> None:
    """Button callback: run ``action()`` on the store; a refusal becomes the message of the next run."""
    try:
        action()
        if done:
            say("success", done)
    except (RoomError, TextError) as error:
        say("error", str(error))


def start_poll() -> None:
    """Callback of "Start a poll": a new room with the first round's prompt; this session becomes its teacher."""
    act(lambda: set_teacher_key(shared_store().create_room(st.session_state.get(state.POLL_PROMPT, ""))))


def next_round(key: TeacherKey) -> None:
    """Callback of "Next round": the room moves on to the next round's prompt."""
    act(lambda: shared_store().next_round(key, st.session_state.get(state.POLL_NEXT_PROMPT, "")))


def close_room(key: TeacherKey) -> None:
    """Callback of "Yes, close the room": the results file is built first and kept in this session (still
    downloadable), then the store forgets the guesses and this session stops being the room's teacher."""

    def close() -> None:
        csv = results_builder(poll_model(), shared_store(), key)()
        shared_store().close(key)
        st.session_state[state.POLL_RESULTS] = (key.code, csv)
        st.session_state[state.POLL_CLOSING] = False
        set_teacher_key(None)
        st.session_state[state.POLL_EXPIRES_AT] = None

    act(close, "The room is closed and its guesses are forgotten; its results file is still below.")


def move_room(key: TeacherKey) -> None:
    """Callback of "Move the room to a new code": the old code stops working (a flooded or leaked room)."""

    def move() -> None:
        moved = shared_store().move(key)
        set_teacher_key(moved)
        say(
            "success",
            f"The room moved to the code {moved.code}; the old code {key.code} no longer works. "
            "Students open the new link or scan the new QR code.",
        )

    act(move)


def hide_guess(key: TeacherKey, hidden: bool = True) -> None:
    """Callback of "Remove it for everyone" (or of putting the removed guesses back)."""
    store = shared_store()
    if hidden:
        pick = st.session_state.get(state.POLL_HIDE_PICK)
        if pick:
            act(lambda: store.hide_guess(key, pick))
        st.session_state[state.POLL_HIDE_PICK] = None
        return
    act(lambda: [store.hide_guess(key, guess, hidden=False) for guess in store.get(key.code).hidden])


@st.fragment(run_every=2)
def live_results(key: TeacherKey) -> None:
    """The teacher's live view, re-read from the store every 2 s: the count, the histogram, the model's answer, and
    the control that removes a guess from what everyone sees."""
    store = shared_store()
    try:
        view = store.get(key.code)
    except RoomError as error:
        notice(error, "warning")
        return
    dist = session_distribution(poll_model(), view.prompt)
    rows = class_guesses(dist, view.prompt, dict(view.counts))
    show_model = view.revealed or bool(st.session_state.get(state.POLL_SHOW_MODEL))
    st.metric("Guesses in", f"{view.total:,}")
    if view.locks_in is not None and not view.revealed:
        st.caption(f"Guesses lock in {view.locks_in:.0f} s.")
    if view.revealed:
        show_answer(dist)
    show_chart(poll_chart(rows, dist.candidates(TOP_K) if show_model else None), state.POLL_LIVE)
    with st.expander("The guesses as a table"):
        table = guess_table(rows)
        show_table(table if show_model else table[["guess", "students"]], hide_index=True)
    with st.expander("Remove a guess from the chart"):
        st.selectbox(
            "A guess to remove for everyone (the projector and every phone's reveal)",
            [row.guess for row in rows],
            index=None,
            key=state.POLL_HIDE_PICK,
            placeholder="Pick a guess",
        )
        st.button("Remove it for everyone", key=state.POLL_HIDE, on_click=hide_guess, args=(key,))
        if view.hidden:
            st.caption(f"{len(view.hidden)} removed this round; they are not in the results file either.")
            st.button("Put the removed guesses back", key=state.POLL_UNHIDE, on_click=hide_guess, args=(key, False))
    refused = store.hit(f"refused:{key.code}", DEFAULT_TTL, count=0)
    if refused:
        notice(
            f"{refused:,} would-be students were refused by the per-network limit "
            f"({limits().poll_students_per_client} per network address). If strangers flood the room, move it to "
            "a new code; if a real class shares one address, the operator raises the limit "
            "(NTE_POLL_STUDENTS_PER_CLIENT).",
            "warning",
        )


def start_form() -> None:
    """Before a room exists: the first round's prompt and the "Start a poll" button (and the results file of the
    room this session closed)."""
    if closed := st.session_state.get(state.POLL_RESULTS):
        code, csv = closed
        st.download_button(
            f"Download the results of room {code} (CSV)",
            data=csv,
            file_name=f"class-poll-{code}.csv",
            mime="text/csv",
            key=state.POLL_RESULTS_CSV,
            on_click="ignore",
        )
    st.session_state.setdefault(state.POLL_PROMPT, CAPITAL_PROMPT)
    limited_text("Prompt for the first round", state.POLL_PROMPT, MAX_POLL_PROMPT_CHARS, height=80)
    st.button("Start a poll", key=state.POLL_START, on_click=start_poll, type="primary")


def student_link(code: str) -> str:
    """The link (and QR code) students get: the room link, poll-only when the teacher chose it."""
    return room_link(code) + ("&view=poll" if st.session_state.get(state.POLL_ONLY) else "")


PROJECTOR_CSS = (  # the projector view: no sidebar, no page heading or role choice above the banner
    "<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],[data-testid='stExpandSidebarButton'],"
    "[data-testid='stElementContainer']:has(h1),[data-testid='stElementContainer']:has(h1)+div,"
    ".st-key-poll-role{display:none !important}"
    "[data-testid='stMainBlockContainer']{padding-top:1.5rem !important}"
    ".nte-join-code{font-size:4rem;font-weight:700;letter-spacing:.08em;line-height:1.1;"
    "font-family:'Source Code Pro',monospace}"
    ".nte-join-address{font-size:1.4rem;line-height:1.3;word-break:break-all}</style>"
)


def short_address(link: str) -> str:
    """The link without its scheme, for reading off a projector: ``192.168.1.20:8501/class_poll?room=K7MX3P``."""
    return link.split("://", 1)[-1]


def projector_banner(code: str) -> None:
    """The join banner of the projector view: the code in very large type, the QR code and the short address."""
    link = student_link(code)
    st.html(PROJECTOR_CSS)
    st.html(f"<div class='nte-join-code' role='heading' aria-level='2'>{code}</div>")
    st.image(qr_png(link, box_size=6), width=200, alt=f"QR code of the link to room {code}")
    st.html(inert_html(short_address(link), css_class="nte-join-address"))
    if local_only(link):
        st.warning("Phones cannot open this link (localhost): docs/classroom.md.")


def room_header(code: str) -> None:
    """The room code, the link students open and its QR code."""
    link = student_link(code)
    left, right = st.columns([3, 1])
    left.markdown(f"## Room code: `{code}`")
    left.markdown("Students open this link (or scan the code) and type their guess:")
    left.code(link, language=None)
    if local_only(link):
        left.warning(
            "Phones cannot open this link: it points to this computer only (localhost). Serve the class on the "
            "network with `make run ADDRESS=0.0.0.0` and open this page at the address it prints, or let the "
            "operator set the public address (NTE_PUBLIC_URL or the secret public_url): docs/classroom.md."
        )
    right.image(qr_png(link), width=220, alt=f"QR code of the link to room {code}")


def host_link_popover(key: TeacherKey) -> None:
    """The teacher's private link, behind a click: it runs the room from another browser or device."""
    with st.popover("Your private host link", key=state.POLL_HOST_LINK):
        st.caption(
            "This link runs the room (reveal, next round, close) from any browser: keep it to yourself and never "
            "project it. This browser gets the room back by itself after a reload."
        )
        st.code(host_link(key), language=None)


def round_controls(store: RoomStore, key: TeacherKey, view: RoomView) -> None:
    """Under the live results: reveal, lock, the next round (typed or the next lesson prompt), moving the room to a
    new code, the poll-only student view, closing (with a warning) and the results file."""
    reveal, lock, timer = st.columns(3)
    reveal.button(
        "Reveal the model's answer",
        key=state.POLL_REVEAL,
        on_click=act,
        args=(lambda: store.reveal(key),),
        type="primary",
        disabled=view.revealed,
    )
    lock.button(
        "Lock the guesses" if not view.locked else "Guesses locked",
        key=state.POLL_LOCK,
        on_click=act,
        args=(lambda: store.lock(key),),
        disabled=view.revealed or view.locked,
        help="No more guesses or changes this round; the model's answer stays hidden until you reveal it.",
    )
    timer.button(
        f"Lock in {ROUND_TIMER_SECONDS} s",
        key=state.POLL_TIMER,
        on_click=act,
        args=(lambda: store.lock(key, after=ROUND_TIMER_SECONDS),),
        disabled=view.revealed or view.locked or view.locks_in is not None,
        help="A round timer: phones count down, then the guesses lock by themselves.",
    )
    if upcoming := next_lesson_prompt(view.prompt):
        st.button(
            f"Next round with the lesson prompt “{upcoming} …”",
            key=state.POLL_LESSON_NEXT,
            on_click=act,
            args=(lambda: store.next_round(key, upcoming),),
        )
    st.session_state.setdefault(state.POLL_NEXT_PROMPT, PACKAGE_PROMPTS[0])
    limited_text("Prompt for the next round", state.POLL_NEXT_PROMPT, MAX_POLL_PROMPT_CHARS, height=80)
    st.button("Next round", key=state.POLL_NEXT, on_click=next_round, args=(key,))
    st.download_button(
        "Download the results (CSV)",
        data=results_builder(poll_model(), store, key),
        file_name=f"class-poll-{key.code}.csv",
        mime="text/csv",
        key=state.POLL_CSV,
        on_click="ignore",
    )
    st.caption("One row per round and guess: how many students, the model's token, probability and rank.")
    st.caption(
        f"Limits: {MAX_GUESSES_PER_ROUND} guesses a round; {limits().poll_students_per_client} students per network "
        f"address and {limits().poll_wrong_codes_per_minute} unknown codes a minute per address (the operator "
        "raises them: NTE_POLL_STUDENTS_PER_CLIENT, NTE_POLL_WRONG_CODES_PER_MINUTE)."
    )
    st.toggle(
        "Students see only the poll (their link opens without the page menu)",
        key=state.POLL_ONLY,
        help="Keeps phones on the poll, so nobody reads the model's answer early on another page.",
    )
    move, close = st.columns(2)
    move.button(
        "Move the room to a new code",
        key=state.POLL_MOVE,
        on_click=move_room,
        args=(key,),
        help="If strangers flood the room or the code leaked: the old code stops working, the rounds stay.",
    )
    close.button(
        "Close the room…", key=state.POLL_CLOSE, on_click=lambda: st.session_state.update({state.POLL_CLOSING: True})
    )
    if st.session_state.get(state.POLL_CLOSING):
        st.warning(
            "Closing forgets every guess for good, and the students' pages say the room has closed. The results "
            "file stays downloadable on this page until you start another poll."
        )
        yes, no = st.columns(2)
        yes.button("Yes, close the room", key=state.POLL_CLOSE_YES, on_click=close_room, args=(key,), type="primary")
        keep_open = lambda: st.session_state.update({state.POLL_CLOSING: False})  # noqa: E731
        no.button("Keep it open", key=state.POLL_CLOSE_NO, on_click=keep_open)


def gone_message(code: str, expires_at: object) -> str:
    """Why the teacher's room is not found: it expired, or the store lost it (its expiry had not come yet)."""
    lost = isinstance(expires_at, (int, float)) and time.time() < float(expires_at) - 5
    return (LOST if lost else EXPIRED).format(code=code)


def remember_host(key: TeacherKey | None, expires_in: float = 0.0) -> None:
    """Keep the teacher's key in a cookie of this browser (or forget it), so a reload, a reconnect or another tab
    gets the room back. The value is only the room code, its token (URL-safe base64) and a number, checked here."""
    value = host_cookie_value(key, expires_in) if key is not None else ""
    if key is not None and parse_host_cookie(value) is None:
        return
    age = max(0, int(expires_in)) if key is not None else 0
    st.html(
        f"<script>document.cookie='{HOST_COOKIE}={value}; path=/; max-age={age}; SameSite=Strict'"
        "+(location.protocol==='https:'?'; Secure':'');</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def resume_teacher() -> None:
    """Give this session its room back: from a host link (``?room=CODE&host=TOKEN``, the token then leaves the
    address bar) or, once per session, from this browser's host cookie when the page is opened without a room
    link (the teacher's own page). A student link never carries a token and never resumes a teacher."""
    store = shared_store()
    token = st.query_params.get("host")
    if token is not None:
        del st.query_params["host"]
        try:
            key = TeacherKey(normalise_code(st.query_params.get("room")), str(token))
            store.resume(key)
        except NotTeacher:
            say("error", "This host link does not run the room: its secret part is wrong. You joined as a student.")
            return
        except RoomNotFound as error:
            say("warning", str(error))
            return
        except RoomError as error:
            say("error", str(error))
            return
        set_teacher_key(key)
        del st.query_params["room"]
        say("success", f"You run room {key.code} again as its teacher.")
        return
    if teacher_key() is not None or st.session_state.get(state.POLL_COOKIE_TRIED) or st.query_params.get("room"):
        return  # a room link is a student's view, even in the teacher's own browser
    st.session_state[state.POLL_COOKIE_TRIED] = True
    saved = parse_host_cookie(st.context.cookies.get(HOST_COOKIE))
    if saved is None:
        return
    key, expires_at = saved
    try:
        store.resume(key)
    except RoomNotFound:
        say("warning", gone_message(key.code, expires_at))
        st.session_state[state.POLL_EXPIRES_AT] = None
        return
    except RoomError:  # closed, or another room's token: nothing to resume
        return
    set_teacher_key(key)
    say("info", f"Welcome back: this browser started room {key.code}, so you run it again as its teacher.")


def teacher_view() -> None:
    """The teacher's screen: the start form, or the running room (header, round, prompt, live results, controls)."""
    store, key = shared_store(), teacher_key()
    if key is not None:
        try:
            view = store.get(key.code)
        except RoomNotFound:
            set_teacher_key(None)
            notice(gone_message(key.code, st.session_state.get(state.POLL_EXPIRES_AT)), "warning")
            key = None
        except RoomError as error:  # the store cannot be reached: keep the room, try again on the next run
            notice(error, "error")
            return
    if problem := store_problem():
        notice(problem, "error")
    if key is None:
        if st.session_state.get(state.POLL_COOKIE_TRIED):
            remember_host(None)
        start_form()
        return
    st.session_state[state.POLL_EXPIRES_AT] = time.time() + view.expires_in
    remember_host(key, view.expires_in)
    projector = st.toggle(
        "Projector view: the join banner and the live chart on one screen, no sidebar",
        key=state.POLL_PROJECTOR,
    )
    if projector:
        banner, main = st.columns([1.1, 2.4])
        with banner:
            projector_banner(key.code)
    else:
        room_header(key.code)
        host_link_popover(key)
        main = st.container()
    with main:
        st.subheader(f"Round {view.round}")
        show_prompt(view.prompt)
        if view.locked and not view.revealed:
            st.info("Guesses are locked: reveal the model's answer when the class is ready.")
        live_results(key)
    st.toggle("Show the model's numbers before the reveal", key=state.POLL_SHOW_MODEL)
    round_controls(store, key, view)

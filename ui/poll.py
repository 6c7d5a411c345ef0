"""The Streamlit side of the class poll: the process's room store, this session's anonymous id and teacher key,
the poll's model (always the bundled one, so teacher and students read the same numbers), and the results file.

The store is shared by every session of the process (one per Redis URL, made on first use): rooms must outlive
the teacher's script run and be seen by the students' sessions. It is not a Streamlit cached resource: the one cached
resource of the app is the model (tests/test_layering.py), and a store holds no model, only rooms.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from components.poll import RoundResult, results_csv
from core.models import DEFAULT_MODEL, LoadedModel
from core.next_token import next_token_distribution
from core.poll import class_guesses
from core.seed_examples import CAPITAL_PROMPT, PACKAGE_PROMPTS, SUPPORT_BOT_PROMPT
from core.serving.rooms import ALPHABET, CODE_LENGTH, RoomStore, TeacherKey, room_store
from ui import state
from ui.inference import owner_id, service_for
from ui.model_picker import load
from ui.settings import public_url, redis_url, trusted_proxy

TOP_K = 8  # the model's candidates drawn beside the class's guesses
PAGE_PATH = "class_poll"
LESSON_PROMPTS = (CAPITAL_PROMPT, *PACKAGE_PROMPTS, SUPPORT_BOT_PROMPT)  # the seeds' prompts, one round each
HOST_COOKIE = "nte_poll_host"  # "CODE.TOKEN.EXPIRY": the teacher's browser gets its room back after a reload
_HOST_VALUE = re.compile(rf"([{ALPHABET}]{{{CODE_LENGTH}}})\.([A-Za-z0-9_-]{{16,64}})\.([0-9]{{1,12}})")


@functools.lru_cache(maxsize=4)
def _store_for(url: str | None) -> RoomStore:
    return room_store(url)


def shared_store() -> RoomStore:
    """The room store of this process: Redis when the operator set NTE_REDIS_URL / secret redis_url, else memory."""
    return _store_for(redis_url())


def student_id() -> str:
    """This session's anonymous id in every room (random, never shown, never in a link)."""
    value = st.session_state.get(state.POLL_STUDENT_ID)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(16)
        st.session_state[state.POLL_STUDENT_ID] = value
    return value


def teacher_key() -> TeacherKey | None:
    """The room this session runs as teacher, if any."""
    value = st.session_state.get(state.POLL_ROOM)
    return value if isinstance(value, TeacherKey) else None


def set_teacher_key(key: TeacherKey | None) -> None:
    st.session_state[state.POLL_ROOM] = key


def client_address() -> str:
    """The student's address as the server sees it, for the per-client limits (``address_of``)."""
    return address_of(st.context.headers, st.context.ip_address, trusted_proxy())


def address_of(headers: Any, connection: str | None, trusted: bool) -> str:
    """The client's address: the connection's own (None on localhost: "local"), or, when the operator says a proxy
    of theirs is in front (``trusted``), the address that proxy saw: its X-Real-IP, else the last X-Forwarded-For
    entry (the one it added; earlier entries are whatever the client claimed)."""
    if trusted and headers is not None:
        real = str(headers.get("X-Real-Ip") or headers.get("X-Real-IP") or "").strip()
        forwarded = [part.strip() for part in str(headers.get("X-Forwarded-For") or "").split(",") if part.strip()]
        if real or forwarded:
            return real or forwarded[-1]
    return connection or "local"


def next_lesson_prompt(current: str) -> str | None:
    """The lesson prompt after ``current`` (the first when ``current`` is not one), or None after the last: the
    prompts of the guided lesson the teacher chose to run as rounds, else the seeds' prompts."""
    prompts = tuple(st.session_state.get(state.POLL_ROUND_PROMPTS) or LESSON_PROMPTS)  # a guided lesson's, if set
    if current not in prompts:
        return prompts[0]
    index = prompts.index(current) + 1
    return prompts[index] if index < len(prompts) else None


def poll_model() -> LoadedModel:
    """The model every poll reads: the bundled one, whatever this session picked in the sidebar."""
    return load(DEFAULT_MODEL)


def page_url() -> str:
    """This page's address as phones should open it: the operator's public address (``public_url``) when set,
    else the address the teacher's browser used; no query string."""
    base = public_url()
    if base:
        return f"{base}/{PAGE_PATH}"
    parts = urlsplit(st.context.url or f"/{PAGE_PATH}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def room_link(code: str) -> str:
    """The link students open: this page's URL with ``?room=CODE`` (no host token, ever)."""
    return f"{page_url()}?room={code}"


def host_link(key: TeacherKey) -> str:
    """The teacher's private link: the room link plus the secret token, to run the room from another browser."""
    return f"{room_link(key.code)}&host={key.token}"


def local_only(url: str) -> bool:
    """Whether ``url``'s host is this computer only (localhost, 127.x, ::1), which no phone can open."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_cookie_value(key: TeacherKey, expires_in: float, now: float | None = None) -> str:
    """The host cookie's value: the room code, its teacher token and when the room expires (Unix seconds)."""
    return f"{key.code}.{key.token}.{int((time.time() if now is None else now) + expires_in)}"


def parse_host_cookie(raw: object) -> tuple[TeacherKey, float] | None:
    """The teacher key and expiry time a host cookie holds, or None when it is missing or not one of ours."""
    match = _HOST_VALUE.fullmatch(str(raw or ""))
    if match is None:
        return None
    return TeacherKey(match.group(1), match.group(2)), float(match.group(3))


def results_builder(lm: LoadedModel, store: RoomStore, key: TeacherKey) -> Callable[[], str]:
    """The CSV of every round so far, built when the teacher clicks the download button.

    Streamlit calls it on another thread, outside the script run: it reads the store and queues its model passes
    on the shared inference service itself (most are cached already: each round's prompt ran when it was shown).
    """
    forward = service_for(lm).forward_fn(owner_id())

    def build() -> str:
        results = []
        for record in store.rounds(key):
            dist = next_token_distribution(lm, record.prompt, forward=forward)
            top = dist.top_rows(1)[0]
            guesses = class_guesses(dist, record.prompt, dict(record.counts))
            results.append(RoundResult(record, guesses, top.token, top.probability))
        return results_csv(results)

    return build

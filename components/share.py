"""Shareable views: a page's inputs live in the URL's query parameters, so a pasted link shows the same view.

Each page declares its shareable inputs once (``Shared`` fields) and calls ``share_inputs(fields)`` before its
widgets. The first time a session sees a URL parameter it validates it and puts it into the widget's session
state (an invalid or hostile value is ignored with a note); on every run the current values are written back to
the URL. Sampling is seeded, so the same link also gives the same sampled tokens.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlencode

import streamlit as st

from components import state
from core.text import MAX_PROMPT_CHARS

APPLIED = "share.applied"
NOTES = "share.notes"


@dataclass(frozen=True)
class Shared:
    """One shareable input: the widget's session-state key, its URL name, and how to check a value."""

    key: str
    param: str
    kind: str = "str"  # "str", "int", "float", "bool" or "choice"
    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] = ()
    max_chars: int = MAX_PROMPT_CHARS


def parse(field: Shared, raw: str) -> Any:
    """The value of ``raw`` for ``field``; ValueError when it is not acceptable."""
    if len(raw) > field.max_chars:
        raise ValueError("too long")
    if field.kind == "str":
        return raw
    if field.kind == "bool":
        if raw.lower() not in ("0", "1", "true", "false"):
            raise ValueError("not a yes/no value")
        return raw.lower() in ("1", "true")
    if field.kind == "choice":
        matches = [c for c in field.choices if str(c) == raw]
        if not matches:
            raise ValueError("not one of the choices")
        return matches[0]
    number = float(raw)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    if field.kind == "int":
        if number != int(number):
            raise ValueError("not a whole number")
        number = int(number)
    if (field.low is not None and number < field.low) or (field.high is not None and number > field.high):
        raise ValueError("out of range")
    return number


def encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def share_inputs(fields: Sequence[Shared], page: str) -> None:
    """Apply a link's parameters on the page's first run in a session, then publish the current values."""
    applied = st.session_state.setdefault(APPLIED, set())
    first_visit = page not in applied  # only a link's parameters count, never the ones we wrote ourselves
    applied.add(page)
    notes = []
    for field in fields:
        if first_visit and field.param in st.query_params:
            raw = st.query_params.get(field.param, "")
            try:
                value = parse(field, raw)
            except (TypeError, ValueError) as error:
                notes.append(f"Ignored the link's '{field.param}' value ({error}).")
                continue
            st.session_state[field.key] = value
            if field.key.endswith(".prompt"):
                st.session_state[state.PROMPT] = value
    st.session_state[NOTES] = notes
    for field in fields:
        if field.key in st.session_state:
            value = st.session_state[field.key]
            if isinstance(value, (str, int, float, bool)) and len(encode(value)) <= field.max_chars:
                st.query_params[field.param] = encode(value)
    for note in notes:
        st.caption(note)


def share_link() -> str:
    """The URL of this view with its query parameters (for the "copy link" control)."""
    base = st.context.url or ""
    params = {k: st.query_params.get(k) for k in st.query_params}
    return base + ("?" + urlencode(params) if params else "")


def copy_link_control() -> None:
    """A small expander with the link to this exact view (st.code has a copy button)."""
    with st.expander("Share this view", icon=":material/link:"):
        st.caption("Everyone who opens this link sees the same inputs (and, with the same seed, the same samples).")
        st.code(share_link(), language=None, wrap_lines=True)

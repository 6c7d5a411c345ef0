"""Keyed widgets shared by several pages: the shared prompt box, text boxes with a limit, the sampling controls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.text import MAX_PROMPT_CHARS
from ui import state
from ui.notice import notice

# The ranges of settings several pages share: each widget and its link parameter (ui.share.Shared) read them here,
# so a link never carries a value its widget cannot show.
TEMPERATURE_RANGE = (0.0, 3.0)
TOP_K_RANGE = (0, 1_000_000)
TOP_P_RANGE = (0.0, 1.0)
SEED_RANGE = (0, 2**31 - 1)


def prompt_area(widget_key: str, label: str = "Prompt", height: int = 100) -> str:
    """A text area bound to the prompt shared by every page (the widget has its own key per page)."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(state.PROMPT, state.DEFAULT_PROMPT)
    value = limited_text(label, widget_key, MAX_PROMPT_CHARS, height=height)
    st.session_state[state.PROMPT] = value
    return value


def _cut_to_limit(key: str, limit: int, on_change: Callable | None, args: tuple) -> None:
    """Change callback of a limited box: keep the first ``limit`` characters and remember why (for the note)."""
    text = st.session_state.get(key)
    if isinstance(text, str) and len(text) > limit:
        st.session_state[key] = text[:limit]
        state.set_cut(key, state.Cut(len(text), text[:limit]))
    if on_change is not None:
        on_change(*args)


def limited_text(
    label: str,
    key: str,
    limit: int,
    *,
    area: bool = True,
    where: Any = st,
    on_change: Callable | None = None,
    args: tuple = (),
    **kwargs: Any,
) -> str:
    """A text box (``text_area``, or ``text_input`` when ``area`` is False) that never drops a paste silently.

    The browser ignores an edit that would go over a widget's own ``max_chars``: a long paste just does not
    happen, without a word. So the widget has no ``max_chars``; a longer text is cut to its first ``limit``
    characters, in the box too, and a note under the box says how long it was, until the text changes.

    Args:
        where: the container to draw in (``st``, a column, the sidebar).
        kwargs: passed on to the widget (``value``, ``height``, ``help``, ``placeholder``…).
    Returns:
        The text, at most ``limit`` characters.
    """
    widget = where.text_area if area else where.text_input
    if "value" in kwargs:  # a default in session state, not the widget's: a preset or a shared link may set it first
        st.session_state.setdefault(key, kwargs.pop("value"))
    value = widget(label, key=key, on_change=_cut_to_limit, args=(key, limit, on_change, args), **kwargs)
    value = "" if value is None else value
    cut = state.cut(key)
    if len(value) > limit:  # put in the box some other way (a file, a callback): the same rule
        cut, value = state.Cut(len(value), value[:limit]), value[:limit]
    if cut and cut.kept == value:
        where.warning(
            f"Your text had {cut.given:,} characters; this box takes at most {limit:,}, so only the first "
            f"{limit:,} are used.",
            icon=":material/content_cut:",
        )
    return value


def sampling_controls(temperature_key: str, top_k_key: str, top_p_key: str) -> tuple[float, int, float]:
    """Temperature, top-k and top-p, in the order ``generate`` applies them. Returns their values.

    Defaults (1.0, 0, 1.0: no filter) go into session state, not into the widgets: a page or a link that set a value
    first keeps it, and Streamlit does not warn about a widget given both a default and a Session State value."""
    for key, default in ((temperature_key, 1.0), (top_k_key, 0), (top_p_key, 1.0)):
        st.session_state.setdefault(key, default)
    left, middle, right = st.columns(3)
    temperature = left.slider(
        "Temperature",
        *TEMPERATURE_RANGE,
        step=0.05,
        key=temperature_key,
        help="Divides the logits before softmax. 0 = greedy (always the top token).",
    )
    top_k = middle.number_input(
        "Top-k (0 = off)",
        *TOP_K_RANGE,
        step=1,
        key=top_k_key,
        help="Keep only the k most likely tokens.",
    )
    top_p = right.slider(
        "Top-p (1 = off)",
        *TOP_P_RANGE,
        step=0.01,
        key=top_p_key,
        help="Keep the smallest set of top tokens whose probability adds up to p.",
    )
    return float(temperature), int(top_k), float(top_p)


def bounded_slider(label: str, low: int, high: int, default: int, key: str, **kwargs) -> int:
    """An int slider whose range depends on the data (e.g. a vocabulary size): a remembered value outside
    the new range (a link's, or one kept from a bigger vocabulary) is clamped first, with a note saying so, and a
    one-value range needs no slider."""
    if high <= low:
        return low
    if key in st.session_state:
        asked = st.session_state[key]
        st.session_state[key] = int(min(max(asked, low), high))
        if st.session_state[key] != asked:
            notice(
                f"{label}: {asked:,} is outside {low:,} to {high:,} here, so it is {st.session_state[key]:,}.",
                "caption",
            )
    else:
        st.session_state[key] = int(min(max(default, low), high))
    return int(st.slider(label, low, high, key=key, **kwargs))

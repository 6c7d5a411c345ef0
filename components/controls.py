"""Keyed widgets shared by several pages: the shared prompt box and the sampling controls."""
from __future__ import annotations

import streamlit as st

from components import state
from core.text import MAX_PROMPT_CHARS


def prompt_area(widget_key: str, label: str = "Prompt", height: int = 100) -> str:
    """A text area bound to the prompt shared by every page (the widget has its own key per page)."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(state.PROMPT, state.DEFAULT_PROMPT)
    value = st.text_area(label, key=widget_key, height=height, max_chars=MAX_PROMPT_CHARS)
    st.session_state[state.PROMPT] = value
    return value


def sampling_controls(temperature_key: str, top_k_key: str, top_p_key: str) -> tuple[float, int, float]:
    """Temperature, top-k and top-p, in the order ``generate`` applies them. Returns their values."""
    left, middle, right = st.columns(3)
    temperature = left.slider("Temperature", 0.0, 3.0, 1.0, 0.05, key=temperature_key,
                              help="Divides the logits before softmax. 0 = greedy (always the top token).")
    top_k = middle.number_input("Top-k (0 = off)", min_value=0, max_value=1_000_000, value=0, step=1, key=top_k_key,
                                help="Keep only the k most likely tokens.")
    top_p = right.slider("Top-p (1 = off)", 0.0, 1.0, 1.0, 0.01, key=top_p_key,
                         help="Keep the smallest set of top tokens whose probability adds up to p.")
    return float(temperature), int(top_k), float(top_p)


def bounded_slider(label: str, low: int, high: int, default: int, key: str, **kwargs) -> int:
    """An int slider whose range depends on the data (e.g. a vocabulary size): a remembered value outside
    the new range is clamped first, and a one-value range needs no slider."""
    if high <= low:
        return low
    if key in st.session_state:
        st.session_state[key] = int(min(max(st.session_state[key], low), high))
    else:
        st.session_state[key] = int(min(max(default, low), high))
    return int(st.slider(label, low, high, key=key, **kwargs))

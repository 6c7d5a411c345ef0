"""Presenter mode: large type and fewer controls, for projecting in a classroom."""

from __future__ import annotations

import streamlit as st

from ui import state

_CSS = """
<style>
section.main .block-container, [data-testid="stMain"] { font-size: 1.3rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label { font-size: 1.3rem !important; }
[data-testid="stMain"] h1 { font-size: 3.2rem !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
.nte-tokens { font-size: 1.5rem; }
</style>
"""


def presenter_toggle() -> bool:
    """The sidebar switch; applies the large-type style when on. Returns whether presenter mode is on."""
    on = st.toggle("Presenter mode", key=state.PRESENTER, help="Large type and fewer controls, for a projector.")
    if on:
        st.html(_CSS)
    return on


def presenter_mode() -> bool:
    """Whether this session is in presenter mode (pages hide secondary controls when it is)."""
    return bool(st.session_state.get(state.PRESENTER, False))

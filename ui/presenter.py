"""Presenter mode: large type and fewer controls, for projecting in a classroom."""

from __future__ import annotations

import streamlit as st

from ui import state

# Everything the class reads in the main area, at least ~19 px (1rem = 16 px): text, captions, the prompt box and
# inputs, buttons, sliders' labels and values, select boxes, metrics, tabs, expander labels, st.table cells, code
# and the token chips. Charts are scaled by ui.charts.show_chart (a copy of each figure with larger fonts).
# st.dataframe draws its cells on a canvas with the app theme's font size: CSS cannot reach it.
_CSS = """
<style>
[data-testid="stMain"] { font-size: 1.3rem; }
[data-testid="stMain"] :is(p, li, label, td, th, summary, small, textarea, input, button, code, pre) {
  font-size: 1.3rem !important;
}
[data-testid="stMain"] h1 { font-size: 3.2rem !important; }
[data-testid="stMain"] h2 { font-size: 2.4rem !important; }
[data-testid="stMain"] h3 { font-size: 1.9rem !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stCaptionContainer"] :is(p, span, code) { font-size: 1.2rem !important; }
[data-testid="stMain"] [data-baseweb="select"] :is(div, span, input),
[data-testid="stMain"] [data-baseweb="tag"] span,
[data-testid="stMain"] [data-testid="stMultiSelectTagsContainer"] :is(span, div) { font-size: 1.3rem !important; }
[data-testid="stMain"] :is([data-testid="stSliderThumbValue"], [data-testid="stSliderTickBarMin"],
  [data-testid="stSliderTickBarMax"]) { font-size: 1.2rem !important; }
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] :is(div, p) { font-size: 2.2rem !important; }
[data-testid="stMain"] [data-testid="stMetricLabel"] :is(div, p, label) {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMain"] [data-testid="stMetricDelta"] div { font-size: 1.3rem !important; }
[data-testid="stMain"] button :is(p, div, span) {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMain"] [data-testid="stFileUploader"] :is(span, small, div) { font-size: 1.2rem !important; }
[data-testid="stMain"] [data-testid="InputInstructions"] { font-size: 1.15rem !important; }
[data-testid="stMain"] :is(.nte-tokens, .nte-generation, .nte-text) { font-size: 1.5rem !important; }
[data-testid="stMain"] :is(.nte-tokens, .nte-generation) span { font-size: inherit !important; }
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

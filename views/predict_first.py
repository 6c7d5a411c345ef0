"""The Predict first page's parts: the lessons' texts to guess through, and the callbacks that fill and restart."""

import streamlit as st

from core.perplexity_examples import FLUENT
from core.seed_examples import CAPITAL_PROMPT
from ui import state

EXAMPLES = {
    "The cat sat on the mat (the pretraining lesson)": "The cat sat on the mat.",
    "The capital of France is Paris": CAPITAL_PROMPT + " Paris.",
    "The package left the warehouse (the warehouse example)": FLUENT.split(". ")[0] + ".",
}
TEXT_CSS = "<style>.nte-predict-text{font-size:1.5rem;line-height:1.4}</style>"


def fill_text() -> None:
    """Picker callback: put the lesson's text in the box (the scores start again)."""
    st.session_state[state.PF_TEXT] = EXAMPLES[st.session_state[state.PF_EXAMPLE]]


def restart() -> None:
    st.session_state.pop(state.PF_SCORES, None)

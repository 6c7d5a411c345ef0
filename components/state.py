"""Session-state keys, declared once. Page-specific keys carry the page's prefix."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.seed_examples import CAPITAL_PROMPT

# Shared by every page.
PROMPT = "shared.prompt"            # the prompt every page starts from
MODEL_NAME = "shared.model_name"    # the model in use (a name in the shared cache, or TRAINED_MODEL)
MODEL_CHOICE = "sidebar.model_choice"
MODEL_CUSTOM_ID = "sidebar.model_custom_id"
MODEL_ERROR = "sidebar.model_error"
MODEL_REVERT = "sidebar.model_revert"
TRAINED_MODEL = "shared.trained_model"  # this session's own trained LoadedModel (never shared)
MEMO = "shared.memo"                # per-session memo of model outputs, see components.memo

# Next-token page.
NT_TOP_N = "next_token.top_n"
NT_TEMPERATURE = "next_token.temperature"
NT_TOP_K = "next_token.top_k"
NT_TOP_P = "next_token.top_p"
NT_SEED = "next_token.seed"
NT_LAST_SAMPLE = "next_token.last_sample"
NT_COMPARE = ("next_token.compare_1", "next_token.compare_2", "next_token.compare_3")
NT_TOY_TOKENS = "next_token.toy_tokens"
NT_TOY_LOGITS = "next_token.toy_logits"
NT_MODE = "next_token.mode"

# Temperature page.
TEMP_SOURCE = "temperature.source"
TEMP_VALUE = "temperature.value"
TEMP_PANELS = "temperature.panels"
TEMP_TOP_N = "temperature.top_n"
TEMP_TOY_TOKENS = "temperature.toy_tokens"
TEMP_TOY_LOGITS = "temperature.toy_logits"

DEFAULT_PROMPT = CAPITAL_PROMPT


def init_state() -> None:
    """Give every shared key its starting value (``setdefault``, so nothing is overwritten)."""
    st.session_state.setdefault(PROMPT, DEFAULT_PROMPT)
    st.session_state.setdefault(MODEL_ERROR, None)


def shared_value(key: str, default: Any = None) -> Any:
    """Read a shared session value."""
    return st.session_state.get(key, default)

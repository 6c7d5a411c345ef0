"""Operator settings read from the environment or st.secrets (never from the page)."""
from __future__ import annotations

import os
from typing import Any

import streamlit as st

from core.models import DEFAULT_MAX_PARAMS


def _secret(name: str) -> Any:
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets file is the normal case
        return None


def allow_local_models() -> bool:
    """Whether a model may be loaded from a folder on the server (off unless the operator enables it)."""
    value = os.environ.get("NTE_ALLOW_LOCAL_MODELS") or _secret("allow_local_models") or ""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def max_model_params() -> int:
    """The parameter cap checked before any download (NTE_MAX_PARAMS or st.secrets max_params)."""
    value = os.environ.get("NTE_MAX_PARAMS") or _secret("max_params")
    try:
        return int(float(value)) if value else DEFAULT_MAX_PARAMS
    except (TypeError, ValueError):
        return DEFAULT_MAX_PARAMS


def torch_threads() -> int:
    """Intra-op threads for torch (NTE_TORCH_THREADS, default 1: a shared server has many sessions, few cores)."""
    try:
        return max(1, int(os.environ.get("NTE_TORCH_THREADS", "1")))
    except ValueError:
        return 1

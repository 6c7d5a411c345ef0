"""The one cached-resource wrapper: one copy of each model per process, shared read-only by all sessions."""
from __future__ import annotations

import streamlit as st

from core.models import LoadedModel, load_model


@st.cache_resource(show_spinner=False, max_entries=3)
def cached_model(name: str, allow_local: bool, max_params: int) -> LoadedModel:
    """``core.models.load_model`` behind ``st.cache_resource``."""
    return load_model(name, allow_local=allow_local, max_params=max_params)

"""The one cached-resource wrapper: one copy of each model per process, shared read-only by all sessions."""

from __future__ import annotations

import streamlit as st

from core.models import LoadedModel, load_model
from ui.settings import limits

# st.cache_resource fixes max_entries when it decorates, so the operator's limit (NTE_MAX_CACHED_MODELS or the
# secret max_cached_models) is read once, at import: changing it takes a server restart. The default, 2, keeps the
# bundled model and one more; with 1, two sessions on different models would reload them on every run.
MAX_CACHED_MODELS = limits().max_cached_models


@st.cache_resource(show_spinner=False, max_entries=MAX_CACHED_MODELS)
def cached_model(name: str, allow_local: bool, max_params: int) -> LoadedModel:
    """``core.models.load_model`` behind ``st.cache_resource``."""
    return load_model(name, allow_local=allow_local, max_params=max_params)

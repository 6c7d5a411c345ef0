"""The one cached-resource wrapper: one copy of each model per process, shared read-only by all sessions."""

from __future__ import annotations

import streamlit as st

from core.models import LoadedModel, load_model
from ui.inference import release_service
from ui.settings import limits

# st.cache_resource fixes max_entries when it decorates, so the operator's limit (NTE_MAX_CACHED_MODELS or the
# secret max_cached_models) is read once, at import: changing it takes a server restart. The default, 1, keeps the
# bundled model for the whole class, and ui.model_picker then offers no other (one_model_server): a student who
# loaded another would evict the class's model. An operator who raises it gets the picker's other models back.
MAX_CACHED_MODELS = limits().max_cached_models


@st.cache_resource(show_spinner=False, max_entries=MAX_CACHED_MODELS, on_release=release_service)
def cached_model(name: str, allow_local: bool, max_params: int) -> LoadedModel:
    """``core.models.load_model`` behind ``st.cache_resource``; an evicted model's inference service is closed."""
    return load_model(name, allow_local=allow_local, max_params=max_params)

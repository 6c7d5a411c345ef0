"""Which backend this session uses: the local model, or the operator's model server.

The operator sets the server (ui.settings.remote_settings); the sidebar's picker then offers "Remote server:
<model>". Pages with a remote view call ``remote_page``; pages that need the weights call ``require_local_model``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.inert import inert_markdown
from core.models import DEFAULT_MODEL
from core.serving.remote_backend import RemoteBackend
from ui import state
from ui.settings import remote_settings

REMOTE_PREFIX = "Remote server: "


def remote_label() -> str | None:
    """The picker's option for the operator's server, or None when none is configured."""
    settings = remote_settings()
    return None if settings is None else REMOTE_PREFIX + settings.model


def is_remote_label(name: str | None) -> bool:
    return bool(name) and str(name).startswith(REMOTE_PREFIX)


def remote_in_use() -> bool:
    """Whether the sidebar's model is the operator's server (and the server is still configured)."""
    label = remote_label()
    return label is not None and st.session_state.get(state.MODEL_NAME) == label


def remote_backend() -> RemoteBackend:
    """A client for the operator's server (cheap: it holds only the address and the settings)."""
    settings = remote_settings()
    if settings is None:
        raise RuntimeError("no remote server is configured")
    return RemoteBackend(
        settings.base_url,
        settings.model,
        timeout=settings.timeout,
        max_top_n=settings.max_logprobs,
        api_key=settings.api_key,
    )


def _use_local_model() -> None:
    st.session_state[state.MODEL_CHOICE] = DEFAULT_MODEL


def require_local_model(reason: str = "the model's weights and its whole-vocabulary distributions") -> None:
    """On the remote server, say that this page needs the local model, offer to switch back, and stop the page.

    Args:
        reason: what the page reads from the weights, as a noun phrase ("attention weights per layer and head").
    """
    if not remote_in_use():
        return
    st.info(
        f"This needs the local model ({reason}). A model server (llama.cpp, vLLM, SGLang) returns only the "
        "log-probabilities of its top tokens: no attention weights, no hidden states, no KV cache. Pick the local "
        f"model ({DEFAULT_MODEL}) in the sidebar to use this page.",
        icon=":material/dns:",
    )
    st.button("Use the local model", key=state.REMOTE_USE_LOCAL, on_click=_use_local_model)
    st.stop()


def remote_page(view: Callable[[RemoteBackend], None]) -> None:
    """On the operator's model server, draw the page's remote ``view`` (its ``views/<page>.remote_view``) and stop."""
    if not remote_in_use():
        return
    view(remote_backend())
    st.stop()


def server_caption(backend: RemoteBackend) -> None:
    """The line under a remote view's title: which model, on which server, reporting how many candidates."""
    st.caption(
        f"Model **{inert_markdown(backend.model)}** on the operator's model server. "
        f"The server reports at most {backend.max_top_n} candidates per position."
    )


def remote_sidebar() -> None:
    """The sidebar's note on the server in use: what it gives and what it does not."""
    backend = remote_backend()
    st.caption("In use: **the operator's model server**")
    st.caption(
        f"It reports the top {backend.max_top_n} candidates of each distribution, not the whole vocabulary. "
        "Attention, the logit lens and the measured KV cache need the local model."
    )

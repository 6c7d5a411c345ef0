"""The attention explorer on the Attention page: a Custom Component (v2) whose Head and Query token selects, head
heatmap and query bars live in the browser.

Picking a head or a query token redraws in the page (components/attention_explorer.js) and costs the server nothing
until the pick is heard: the change callback checks it and stores it under the page's own session-state keys
(``state.ATT_HEAD``, ``state.ATT_QUERY``), so the share link, the overview's outlined square, the every-head grid and
the rows generation adds keep reading the same keys as before. The layer switch stays on the server: it changes what
is sent.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import streamlit as st

from components.attention_explorer import EXPLORER_CSS, EXPLORER_HTML, EXPLORER_JS, encoded_cells, explorer_data
from core.attention import AttentionMaps, without_first_key
from ui import state
from ui.memo import session_memo
from ui.presenter import presenter_mode

# Registered once per process, when the page first imports this module. Not in a shadow root: its text is the page's
# text (find in page, screen readers, presenter-mode checks); its style rules all start with .nte-attention.
_mount = st.components.v2.component(
    "nte.attention_explorer", html=EXPLORER_HTML, css=EXPLORER_CSS, js=EXPLORER_JS, isolate_styles=False
)


def picked(heads: int, length: int) -> None:
    """Change callback: the browser picked a head or query. Store each (checked: a browser is not to be trusted);
    a value out of range is ignored and the old one kept."""
    sent = st.session_state.get(state.ATT_EXPLORER)
    pick: Any = sent.get("picked") if hasattr(sent, "get") else None
    if not isinstance(pick, dict):
        return
    head, query = pick.get("head"), pick.get("query")
    if head is None or (isinstance(head, int) and not isinstance(head, bool) and 0 <= head < heads):
        st.session_state[state.ATT_HEAD] = head
    if isinstance(query, int) and not isinstance(query, bool) and 0 <= query < length:
        st.session_state[state.ATT_QUERY] = query


def shown_layer(maps: AttentionMaps, layer: int, hide_sink: bool) -> tuple[np.ndarray, int]:
    """The layer's maps as the page shows them: (H + 1, T, K) heads 0..H-1 then their average, with the first
    token hidden and rows renormalised when ``hide_sink`` (K = T - 1, offset 1), else as computed (K = T)."""
    weights = maps.weights[layer - 1]  # (H, T, T)
    stack = np.concatenate([weights, weights.mean(axis=0, keepdims=True)])  # (H + 1, T, T)
    if hide_sink and maps.length > 1:
        return without_first_key(stack), 1
    return stack, 0


def attention_explorer(
    lm_name: str, prompt: str, maps: AttentionMaps, layer: int, head: int | None, query: int, hide_sink: bool
) -> None:
    """Draw the Head select, the head heatmap, the Query token select and its bars in the browser, from every
    head's map of layer number ``layer`` (1..L) sent once per (prompt, layer, hide-the-sink)."""
    stack, offset = session_memo(
        "attention_explorer.layer",
        (lm_name, prompt, layer, hide_sink),
        lambda: shown_layer(maps, layer, hide_sink),
        max_entries=2,
    )
    cells = session_memo(
        "attention_explorer.cells",
        (lm_name, prompt, layer, hide_sink),
        lambda: encoded_cells(stack, offset),
        max_entries=2,
    )
    data = explorer_data(
        stack,
        maps.tokens,
        layer=layer,
        kv_heads=maps.kv_heads,
        head=head,
        query=query,
        offset=offset,
        presenter=presenter_mode(),
        cells_b64=cells,
    )
    _mount(key=state.ATT_EXPLORER, data=data, on_picked_change=partial(picked, maps.heads, maps.length))

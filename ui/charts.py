"""Showing the house figures: one call for every plotly chart of the fragment pages, and figures memoised per input.

``st.plotly_chart`` validates a figure given as a dict (``Figure(**figure)``, the slow part of a redraw); a
``go.Figure`` built with ``_validate=False`` (``components.style.figure``) is only copied and serialised (with
orjson when installed). So builders return such figures, and a dict is wrapped the same way here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from components.style import figure as unvalidated
from ui.memo import session_memo


def show_chart(fig: go.Figure | dict, key: str, *, where: Any = st, **kwargs: Any) -> Any:
    """Draw ``fig`` with ``where.plotly_chart`` under ``key`` (a dict ``{"data": [...], "layout": {...}}`` is
    wrapped without validation first). Returns what ``st.plotly_chart`` returns (the selection, when asked)."""
    if isinstance(fig, dict):
        fig = unvalidated(list(fig.get("data", [])), dict(fig.get("layout", {})))
    return where.plotly_chart(fig, key=key, **kwargs)


def memo_figure(kind: str, inputs: Hashable, build: Callable[[], go.Figure], *, max_entries: int = 4) -> go.Figure:
    """The figure ``build()`` makes for ``inputs``, memoised in this session (``ui.memo``, kind ``figure.<kind>``):
    a rerun that does not change the inputs (another head's view of the same layer) skips building it."""
    return session_memo(f"figure.{kind}", inputs, build, max_entries=max_entries)

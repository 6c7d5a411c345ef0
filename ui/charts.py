"""Showing the house figures: one call for every plotly chart of the fragment pages, figures memoised per input, and
figures and tables a whole class shares (``shared``: thirty students at the same generation step draw one set).

``st.plotly_chart`` validates a figure given as a dict (``Figure(**figure)``, the slow part of a redraw); a
``go.Figure`` built with ``_validate=False`` (``components.style.figure``) is only copied and serialised (with
orjson when installed). So builders return such figures, and a dict is wrapped the same way here.

In presenter mode the figure drawn is a scaled copy (``components.style.scaled``: every font large enough for the
back row). Under every chart a collapsed "Chart as a table" expander holds its text alternative, built only while
it is open (``components.chart_text``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io
import pyarrow as pa
import streamlit as st

from components.chart_text import figure_summary, figure_table
from components.inert import inert_markdown
from components.style import FrozenFigure, frozen, scaled
from components.style import figure as unvalidated
from ui.memo import session_memo
from ui.presenter import presenter_mode

TABLE_LABEL = "Chart as a table"
TABLE_SUFFIX = ".table"  # the expander's key: the chart's key and this


def show_chart(fig: go.Figure | dict, key: str, *, where: Any = st, table: bool = True, **kwargs: Any) -> Any:
    """Draw ``fig`` with ``where.plotly_chart`` under ``key`` (a dict ``{"data": [...], "layout": {...}}`` is
    wrapped without validation first), scaled for a projector in presenter mode, with its table expander under
    it unless ``table`` is False (a chart redrawn into an ``st.empty`` slot, whose key changes every redraw).
    Returns what ``st.plotly_chart`` returns (the selection, when asked)."""
    if isinstance(fig, dict):
        fig = unvalidated(list(fig.get("data", [])), dict(fig.get("layout", {})))
    shown = scaled(fig) if presenter_mode() else fig
    selection = where.plotly_chart(shown, key=key, **kwargs)
    if table:
        chart_table(fig, key, where=where)
    return selection


def chart_table(fig: go.Figure, chart_key: str, *, where: Any = st) -> None:
    """The chart's text alternative in a collapsed expander keyed by the chart's key: a sentence naming the chart
    and what it shows, and its data as a table. Built only while the expander is open, so a closed one costs a
    rerun nothing but the expander itself."""
    panel = where.expander(TABLE_LABEL, key=chart_key + TABLE_SUFFIX, on_change="rerun")
    if not panel.open:
        return
    with panel:
        st.caption(inert_markdown(figure_summary(fig)))
        show_table(figure_table(fig), hide_index=True)


SHARED_VIEWS_MB = 32  # figures, tables and HTML shared across sessions; least recently used dropped first
_shared: OrderedDict[tuple[str, Hashable], tuple[Any, int]] = OrderedDict()  # key -> (value, its bytes)
_shared_lock = threading.Lock()


def view_bytes(value: Any) -> int:
    """About what a shared value holds: an HTML string's characters, a figure's JSON, a table's Arrow buffers plus
    its DataFrame, a tuple's parts; 1 KiB for anything else (a float)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, go.Figure):
        return len(plotly.io.to_json(value.to_dict(), validate=False))
    if isinstance(value, SharedTable):
        return int(value.arrow.nbytes) + int(value.frame.memory_usage(index=True, deep=True).sum())
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    if isinstance(value, tuple):
        return sum(view_bytes(v) for v in value)
    return 1024


def shared(kind: str, inputs: Hashable, build: Callable[[], Any]) -> Any:
    """What ``build()`` makes for ``inputs``, shared by every session of this process (never changed after).

    A class that steps one generation draws the same charts and tables 30 times over: the first session builds each
    and the others draw the same object, also when they get there later. ``inputs`` must hold everything the value
    shows, and nothing private: another session may be shown it. The most recently used values are kept within
    SHARED_VIEWS_MB (``view_bytes``); the server's idle release forgets them all (``forget_shared``).
    """
    key = (kind, inputs)
    with _shared_lock:
        if key in _shared:
            _shared.move_to_end(key)
            return _shared[key][0]
    value = build()  # outside the lock: two sessions may build the same value once each, never wait
    size = view_bytes(value)
    with _shared_lock:
        _shared[key] = (value, size)
        _shared.move_to_end(key)
        budget, held = SHARED_VIEWS_MB * 1024 * 1024, sum(n for _, n in _shared.values())
        while held > budget and len(_shared) > 1:
            held -= _shared.popitem(last=False)[1][1]
    return value


def forget_shared() -> int:
    """Drop every shared value (ui.idle_release, when the server goes idle); returns how many there were."""
    with _shared_lock:
        count = len(_shared)
        _shared.clear()
    return count


def shared_figure(kind: str, inputs: Hashable, build: Callable[[], go.Figure]) -> FrozenFigure:
    """``shared`` for a figure: a ``FrozenFigure``, so its ``to_dict()`` copy is made once for the whole class."""
    return shared(kind, inputs, lambda: frozen(build()))


@dataclass(frozen=True)
class SharedTable:
    """A table shared by sessions (``shared_table``): the DataFrame, and the Arrow table ``st.dataframe`` sends.

    ``pa.Table.from_pandas(frame)`` is what ``st.dataframe`` would convert the frame to on every redraw; given the
    Arrow table it sends it as it is (the same bytes: tests/ui/test_shared_charts.py)."""

    frame: pd.DataFrame
    arrow: pa.Table


def shared_table(kind: str, inputs: Hashable, build: Callable[[], pd.DataFrame]) -> SharedTable:
    """``shared`` for a table (``show_table`` draws a ``SharedTable``)."""

    def make() -> SharedTable:
        frame = build()
        return SharedTable(frame, pa.Table.from_pandas(frame))

    return shared(kind, inputs, make)


def memo_figure(kind: str, inputs: Hashable, build: Callable[[], go.Figure], *, max_entries: int = 4) -> go.Figure:
    """The figure ``build()`` makes for ``inputs``, memoised in this session (``ui.memo``, kind ``figure.<kind>``):
    a rerun that does not change the inputs (another head's view of the same layer) skips building it."""
    return session_memo(f"figure.{kind}", inputs, build, max_entries=max_entries)


PRESENTER_TABLE_ROWS = 40  # up to this many rows a table is drawn as HTML in presenter mode (its text scales)


def show_table(data: Any, *, where: Any = st, **kwargs: Any) -> Any:
    """Show a table (a DataFrame, a Styler or a ``SharedTable``) with ``where.dataframe(data, **kwargs)``; in
    presenter mode, a table of up to PRESENTER_TABLE_ROWS rows is drawn with ``st.table`` instead: st.dataframe paints
    its cells on a canvas at the theme's 12-14 px, which no CSS reaches, while st.table's cells take presenter mode's
    large type."""
    arrow = None
    if isinstance(data, SharedTable):
        data, arrow = data.frame, data.arrow
    styler = data if hasattr(data, "hide") and hasattr(data, "data") else None  # a pandas Styler (formatted)
    frame = styler.data if styler is not None else data
    rows = getattr(frame, "shape", (PRESENTER_TABLE_ROWS + 1,))[0]
    if presenter_mode() and rows <= PRESENTER_TABLE_ROWS and hasattr(frame, "style"):
        shown = styler if styler is not None else frame.style
        return where.table(shown.hide(axis="index") if kwargs.get("hide_index") else shown)
    return where.dataframe(data if arrow is None else arrow, **kwargs)

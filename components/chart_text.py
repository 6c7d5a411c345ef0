"""A chart's text alternative: its title as plain text, one sentence on what it draws, and its data as a small table.

Read from the figure itself (``fig.data``, ``fig.layout``), so it works for every builder's figure, validated or not.
Plotly labels hold escaped HTML (``plotly_text``) and a few tags (``<br>``, ``<b>``); the table gives the text back
as typed, for ``st.dataframe``, which shows cells as plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 60  # rows per bar or line trace; a longer trace is shown at evenly spaced points
TOP_CELLS = 20  # rows per heatmap: its largest cells
_TAG = re.compile(r"<[^>]*>")
_KINDS = {"bar": "bars", "scatter": "points", "scattergl": "points", "heatmap": "cells"}


def plain(text: Any) -> str:
    """Plotly label text as a reader would read it: tags dropped (``<br>`` as a space), entities unescaped."""
    if text is None:
        return ""
    return html.unescape(_TAG.sub(" ", str(text).replace("<br>", " "))).strip()


def figure_title(fig: go.Figure) -> str:
    """The figure's title as plain text ("" when it has none)."""
    title = fig.layout.title
    return plain(title.text if title is not None else None)


def _axis_title(fig: go.Figure, ref: str | None, letter: str) -> str:
    """The title of the axis a trace uses (``ref`` "x", "x2" ... or None for the first one)."""
    name = f"{letter}axis{(ref or letter)[1:]}"
    axis = fig.layout[name] if name in fig.layout else None
    return plain(axis.title.text) if axis is not None and axis.title is not None else ""


def _list(values: Any, n: int) -> list:
    """``values`` as a list of ``n`` items (plotly allows a scalar or nothing where a list is expected)."""
    if values is None:
        return [None] * n
    if isinstance(values, (str, int, float)):
        return [values] * n
    return list(values)[:n] + [None] * max(0, n - len(values))


def _cell(value: Any) -> Any:
    """One table cell: numbers as Python floats/ints, label text as plain text."""
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return plain(value) if value is not None else None


def _evenly(n: int, limit: int) -> list[int]:
    """Indices of at most ``limit`` evenly spaced points of ``n``, the first and the last included."""
    if n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})


def _series_name(fig: go.Figure, trace: Any, number: int) -> str:
    """The trace's name, else the title of its subplot (a grid of heatmaps), else "series <number>"."""
    return plain(trace.name) or _subplot_title(fig, trace) or f"series {number}"


def _subplot_title(fig: go.Figure, trace: Any) -> str:
    """The text of the annotation centred above the trace's subplot (how make_subplots titles a cell), or ""."""
    x_name, y_name = f"xaxis{(trace.xaxis or 'x')[1:]}", f"yaxis{(trace.yaxis or 'y')[1:]}"
    if x_name not in fig.layout or y_name not in fig.layout:
        return ""
    x_domain, y_domain = fig.layout[x_name].domain, fig.layout[y_name].domain
    if x_domain is None or y_domain is None or tuple(x_domain) == (0, 1):
        return ""  # one plot filling the figure: an annotation on it is not a subplot title
    for note in fig.layout.annotations or ():
        if note.xref == "paper" and note.yref == "paper" and note.x is not None and note.y is not None:
            if x_domain[0] <= note.x <= x_domain[1] and abs(note.y - y_domain[1]) < 1e-6:
                return plain(note.text)
    return ""


def _points(fig: go.Figure, trace: Any, number: int, max_points: int) -> list[dict]:
    """Rows of a bar or scatter trace: series, x, y and the text drawn on each point."""
    x, y = trace.x, trace.y
    n = max(len(x) if x is not None else 0, len(y) if y is not None else 0)
    xs, ys = _list(x, n), _list(y, n)
    texts = _list(getattr(trace, "text", None), n)
    colour = trace.marker.color if trace.marker is not None else None  # a number per point: what the colour shows
    shades = _list(colour, n) if _numeric(colour) else [None] * n
    return [
        dict(
            series=_series_name(fig, trace, number),
            x=_cell(xs[i]),
            y=_cell(ys[i]),
            value=_cell(shades[i]),
            text=_cell(texts[i]),
        )
        for i in _evenly(n, max_points)
    ]


def _numeric(values: Any) -> bool:
    """Whether ``values`` is an array of numbers (a colour scale's input), not colour names."""
    if values is None or isinstance(values, str):
        return False
    array = np.asarray(values)
    return array.ndim == 1 and array.size > 0 and np.issubdtype(array.dtype, np.number)


def _cells(fig: go.Figure, trace: Any, number: int, top_cells: int) -> list[dict]:
    """Rows of a heatmap: its ``top_cells`` largest cells (gaps left out), largest first."""
    z = np.asarray(trace.z, dtype=np.float64)  # (rows, columns)
    if z.ndim != 2 or z.size == 0:
        return []
    xs = _list(trace.x, z.shape[1]) if trace.x is not None else list(range(z.shape[1]))
    ys = _list(trace.y, z.shape[0]) if trace.y is not None else list(range(z.shape[0]))
    flat = np.where(np.isfinite(z), z, -np.inf).ravel()
    order = [i for i in np.argsort(-flat, kind="stable")[:top_cells] if np.isfinite(flat[i])]
    rows, cols = np.unravel_index(order, z.shape) if order else ([], [])
    return [
        dict(series=_series_name(fig, trace, number), x=_cell(xs[c]), y=_cell(ys[r]), value=float(z[r, c]))
        for r, c in zip(rows, cols)
    ]


def _traces(fig: go.Figure) -> Sequence[Any]:
    return [t for t in fig.data if t.type in _KINDS and getattr(t, "visible", True) is not False]


def figure_table(fig: go.Figure, *, max_points: int = MAX_POINTS, top_cells: int = TOP_CELLS) -> pd.DataFrame:
    """The figure's data as a table, one row per bar, point or (for heatmaps) one of the largest cells.

    Columns: ``series`` (the trace's name), ``x``, ``y`` (named after the axis titles when every trace shares
    the same axes), and, when any row has one, ``value`` (a heatmap cell) and ``text`` (the label drawn on it).
    A trace longer than ``max_points`` is sampled evenly; a heatmap gives its ``top_cells`` largest cells.
    """
    traces = _traces(fig)
    rows: list[dict] = []
    for number, trace in enumerate(traces, start=1):
        if trace.type == "heatmap":
            rows += _cells(fig, trace, number, top_cells)
        else:
            rows += _points(fig, trace, number, max_points)
    table = pd.DataFrame(rows, columns=["series", "x", "y", "value", "text"])
    table = table.dropna(axis=1, how="all")  # no heatmap: no value column; no labels on the bars: no text
    if len(traces) == 1 and table["series"].eq("series 1").all():
        table = table.drop(columns="series")  # one unnamed series: the column would say nothing
    refs = {(t.xaxis, t.yaxis) for t in traces}
    if len(refs) == 1:
        x_ref, y_ref = refs.pop()
        names = {"x": _axis_title(fig, x_ref, "x"), "y": _axis_title(fig, y_ref, "y")}
        table = table.rename(columns={k: f"{k}: {v}" for k, v in names.items() if v})
    if "value" in table and (scale := _colour_title(fig, traces)):
        table = table.rename(columns={"value": f"value: {scale}"})
    return table


def _colour_title(fig: go.Figure, traces: Sequence[Any]) -> str:
    """The title of the colour bar that explains the ``value`` column ("weight", a metric's name), or ""."""
    bars = [fig.layout.coloraxis.colorbar] if fig.layout.coloraxis is not None else []
    for trace in traces:
        bars.append(getattr(trace, "colorbar", None))
        marker = getattr(trace, "marker", None)
        bars.append(getattr(marker, "colorbar", None) if marker is not None else None)
    titles = [plain(bar.title.text) for bar in bars if bar is not None and bar.title is not None]
    return next((t for t in titles if t), "")


def figure_summary(fig: go.Figure, *, max_points: int = MAX_POINTS, top_cells: int = TOP_CELLS) -> str:
    """One plain sentence naming the chart and what its table holds, e.g. "Next-token probabilities: 2 series of
    11 bars." A heatmap or a long trace says that the table shows only part of it."""
    traces = _traces(fig)
    title = figure_title(fig) or "Chart"
    if not traces:
        return f"{title}: no data."
    parts = []
    for number, trace in enumerate(traces, start=1):
        name = _series_name(fig, trace, number)
        name = "" if name == "series 1" and len(traces) == 1 else f"{name}: "
        if trace.type == "heatmap":
            z = np.asarray(trace.z, dtype=np.float64)
            cells = int(np.isfinite(z).sum())
            shape = "×".join(str(n) for n in z.shape)
            shown = f"the {min(top_cells, cells)} largest of" if cells > top_cells else "all"
            parts.append(f"{name}a {shape} heatmap, {shown} {cells:,} cells listed")
        else:
            n = max(len(trace.x) if trace.x is not None else 0, len(trace.y) if trace.y is not None else 0)
            listed = f" ({len(_evenly(n, max_points))} evenly spaced listed)" if n > max_points else ""
            kind = _KINDS[trace.type] if n != 1 else _KINDS[trace.type][:-1]
            parts.append(f"{name}{n:,} {kind}{listed}")
    return f"{title}. " + "; ".join(parts) + "."

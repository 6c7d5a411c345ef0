"""The house figure style, in one place: font, colours, the title/margin/legend layout, and text made safe for plotly.

Plotly renders a subset of HTML inside titles, labels and hover text (``<b>``, ``<br>``, ``<a href>``): every piece of
user or model text goes through ``plotly_text`` before it reaches a figure.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

FONT = dict(family="sans-serif", size=14)
MODEL_COLOUR = "#9aa5c4"  # the model's own probabilities (full-vocabulary softmax)
SAMPLING_COLOUR = "#3b5bdb"  # after temperature / top-k / top-p: what the sampler draws from
CUT_COLOUR = "#e9ecef"  # tokens a filter removed
TOP_LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)


def plotly_text(text: Any) -> str:
    """``text`` escaped for plotly labels and titles, so token text stays text."""
    return html.escape(str(text), quote=False)


def layout(
    title: str,
    height: int,
    *,
    margin: tuple[int, int, int, int] = (10, 30, 60, 40),
    legend: bool = True,
    plot_bgcolor: str = "white",
    **extra: Any,
) -> dict:
    """The house layout as a plain dict (for figures built without plotly's validation).

    Args:
        title: shown at the top left, escaped.
        height: pixels.
        margin: (left, right, top, bottom) pixels.
        legend: a horizontal legend above the plot, right-aligned.
        plot_bgcolor: the plot area's colour (the attention maps use grey for masked cells).
        extra: any other layout properties.
    """
    left, right, top, bottom = margin
    spec = dict(
        title=dict(text=plotly_text(title), x=0, font=dict(size=16)),
        height=height,
        margin=dict(l=left, r=right, t=top, b=bottom),
        font=FONT,
        plot_bgcolor=plot_bgcolor,
    )
    if legend:
        spec["legend"] = TOP_LEGEND
    spec.update(extra)
    return spec


def styled(fig: go.Figure, title: str, height: int, **kwargs: Any) -> go.Figure:
    """Apply ``layout(title, height, **kwargs)`` to ``fig`` and return it."""
    fig.update_layout(**layout(title, height, **kwargs))
    return fig


def figure(data: list[dict], spec: dict) -> go.Figure:
    """A figure from plain dicts, without plotly's per-property validation.

    Validation (and ``make_subplots``) cost several times the rest of a redraw (bench_attention, bench_foundation);
    these dicts are what a validated figure's ``to_dict()`` would hold, so plotly.js draws the same figure.
    """
    return go.Figure(data=data, layout=spec, _validate=False)


def subplot_grid(
    rows: int,
    cols: int,
    *,
    horizontal_spacing: float | None = None,
    vertical_spacing: float | None = None,
    titles: list[str] | tuple[str, ...] = (),
    share_y: bool = False,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
) -> tuple[dict, list[tuple[str, str]]]:
    """The axes of a ``make_subplots(rows, cols)`` grid as plain layout dicts (same domains, same title font).

    Args:
        horizontal_spacing, vertical_spacing: fractions of the figure between cells (make_subplots' defaults:
            0.2 / cols and 0.3 / rows).
        titles: one per cell, row by row, drawn centred above the cell (escape token text first).
        share_y: every y axis matches the first one and only the first shows tick labels.
        xaxis, yaxis: properties given to every cell's axes.
    Returns:
        (layout entries: ``xaxis``, ``yaxis2``…, ``annotations``; per cell, row by row, its ``(xref, yref)``).
    """
    h = 0.2 / cols if horizontal_spacing is None else horizontal_spacing
    v = 0.3 / rows if vertical_spacing is None else vertical_spacing
    width, height = (1 - (cols - 1) * h) / cols, (1 - (rows - 1) * v) / rows
    spec: dict = {}
    cells, annotations = [], []
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            suffix = "" if n == 1 else str(n)
            x0, top = c * (width + h), 1 - r * (height + v)
            spec[f"xaxis{suffix}"] = dict(xaxis or {}, anchor=f"y{suffix}", domain=[x0, min(1.0, x0 + width)])
            y = dict(yaxis or {}, anchor=f"x{suffix}", domain=[max(0.0, top - height), top])
            if share_y and n > 1:
                y.update(matches="y", showticklabels=False)
            spec[f"yaxis{suffix}"] = y
            cells.append((f"x{suffix}", f"y{suffix}"))
            if n <= len(titles):
                annotations.append(
                    dict(
                        text=titles[n - 1],
                        x=x0 + width / 2,
                        y=top,
                        xref="paper",
                        yref="paper",
                        xanchor="center",
                        yanchor="bottom",
                        showarrow=False,
                        font=dict(size=16),
                    )
                )
    spec["annotations"] = annotations
    return spec, cells


def secondary_y_axes(xaxis: dict, yaxis: dict, yaxis2: dict) -> dict:
    """The axes of ``make_subplots(specs=[[{"secondary_y": True}]])`` as plain layout dicts: a second y axis on
    the right, overlaying the first (traces on it say ``yaxis="y2"``)."""
    return dict(
        xaxis=dict(xaxis, anchor="y", domain=[0.0, 0.94]),
        yaxis=dict(yaxis, anchor="x", domain=[0.0, 1.0]),
        yaxis2=dict(yaxis2, anchor="x", overlaying="y", side="right"),
    )

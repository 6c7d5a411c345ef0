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

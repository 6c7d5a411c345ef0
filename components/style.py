"""The house figure style, in one place: font, colours, the title/margin/legend layout, and text made safe for plotly.

Plotly renders a subset of HTML inside titles, labels and hover text (``<b>``, ``<br>``, ``<a href>``): every piece of
user or model text goes through ``plotly_text`` before it reaches a figure.
"""

from __future__ import annotations

import copy
import html
import math
import re
import textwrap
from typing import Any

import plotly.graph_objects as go

FONT = dict(family="sans-serif", size=14)
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


class FrozenFigure(go.Figure):
    """A finished figure that is never changed again: ``to_dict()`` is computed on its first call and the same dict
    is returned to every later one.

    Streamlit calls ``to_dict()`` on every redraw (a deep copy of the data and the template, about as long as
    building the figure); one frozen figure drawn by a whole class (``ui.charts.shared_figure``) is copied once.
    Nothing may change the figure or the dict it returns (``scaled`` copies the dict before it enlarges fonts).
    """

    def to_dict(self) -> dict:
        spec = self.__dict__.get("_frozen_spec")
        if spec is None:
            spec = super().to_dict()
            self.__dict__["_frozen_spec"] = spec
        return spec


def frozen(fig: go.Figure) -> FrozenFigure:
    """A figure just built, as a ``FrozenFigure``: the same object, its class changed (no copy; ``fig`` is a plain
    ``go.Figure`` no one else holds yet, and a ``FrozenFigure`` adds no state of its own until ``to_dict``)."""
    if type(fig) is not go.Figure and not isinstance(fig, FrozenFigure):
        raise TypeError(f"only a plain go.Figure can be frozen, not a {type(fig).__name__}")
    fig.__class__ = FrozenFigure
    return fig


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


# Presenter mode (a projector): every font a chart draws at least PRESENTER_MIN_PX, the house sizes times
# PRESENTER_SCALE. Streamlit's chart theme sets tick labels, axis titles, legend and hover text to 12-14 px on
# its own, so each of those gets an explicit size; layout.font alone would not reach them.
PRESENTER_SCALE = 1.45
PRESENTER_MIN_PX = 20
MAX_SCALED_HEIGHT = 1100
TITLE_WRAP_CHARS = 30  # a presenter-size title in a two-fifths column holds about this many characters a line
LOG_MINOR_RATIO = 0.75  # plotly.js draws a log axis's labels between powers of ten at this fraction of tickfont
_AXIS = re.compile(r"^[xy]axis\d*$")
_CARTESIAN = {"bar", "scatter", "scattergl", "heatmap", "histogram", "box", "violin", "contour"}
_TEXT_FONTS = ("textfont", "insidetextfont", "outsidetextfont")


def _font(container: dict, key: str, px: int) -> None:
    """Set ``container[key]["size"] = px``, making the font dict when it is missing."""
    font = container.get(key)
    container[key] = dict(font, size=px) if isinstance(font, dict) else dict(size=px)


def _title(container: dict, px: int) -> None:
    """Give ``container``'s title (a string or a dict) a font of ``px`` pixels."""
    title = container.get("title")
    if isinstance(title, str):
        title = dict(text=title)
    if isinstance(title, dict):
        container["title"] = dict(title)
        _font(container["title"], "font", px)


def _colorbar(container: dict, px: int) -> None:
    """Tick labels and title of ``container``'s colour bar, when it has one."""
    bar = container.get("colorbar")
    if isinstance(bar, dict):
        bar = container["colorbar"] = dict(bar)
        _font(bar, "tickfont", px)
        _title(bar, px)
        if isinstance(bar.get("title"), dict):
            bar["title"].setdefault("side", "right")  # a large title on top would cover the top tick label


def scaled(
    fig: go.Figure,
    factor: float = PRESENTER_SCALE,
    *,
    minimum: int = PRESENTER_MIN_PX,
    max_height: int = MAX_SCALED_HEIGHT,
) -> go.Figure:
    """A copy of ``fig`` for a projector: every font it draws ``factor`` times larger and at least ``minimum`` px.

    Covers the global font, the title, every cartesian axis's tick labels and title (also the axes that traces
    use without the layout naming them), legend, hover labels, annotations (subplot titles too), colour bars,
    and each trace's text on bars and cells. The height and margins grow by ``factor`` too (up to
    ``max_height`` px) so the larger labels keep their room. ``fig`` itself is not changed.

    Args:
        fig: any plotly figure (validated or built with ``figure``).
        factor: how much larger than the house sizes (14 px text, 16 px titles).
        minimum: the smallest font size in the copy, in px.
    Returns:
        a new figure built without validation (the copy's data arrays are those ``fig.to_dict()`` gives).
    """
    spec = copy.deepcopy(fig.to_dict())  # enlarged in place below: never the dict a FrozenFigure keeps
    data, lay = spec.get("data", []), spec.get("layout", {})
    base = (lay.get("font") or {}).get("size") or FONT["size"]

    def px(size: float | None, default: float = base) -> int:
        return max(minimum, round((size or default) * factor))

    _font(lay, "font", px(base))
    title = lay.get("title")
    title_size = ((title.get("font") or {}).get("size") if isinstance(title, dict) else None) or 16
    _title(lay, px(title_size))
    title_lines = _wrap_title(lay)
    axes = {name for name in lay if _AXIS.match(name)}
    for trace in data:
        if trace.get("type", "scatter") in _CARTESIAN:
            axes |= {f"xaxis{trace.get('xaxis', 'x')[1:]}", f"yaxis{trace.get('yaxis', 'y')[1:]}"}
    for name in axes:
        axis = lay[name] = dict(lay.get(name) or {})
        ticks = px((axis.get("tickfont") or {}).get("size"))
        if axis.get("type") == "log" and not isinstance(axis.get("dtick"), (int, float)):
            ticks = max(ticks, math.ceil(minimum / LOG_MINOR_RATIO))  # its 2, 5… labels are drawn smaller
        _font(axis, "tickfont", ticks)
        _title(axis, px(None))
        axis.setdefault("automargin", True)
    legend = lay["legend"] = dict(lay.get("legend") or {})
    _font(legend, "font", px((legend.get("font") or {}).get("size")))
    _title(legend, px(None))
    hover = lay["hoverlabel"] = dict(lay.get("hoverlabel") or {})
    _font(hover, "font", px(None))
    lay["annotations"] = [dict(a) for a in lay.get("annotations", [])]
    for note in lay["annotations"]:
        _font(note, "font", px((note.get("font") or {}).get("size")))
    for name in [n for n in lay if n.startswith("coloraxis")]:
        lay[name] = dict(lay[name])
        _colorbar(lay[name], px(None))
    for trace in data:
        for key in _TEXT_FONTS:
            if key == "textfont" or key in trace:
                _font(trace, key, px((trace.get(key) or {}).get("size")))
        _colorbar(trace, px(None))
        if isinstance(trace.get("marker"), dict):
            trace["marker"] = dict(trace["marker"])
            _colorbar(trace["marker"], px(None))
        if isinstance(trace.get("hoverlabel"), dict):
            _font(trace["hoverlabel"], "font", px(None))
    lay["uniformtext"] = dict(lay.get("uniformtext") or {}, minsize=minimum, mode="show")  # no text shrunk to fit
    if isinstance(lay.get("height"), (int, float)):
        lay["height"] = int(min(max(lay["height"], max_height), lay["height"] * factor))
    if isinstance(lay.get("margin"), dict):
        lay["margin"] = {k: round(v * factor) if isinstance(v, (int, float)) else v for k, v in lay["margin"].items()}
    _room_above(lay, data, px(title_size), legend["font"]["size"], title_lines)
    return figure(data, lay)


def _wrap_title(lay: dict, width: int = TITLE_WRAP_CHARS) -> int:
    """Break a long title onto lines of about ``width`` characters (plotly never wraps one: in a narrow column
    it runs off the figure). Breaks only at spaces, so an escaped entity stays whole. Returns the line count."""
    title = lay.get("title")
    text = title.get("text") if isinstance(title, dict) else None
    if not isinstance(text, str) or "<br>" in text or len(text) <= width:
        return 1
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    title["text"] = "<br>".join(lines)
    return len(lines)


def _room_above(lay: dict, data: list[dict], title_px: int, legend_px: int, title_lines: int = 1) -> None:
    """Keep the title and a legend above the plot apart: large legend entries wrap onto more rows in a narrow
    column and would grow up into the title, and so would a title wrapped onto several lines. The top margin
    gets room for the title's lines and one row per legend entry, the title sits at the top of the figure, and
    the legend starts at the left, under it."""
    legend = lay["legend"]
    entries = sum(1 for t in data if t.get("showlegend", True) is not False)
    on_top = legend.get("orientation") == "h" and legend.get("yanchor") == "bottom" and (legend.get("y") or 0) >= 1
    rows = entries if lay.get("showlegend") is not False and entries >= 2 and on_top else 0
    if not rows and title_lines == 1:
        return
    margin = lay["margin"] = dict(lay.get("margin") or {})
    pad = 8 + round(title_px * 0.7 * (title_lines - 1))  # plotly.js lets a multi-line title rise above its anchor
    margin["t"] = max(
        margin.get("t") or 0, pad + round(title_px * (1.35 * title_lines + 0.65) + rows * legend_px * 1.4)
    )
    if rows:
        legend.update(x=0, xanchor="left")
    if isinstance(lay.get("title"), dict):
        lay["title"].update(yref="container", y=1, yanchor="top", pad=dict(t=pad))

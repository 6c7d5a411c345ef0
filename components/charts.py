"""Plotly figure builders. Each takes plain data and returns a go.Figure; pages only display them."""
from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MODEL_COLOUR = "#9aa5c4"
SAMPLING_COLOUR = "#3b5bdb"
CUT_COLOUR = "#e9ecef"
FONT = dict(family="sans-serif", size=14)


def plotly_text(text: str) -> str:
    """Plotly renders a subset of HTML in labels (<b>, <a href>, ...): escape token text so it stays text."""
    return html.escape(str(text), quote=False)


def _label(rank: int, token: str) -> str:
    return plotly_text(f"{int(rank)}. {token}" if rank else token)


def _layout_dict(title: str, height: int) -> dict:
    """The house layout: title at the left, legend on top, white plot area."""
    return dict(
        title=dict(text=plotly_text(title), x=0, font=dict(size=16)),
        height=height,
        margin=dict(l=10, r=30, t=60, b=40),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        plot_bgcolor="white",
    )


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(**_layout_dict(title, height))
    return fig


def probability_bars(table: pd.DataFrame, *, title: str = "Next-token probabilities", show_sampling: bool = True) -> go.Figure:
    """Horizontal bars of the candidates in a ``candidate_table``: most likely at the top.

    Shows the model's probability (full-vocabulary softmax) and, when ``show_sampling``, the probability
    after temperature/top-k/top-p beside it; cut tokens are greyed and marked "cut".

    Built from plain dicts without plotly's per-property validation: this figure is redrawn on every move of a
    sampling control, and validation cost ~10x the rest of that redraw (benchmarks/bench_foundation.py).
    """
    column = {name: table[name].tolist() for name in  # plain Python values, read once per column
              ("rank", "token", "token_id", "logit", "model_probability", "sampling_probability", "kept")}
    labels = [_label(rank, token) for rank, token in zip(column["rank"], column["token"])]
    model_p, samp = column["model_probability"], column["sampling_probability"]
    kept = column["kept"]
    hover = [
        f"token id {t}<br>logit {lg:.3f}" if t >= 0 else "every token not listed above"
        for t, lg in zip(column["token_id"], column["logit"])
    ]
    bars = [dict(
        type="bar", y=labels, x=model_p, orientation="h", name="model probability", marker=dict(color=MODEL_COLOUR),
        text=[f"{p:.1%}" for p in model_p], textposition="outside", cliponaxis=False, customdata=hover,
        hovertemplate="%{y}<br>model probability %{x:.4f}<br>%{customdata}<extra></extra>",
    )]
    if show_sampling:
        bars.append(dict(
            type="bar", y=labels, x=samp, orientation="h", name="sampling probability (after filters)",
            marker=dict(color=[SAMPLING_COLOUR if k else CUT_COLOUR for k in kept]),
            text=[f"{p:.1%}" if k else "cut" for p, k in zip(samp, kept)], textposition="outside", cliponaxis=False,
            hovertemplate="%{y}<br>sampling probability %{x:.4f}<extra></extra>",
        ))
    top = max(model_p + samp, default=1.0)
    height = max(260, 38 * len(table) * (2 if show_sampling else 1) // 1.4 + 120)
    layout = dict(
        xaxis=dict(range=[0, min(1.0, top * 1.25) + 0.02], tickformat=".0%", title=dict(text="probability"),
                   gridcolor="#eee"),
        yaxis=dict(autorange="reversed", automargin=True), barmode="group", bargap=0.25, **_layout_dict(title, height))
    layout["margin"] = dict(layout["margin"], r=70)  # room for a "100.0%" label past the end of the axis
    return go.Figure(data=bars, layout=layout, _validate=False)


def temperature_panels(tokens: Sequence[str], probs: np.ndarray, temperatures: Sequence[float], other: np.ndarray | None = None) -> go.Figure:
    """The same tokens' probabilities at several temperatures, one panel per temperature.

    Args:
        tokens: N token labels.
        probs: (K, N) probabilities, one row per temperature.
        temperatures: K temperatures.
        other: (K,) probability of every token not listed, or None when the tokens are the whole vocabulary.
    """
    labels = [plotly_text(t) for t in tokens] + (["all other tokens"] if other is not None else [])
    fig = make_subplots(rows=1, cols=len(temperatures), shared_yaxes=True,
                        subplot_titles=[("T = 0 (greedy)" if t == 0 else f"T = {t:g}") for t in temperatures])
    for k, t in enumerate(temperatures):
        row = [float(p) for p in probs[k]] + ([float(other[k])] if other is not None else [])
        fig.add_bar(
            y=labels, x=row, orientation="h", marker_color=SAMPLING_COLOUR, showlegend=False,
            text=[f"{p:.3f}" for p in row], textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{x:.4f}<extra>T = " + f"{t:g}" + "</extra>", row=1, col=k + 1,
        )
        fig.update_xaxes(range=[0, 1.25], tickformat=".0%", row=1, col=k + 1, gridcolor="#eee")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(fig, "Same logits, different temperatures", height=max(280, 34 * len(labels) + 140))


def entropy_curve(temperatures: Sequence[float], entropy: Sequence[float], current: float, current_entropy: float, max_bits: float | None = None) -> go.Figure:
    """Entropy (bits) against temperature, with the current temperature marked."""
    fig = go.Figure()
    fig.add_scatter(x=[float(t) for t in temperatures], y=[float(e) for e in entropy], mode="lines", name="entropy", line=dict(color=SAMPLING_COLOUR, width=3),
                    hovertemplate="T = %{x:.2f}<br>%{y:.3f} bits<extra></extra>")
    fig.add_scatter(x=[current], y=[current_entropy], mode="markers+text", name="current temperature",
                    marker=dict(size=14, color="#e8590c"), text=[f"T = {current:g}: {current_entropy:.2f} bits"],
                    textposition="top center")
    if max_bits is not None:
        fig.add_hline(y=max_bits, line_dash="dot", line_color="#868e96",
                      annotation_text=f"uniform over the vocabulary: {max_bits:.2f} bits", annotation_position="bottom right")
    fig.update_xaxes(title="temperature T", gridcolor="#eee")
    fig.update_yaxes(title="entropy (bits)", rangemode="tozero", gridcolor="#eee")
    return _layout(fig, "Entropy as temperature moves", height=360)

"""Figures for the temperature page: one distribution at several temperatures, and entropy against temperature."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.style import SAMPLING_COLOUR, plotly_text, styled


def temperature_panels(
    tokens: Sequence[str], probs: np.ndarray, temperatures: Sequence[float], other: np.ndarray | None = None
) -> go.Figure:
    """The same tokens' probabilities at several temperatures, one panel per temperature.

    Args:
        tokens: N token labels.
        probs: (K, N) probabilities, one row per temperature.
        temperatures: K temperatures.
        other: (K,) probability of every token not listed, or None when the tokens are the whole vocabulary.
    """
    labels = [plotly_text(t) for t in tokens] + (["all other tokens"] if other is not None else [])
    fig = make_subplots(
        rows=1,
        cols=len(temperatures),
        shared_yaxes=True,
        subplot_titles=[("T = 0 (greedy)" if t == 0 else f"T = {t:g}") for t in temperatures],
    )
    for k, t in enumerate(temperatures):
        row = [float(p) for p in probs[k]] + ([float(other[k])] if other is not None else [])
        fig.add_bar(
            y=labels,
            x=row,
            orientation="h",
            marker_color=SAMPLING_COLOUR,
            showlegend=False,
            text=[f"{p:.3f}" for p in row],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.4f}<extra>T = " + f"{t:g}" + "</extra>",
            row=1,
            col=k + 1,
        )
        fig.update_xaxes(range=[0, 1.25], tickformat=".0%", row=1, col=k + 1, gridcolor="#eee")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return styled(fig, "Same logits, different temperatures", height=max(280, 34 * len(labels) + 140))


def entropy_curve(
    temperatures: Sequence[float],
    entropy: Sequence[float],
    current: float,
    current_entropy: float,
    max_bits: float | None = None,
) -> go.Figure:
    """Entropy (bits) against temperature, with the current temperature marked."""
    fig = go.Figure()
    fig.add_scatter(
        x=[float(t) for t in temperatures],
        y=[float(e) for e in entropy],
        mode="lines",
        name="entropy",
        line=dict(color=SAMPLING_COLOUR, width=3),
        hovertemplate="T = %{x:.2f}<br>%{y:.3f} bits<extra></extra>",
    )
    fig.add_scatter(
        x=[current],
        y=[current_entropy],
        mode="markers+text",
        name="current temperature",
        marker=dict(size=14, color="#e8590c"),
        text=[f"T = {current:g}: {current_entropy:.2f} bits"],
        textposition="top center",
    )
    if max_bits is not None:
        fig.add_hline(
            y=max_bits,
            line_dash="dot",
            line_color="#868e96",
            annotation_text=f"uniform over the vocabulary: {max_bits:.2f} bits",
            annotation_position="bottom right",
        )
    fig.update_xaxes(title="temperature T", gridcolor="#eee")
    fig.update_yaxes(title="entropy (bits)", rangemode="tozero", gridcolor="#eee")
    return styled(fig, "Entropy as temperature moves", height=360)

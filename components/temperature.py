"""Figures and the table for the temperature page: one distribution at several temperatures, and entropy against
temperature."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.palettes import ACCENT, GRID, MUTED, SAMPLING_COLOUR
from components.style import figure, layout, plotly_text, subplot_grid


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
    axes, cells = subplot_grid(
        1,
        len(temperatures),
        titles=[("T = 0 (greedy)" if t == 0 else f"T = {t:g}") for t in temperatures],
        share_y=True,
        xaxis=dict(range=[0, 1.25], tickformat=".0%", gridcolor=GRID),
        yaxis=dict(autorange="reversed", automargin=True),
    )
    data = []
    for k, t in enumerate(temperatures):
        row = [float(p) for p in probs[k]] + ([float(other[k])] if other is not None else [])  # (N,) or (N + 1,)
        data.append(
            dict(
                type="bar",
                y=labels,
                x=row,
                orientation="h",
                marker=dict(color=SAMPLING_COLOUR),
                showlegend=False,
                text=[f"{p:.3f}" for p in row],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.4f}<extra>T = " + f"{t:g}" + "</extra>",
                xaxis=cells[k][0],
                yaxis=cells[k][1],
            )
        )
    return figure(data, layout("Same logits, different temperatures", max(280, 34 * len(labels) + 140), **axes))


HEADROOM = 1.18  # the y axis runs to this times the highest value drawn
HALO = "0 0 3px white, 0 0 3px white, 0 0 2px white"  # keeps the marker's label legible where it crosses the line


def _label_position(temperatures: Sequence[float], current: float) -> str:
    """Above the marker, on the side with room: a label near the left edge runs right (centred, it was cut off at
    T = 0.5); elsewhere it runs left, into the free corner above a rising curve."""
    low, high = min(min(temperatures), current), max(max(temperatures), current)
    where = (current - low) / (high - low) if high > low else 0.5  # 0 at the left edge, 1 at the right
    return "top right" if where < 0.4 else "top left"


def entropy_curve(
    temperatures: Sequence[float],
    entropy: Sequence[float],
    current: float,
    current_entropy: float,
    max_bits: float | None = None,
) -> go.Figure:
    """Entropy (bits) against temperature, with the current temperature marked (and the uniform limit dotted)."""
    data = [
        dict(
            type="scatter",
            x=[float(t) for t in temperatures],
            y=[float(e) for e in entropy],
            mode="lines",
            name="entropy",
            line=dict(color=SAMPLING_COLOUR, width=3),
            hovertemplate="T = %{x:.2f}<br>%{y:.3f} bits<extra></extra>",
        ),
        dict(
            type="scatter",
            x=[float(current)],
            y=[float(current_entropy)],
            mode="markers+text",
            name="current temperature",
            marker=dict(size=14, color=ACCENT),
            text=[f"T = {current:g}: {current_entropy:.2f} bits"],
            textposition=_label_position(temperatures, current),
            textfont=dict(shadow=HALO),
            cliponaxis=False,  # a label near an edge may reach past the plot area (it was cut at T = 0.5)
        ),
    ]
    top = max([float(current_entropy), *(float(e) for e in entropy), max_bits or 0.0, 1e-3])
    spec = layout(
        "Entropy as temperature moves",
        360,
        xaxis=dict(title=dict(text="temperature T"), gridcolor=GRID),
        # Headroom above the curve and the uniform line for the marker's label, inside the plot area.
        yaxis=dict(title=dict(text="entropy (bits)"), range=[0, HEADROOM * top], gridcolor=GRID),
    )
    if max_bits is not None:  # what fig.add_hline(..., annotation_position="bottom left") adds
        spec["shapes"] = [
            dict(
                type="line",
                x0=0,
                x1=1,
                xref="x domain",
                y0=max_bits,
                y1=max_bits,
                yref="y",
                line=dict(color=MUTED, dash="dot"),
            )
        ]
        spec["annotations"] = [
            dict(
                text=f"uniform limit: {max_bits:.2f} bits",  # short: in presenter type it must fit a two-fifths column
                x=0,  # at the left, where the curve is low: the current temperature's label is often at the right
                xanchor="left",
                xref="x domain",
                y=max_bits,
                yanchor="top",
                yref="y",
                showarrow=False,
            )
        ]
    return figure(data, spec)


def temperature_table(tokens: Sequence[str], probs: np.ndarray, temperatures: Sequence[float]) -> pd.DataFrame:
    """The side-by-side panels as a table: one row per token, one probability column per temperature.

    Args:
        tokens: N token labels.
        probs: (K, N) probabilities, one row per temperature.
        temperatures: K temperatures.

    Returns:
        A DataFrame with a "token" column, then one column "T = t" per temperature.
    """
    frame = pd.DataFrame(probs.T, columns=[f"T = {t:g}" for t in temperatures])
    frame.insert(0, "token", tokens)
    return frame

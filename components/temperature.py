"""The figure and the table for the temperature page: one distribution at several temperatures (the entropy curve is
drawn in the browser by components/client_sampler.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.palettes import GRID, SAMPLING_COLOUR
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

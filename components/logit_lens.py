"""Figures and tables for the logit lens: what each layer would predict, and the final token's rank layer by layer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.attention import MASKED, SCALE
from components.palettes import GRID, SAMPLING_COLOUR
from components.style import plotly_text, styled


def lens_heatmap(
    final_prob: np.ndarray,
    stage_names: Sequence[str],
    position_tokens: Sequence[str],
    positions: Sequence[int],
    top_labels: Sequence[Sequence[str]],
    top_probs: np.ndarray,
    final_labels: Sequence[str],
) -> go.Figure:
    """Stages (rows, embeddings at the bottom) x positions, coloured by the probability of the final prediction.

    Args:
        final_prob: (S, P) probability each stage gives to the model's final prediction at each position.
        position_tokens: the P tokens read at those positions; positions: their indices in the prompt.
        top_labels: (S, P) each stage's own top token; top_probs: (S, P) its probability.
        final_labels: (P,) the model's final prediction at each position.
    """
    S, P = final_prob.shape
    x = [f"{p} {plotly_text(t)}" for p, t in zip(positions, position_tokens)]
    top_labels = [[plotly_text(t) for t in row] for row in top_labels]
    custom = [
        [[top_labels[s][p], float(top_probs[s, p]), plotly_text(final_labels[p])] for p in range(P)] for s in range(S)
    ]
    show_text = P <= 16
    fig = go.Figure(
        go.Heatmap(
            z=[[float(v) for v in row] for row in final_prob],
            x=x,
            y=list(stage_names),
            customdata=custom,
            colorscale=SCALE,
            zmin=0.0,
            zmax=1.0,
            colorbar=dict(title="p(final)", thickness=12),
            text=[[top_labels[s][p] for p in range(P)] for s in range(S)] if show_text else None,
            texttemplate="%{text}" if show_text else None,
            textfont=dict(size=10),
            hovertemplate=(
                "%{y} at position %{x}<br>its top token: %{customdata[0]} (%{customdata[1]:.1%})"
                "<br>final prediction %{customdata[2]}: %{z:.1%}<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title="position (the token just read)", type="category", tickangle=-60, automargin=True)
    fig.update_yaxes(type="category", automargin=True)
    return styled(
        fig,
        "Probability of the final prediction, layer by layer",
        max(420, 18 * S + 200),
        margin=(10, 20, 60, 10),
        legend=False,
        plot_bgcolor=MASKED,
    )


def rank_chart(ranks: Sequence[int], probs: Sequence[float], stage_names: Sequence[str], token: str) -> go.Figure:
    """Rank (log scale, 1 at the top) of the finally chosen token at every stage."""
    fig = go.Figure(
        go.Scatter(
            x=list(stage_names),
            y=[int(r) for r in ranks],
            mode="lines+markers",
            line=dict(color=SAMPLING_COLOUR, width=3),
            customdata=[float(p) for p in probs],
            hovertemplate="%{x}<br>rank %{y:,}<br>probability %{customdata:.2%}<extra></extra>",
        )
    )
    fig.update_yaxes(
        type="log", autorange="reversed", title="rank (1 = top token)", gridcolor=GRID, dtick=1, tickformat=",d"
    )
    fig.update_xaxes(type="category", tickangle=-60, automargin=True)
    return styled(
        fig, f"Rank of the final prediction {token} at each layer", 380, margin=(10, 20, 60, 10), legend=False
    )


def lens_table(stage_names: Sequence[str], top_labels: Sequence[Sequence[str]], top_probs: np.ndarray) -> pd.DataFrame:
    """One row per stage: its top tokens with probabilities, as text ('␣Paris 77.3%')."""
    n = top_probs.shape[-1]
    frame = {"layer": list(stage_names)}
    for i in range(n):
        frame[f"#{i + 1}"] = [f"{top_labels[s][i]}  {float(top_probs[s, i]):.1%}" for s in range(len(stage_names))]
    return pd.DataFrame(frame)

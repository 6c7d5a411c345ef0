"""Builders for the training page's live view: the loss curve, the samples seen during training, the loss note."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.palettes import BATCH_LOSS, GRID, HELDOUT, MUTED, TRAIN
from components.style import styled

BATCH_COLOUR = BATCH_LOSS
TRAIN_COLOUR = TRAIN
HELDOUT_COLOUR = HELDOUT
START_COLOUR = MUTED


def loss_curve(
    losses: Sequence[float], evals: Sequence[tuple[int, float, float | None]], vocab_size: int, total_steps: int
) -> go.Figure:
    """Loss against step: every batch's loss, the training-text and held-out loss at each evaluation,
    and the ln(vocabulary size) line where an untrained model starts (seed 003).

    Args:
        losses: training loss of each step's batch (step i + 1 has losses[i]), nats per token.
        evals: (step, training-text loss, held-out loss or None).
        vocab_size: V; ln V is the loss of a uniform guess over the vocabulary.
        total_steps: the planned number of steps (fixes the x axis so the curve grows into it).
    """
    start = math.log(vocab_size)
    fig = go.Figure()
    fig.add_scatter(
        x=list(range(1, len(losses) + 1)),
        y=[float(v) for v in losses],
        mode="lines",
        name="batch loss",
        line=dict(color=BATCH_COLOUR, width=1),
        hovertemplate="step %{x}<br>batch loss %{y:.3f}<extra></extra>",
    )
    fig.add_scatter(
        x=[int(e[0]) for e in evals],
        y=[float(e[1]) for e in evals],
        mode="lines+markers",
        name="training text",
        line=dict(color=TRAIN_COLOUR, width=3),
        hovertemplate="step %{x}<br>training-text loss %{y:.3f}<extra></extra>",
    )
    heldout = [(int(e[0]), float(e[2])) for e in evals if e[2] is not None]
    if heldout:
        fig.add_scatter(
            x=[h[0] for h in heldout],
            y=[h[1] for h in heldout],
            mode="lines+markers",
            name="held-out text",
            line=dict(color=HELDOUT_COLOUR, width=3, dash="dot"),
            hovertemplate="step %{x}<br>held-out loss %{y:.3f}<extra></extra>",
        )
    fig.add_hline(
        y=start,
        line=dict(color=START_COLOUR, dash="dash"),
        annotation_text=f"ln({vocab_size}) = {start:.2f}: a uniform guess",
        annotation_position="top right",
    )
    top = max([start] + [float(v) for v in losses[:50]] + [float(e[1]) for e in evals]) * 1.12
    fig.update_xaxes(title="step", range=[0, max(1, total_steps) * 1.02], gridcolor=GRID)
    fig.update_yaxes(title="loss (nats per token)", range=[0, top], gridcolor=GRID)
    return styled(fig, "Loss while training", 380)


def samples_frame(samples: Sequence[tuple[int, str, str, str]]) -> pd.DataFrame:
    """The samples shown during training, newest first, with line breaks shown as ↵."""

    def show(text: str) -> str:
        return text.replace("\n", " ↵ ")

    rows = [
        {"step": s[0], "prompt": show(s[1]), "greedy": show(s[2]), "sampled (temperature 1)": show(s[3])}
        for s in reversed(list(samples))
    ]
    return pd.DataFrame(rows, columns=["step", "prompt", "greedy", "sampled (temperature 1)"])


def loss_note(vocab_size: int) -> str:
    """How to read the loss curve (seed 003: training starts near ln V)."""
    return (
        f"Dashed line: ln({vocab_size}) = {math.log(vocab_size):.2f} nats, the loss of a uniform guess, where an "
        "untrained model starts. A loss of 1.0 means the true next token gets e⁻¹ ≈ 37% probability on average. "
        "Greedy samples take the top token each time; sampled ones draw at random."
    )

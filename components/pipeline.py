"""Figures and tables of the pipeline page: a vector as a strip, what each layer adds, the sampler's filters, the
KV cache one token longer. Built from core.pipeline's plain numbers; every token label is escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.kv_cache import human_bytes
from components.palettes import ATTENTION_PART, CUT_COLOUR, GRID, GUIDE, MLP_PART, SAMPLING_COLOUR, SIGNED
from components.style import plotly_text, styled
from core.embeddings import Neighbour
from core.pipeline import CacheGrowth, FilterStage


def shape_text(shape: Sequence[int]) -> str:
    """'(30, 3, 7, 64)': a tensor shape as Python prints it."""
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def count_text(n: int, noun: str) -> str:
    """'1 token', '49,152 tokens': a count with its noun in the right number."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


# Each card of the pipeline page opens with what it is and why, in plain words, before the technical term.
CARD_WORDS = {
    1: "Your text cut into the pieces the model knows, each with its number: the **tokens** and their **token ids**.",
    2: "The list of numbers the model starts from for the last piece of your text: its **embedding**.",
    3: "A running sum of numbers that every layer reads and adds its own part to: the **residual stream**. Each "
    "layer adds twice, once from **attention** (looking back at earlier tokens) and once from its **MLP**.",
    4: "Before the answer is read off, the running sum is brought back to a standard size: the **final norm**.",
    5: "One score for every token the model knows, turned into chances that add up to 1: the **logits** and the "
    "**softmax**.",
    6: "How the next token is drawn from those chances: sharpen or flatten them, then cut the unlikely tail: "
    "**temperature**, **top-k** and **top-p**.",
    7: "The token actually drawn, added to the end of your text: the **sampled token**.",
    8: "What the model keeps from this pass so the next token does not redo the whole prompt: the **KV cache**.",
}


def norm_reason(norm_kind: str, hidden_size: int, before: float, after: float) -> str:
    """Why the final norm shrinks the running sum (e.g. from 619 to 44): what the norm does, in numbers."""
    unit = hidden_size**0.5
    if "rms" in norm_kind.lower():
        how = (
            f"divides the vector by the root-mean-square of its {hidden_size} numbers, which gives every vector the "
            f"same length √{hidden_size} = {unit:.1f}, then multiplies each number by a learned weight"
        )
    else:
        how = (
            f"subtracts the mean of its {hidden_size} numbers and divides by their standard deviation, which gives "
            f"every vector the length √{hidden_size} = {unit:.1f}, then multiplies each number by a learned weight "
            "and adds a learned bias"
        )
    return (
        f"Why it falls from {before:,.0f} to {after:,.1f}: all the layers have added to the running sum, so it has "
        f"grown large. The final norm ({norm_kind}) {how}: {after:,.1f}. The output head was trained on vectors of "
        "that size, whatever the length of the text."
    )


def vector_strip(values: np.ndarray, title: str, *, name: str = "value") -> go.Figure:
    """A (d,) vector as one row of coloured cells, blue below zero, white at zero, vermillion above.

    The colour range is symmetric around zero (the largest absolute value), so the sign reads at a glance.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    limit = float(np.abs(values).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=[values.tolist()],
            x=list(range(values.shape[0])),
            y=[name],
            colorscale=SIGNED,
            zmin=-limit,
            zmax=limit,
            colorbar=dict(thickness=10, len=1.2),
            hovertemplate="dimension %{x}<br>" + name + " %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title=f"dimension (0 to {values.shape[0] - 1})", showgrid=False)
    fig.update_yaxes(showticklabels=False)
    return styled(fig, title, 170, margin=(10, 10, 40, 45), legend=False)


def neighbour_table(neighbours: Sequence[Neighbour]) -> pd.DataFrame:
    """The nearest tokens as rows: token (whitespace visible), id, cosine similarity."""
    return pd.DataFrame(
        {
            "token": [n.label for n in neighbours],
            "token_id": [n.token_id for n in neighbours],
            "cosine": [round(n.cosine, 4) for n in neighbours],
        }
    )


def layer_chart(
    residual_norms: np.ndarray,
    layer_logit: np.ndarray,
    attention_logit: np.ndarray | None,
    mlp_logit: np.ndarray | None,
    token: str,
) -> go.Figure:
    """Per layer: what attention and the MLP add to the lens logit of ``token`` (bars), and the residual stream's
    norm (a line on the right-hand axis, from the embeddings to the last layer).

    Args:
        residual_norms: (L + 1,) norm after the embeddings and after each layer.
        layer_logit: (L,) change of the lens logit across each whole layer (bars when the split is unknown).
        attention_logit / mlp_logit: (L,) the change across each attention / MLP block, or None.
        token: the final top token's label (escaped here).
    """
    L = int(layer_logit.shape[0])
    layers = list(range(1, L + 1))
    if attention_logit is not None and mlp_logit is not None:
        parts = [("attention", attention_logit, ATTENTION_PART), ("MLP", mlp_logit, MLP_PART)]
    else:
        parts = [("whole layer", layer_logit, ATTENTION_PART)]
    data = [
        go.Bar(
            x=layers,
            y=[float(v) for v in values],
            name=f"{name} adds to the logit",
            marker=dict(color=colour),
            hovertemplate=f"layer %{{x}}<br>{name}: %{{y:+.3f}} logit<extra></extra>",
        )
        for name, values, colour in parts
    ]
    data.append(
        go.Scatter(
            x=list(range(0, L + 1)),
            y=[float(v) for v in residual_norms],
            name="residual stream norm (right axis)",
            mode="lines+markers",
            line=dict(color=GUIDE, width=2),
            marker=dict(size=5),
            yaxis="y2",
            hovertemplate="after %{x} layers<br>norm %{y:,.1f}<extra></extra>",
        )
    )
    fig = go.Figure(data)
    fig.update_layout(
        barmode="group",
        bargap=0.2,
        xaxis=dict(title="layer (0 = the embeddings)", dtick=1 if L <= 32 else None, range=[-0.6, L + 0.6]),
        yaxis=dict(title=f"change in the logit of {plotly_text(token)}", gridcolor=GRID, zeroline=True),
        yaxis2=dict(title="residual norm", overlaying="y", side="right", showgrid=False, rangemode="tozero"),
    )
    return styled(fig, f"What each layer adds to the logit of {token}", 420, margin=(10, 10, 70, 40))


def filter_chart(vocab_size: int, stages: Sequence[FilterStage]) -> go.Figure:
    """Tokens the sampler can still pick: the whole vocabulary, then after each filter (log axis), each bar
    labelled with how many the filter cut and the probability it removed."""
    names = ["model (whole vocabulary)"] + [f"{s.name} {s.setting}" for s in stages]
    kept = [vocab_size] + [s.kept for s in stages]
    notes = [f"{vocab_size:,} tokens"] + [
        f"{s.kept:,} kept, {s.cut:,} cut, {s.mass_removed:.1%} of the probability removed"
        if s.cut
        else f"{s.kept:,} kept, nothing cut"
        for s in stages
    ]
    colours = [CUT_COLOUR] + [SAMPLING_COLOUR if s.active else CUT_COLOUR for s in stages]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=kept,
            orientation="h",
            marker=dict(color=colours, line=dict(color=GUIDE, width=1)),
            text=notes,
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{x:,} tokens can be sampled<extra></extra>",
        )
    )
    top = math.log10(max(vocab_size, 10))
    # A bar longer than about half the axis carries its label inside, so the axis ends at the vocabulary size.
    fig.data[0].textposition = ["inside" if math.log10(max(k, 1)) > 0.55 * top else "outside" for k in kept]
    fig.data[0].insidetextanchor = "end"
    fig.update_xaxes(
        type="log", title="tokens the sampler can pick (log scale)", gridcolor=GRID, range=[-0.2, top + 0.05]
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return styled(fig, "The sampler's filters, in order", 250, margin=(10, 30, 40, 40), legend=False)


def cache_chart(growth: CacheGrowth) -> go.Figure:
    """The measured bytes of the cache after the prompt and after one more token, labelled with their shapes."""
    rows = [
        ("after the prompt", growth.before_bytes, growth.before_shape),
        ("after the sampled token", growth.after_bytes, growth.after_shape),
    ]
    fig = go.Figure(
        go.Bar(
            y=[r[0] for r in rows],
            x=[r[1] for r in rows],
            orientation="h",
            marker=dict(color=[CUT_COLOUR, SAMPLING_COLOUR], line=dict(color=GUIDE, width=1)),
            text=[f"{shape_text(s)}  {human_bytes(b)}" for _, b, s in rows],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{x:,} bytes<extra></extra>",
        )
    )
    top = max(growth.after_bytes, 1)
    fig.update_xaxes(title="bytes held by keys and values (measured)", gridcolor=GRID, range=[0, top * 1.6])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return styled(fig, "KV cache: (layers, kv_heads, tokens, head_dim)", 210, margin=(10, 30, 40, 40), legend=False)

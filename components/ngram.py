"""Builders for the n-gram page: context labels, the count table, P(next | context) bars and lines, generated text,
and the n-gram vs neural perplexity chart."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.inert import inert_markdown
from components.palettes import ACCENT, CUT_COLOUR, GRID, MODEL_COLOUR, SAMPLING_COLOUR
from components.style import plotly_text, styled
from core.ngram import BOS, EOS, UNK, NextWordDistribution, NGramModel

UNSEEN_COLOUR = CUT_COLOUR


def context_label(context: Sequence[str]) -> str:
    """A context as the student reads it: '(start) left' for ('<bos>', 'left'); '(none)' for a unigram."""
    return " ".join(context) if context else "(no context: unigram)"


def count_table(model: NGramModel) -> pd.DataFrame:
    """The count table: context, next token, count, P(next | context) without smoothing."""
    rows = model.table()
    return pd.DataFrame(
        {
            "context": [context_label(r[0]) for r in rows],
            "next": [r[1] for r in rows],
            "count": [r[2] for r in rows],
            "P(next | context)": [round(r[3], 3) for r in rows],
        }
    )


def ngram_bars(raw: NextWordDistribution, smoothed: NextWordDistribution | None = None, *, top: int = 15) -> go.Figure:
    """P(next | context) as bars: raw counts, and add-k smoothed beside them when given.

    Every seen continuation is listed, then unseen ones (probability 0 without smoothing) up to ``top`` bars.
    """
    order = [t for t, _, _ in raw.ranked(include_zero=True)]
    if smoothed is not None:
        # put <unk> last: it stands for every word the corpus never had
        order = [t for t in order if t != UNK] + [UNK]
    order = order[:top]
    labels = [plotly_text(t) for t in order]
    raw_p = [raw.prob(t) for t in order]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=raw_p,
        orientation="h",
        name="from counts",
        marker_color=[MODEL_COLOUR if p > 0 else UNSEEN_COLOUR for p in raw_p],
        text=[f"{p:.3f}" if p > 0 else "0 (unseen)" for p in raw_p],
        textposition="outside",
        cliponaxis=False,
        customdata=[int(raw.counts[raw.tokens.index(t)]) for t in order],
        hovertemplate="%{y}<br>count %{customdata}<br>P = %{x:.4f}<extra></extra>",
    )
    if smoothed is not None:
        sm = [smoothed.prob(t) for t in order]
        fig.add_bar(
            y=labels,
            x=sm,
            orientation="h",
            name=f"add-{smoothed.k:g} smoothed",
            marker_color=SAMPLING_COLOUR,
            text=[f"{p:.3f}" for p in sm],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>smoothed P = %{x:.4f}<extra></extra>",
        )
    top_p = max(raw_p + ([smoothed.prob(t) for t in order] if smoothed is not None else []) + [0.01])
    fig.update_xaxes(range=[0, min(1.0, top_p * 1.3) + 0.05], title="probability", gridcolor=GRID)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(barmode="group", bargap=0.25)
    title = f"P(next | {context_label(raw.context)})"
    return styled(fig, title, max(260, 34 * len(order) * (2 if smoothed is not None else 1) // 1.3 + 120))


def generated_text(words: Sequence[str]) -> str:
    """Generated words as text, the end marker shown as ⏎ <eos>."""
    return " ".join("⏎ <eos>" if w == EOS else w for w in words if w != BOS)


def distribution_markdown(raw: NextWordDistribution, chosen: str) -> str:
    """Each seen continuation's probability as a fraction of counts, one line each (words shown inert):
    ``P(warehouse | left) = 3/6 = 0.500``."""
    lines = [
        f"P({inert_markdown(t)} | {inert_markdown(chosen)}) = {cnt}/{raw.total} = {p:.3f}" for t, cnt, p in raw.ranked()
    ]
    return "  \n".join(lines)


def generated_markdown(start_text: str, words: Sequence[str]) -> str:
    """The generated sentence as markdown: ``<bos>``, the start words, then the generated words in bold (all
    inert)."""
    generated = generated_text(words)
    shown = (inert_markdown(start_text.strip()) + " " if start_text.strip() else "") + (
        f"**{inert_markdown(generated)}**" if generated.strip() else ""  # no words: no empty ** ** left showing
    )
    return f"{inert_markdown('<bos>')} {shown}".rstrip()


def score_table(tokens: Sequence[str], contexts: Sequence[Sequence[str]], probs: Sequence[float]) -> pd.DataFrame:
    """Per-word surprise of a held-out sentence: context, word, P, -log P."""
    return pd.DataFrame(
        {
            "context": [context_label(c) for c in contexts],
            "word": list(tokens),
            "P(word | context)": [round(float(p), 4) for p in probs],
            "surprise -ln P (nats)": [round(-math.log(p), 3) if p > 0 else math.inf for p in probs],
        }
    )


def perplexity_chart(entries: Sequence[tuple[str, float]]) -> go.Figure:
    """Perplexity per word of several models on one sentence (an infinite one is drawn as a marked bar)."""
    finite = [v for _, v in entries if math.isfinite(v)]
    cap = max(finite + [1.0]) * 1.4
    fig = go.Figure()
    fig.add_bar(
        x=[plotly_text(n) for n, _ in entries],
        y=[v if math.isfinite(v) else cap for _, v in entries],
        marker_color=[SAMPLING_COLOUR if math.isfinite(v) else ACCENT for _, v in entries],
        text=[f"{v:.2f}" if math.isfinite(v) else "∞ (a word had P = 0)" for _, v in entries],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{x}: %{text}<extra></extra>",
    )
    fig.update_yaxes(
        title="perplexity per word (log scale, lower is better)",
        type="log",
        gridcolor=GRID,
        range=[0, math.log10(cap) + 0.4],
    )
    return styled(fig, "Perplexity on the held-out sentence", 360)

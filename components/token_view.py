"""Builders for the tokenizer and n-gram pages: token chips, comparison tables and plotly bar charts."""
from __future__ import annotations

import html
import math
from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.charts import FONT, MODEL_COLOUR, SAMPLING_COLOUR
from components.tokens import token_chips
from core.ngram import BOS, EOS, UNK, NextWordDistribution, NGramModel
from core.tokens import LanguageRow, SweepRow, TokenView

UNSEEN_COLOUR = "#e9ecef"


def view_chips(view: TokenView, *, show_ids: bool = True) -> str:
    """A token view as chips (escaped): alternating light shades, special tokens dark; id and raw piece on hover."""
    labels = [f"{label}·{i}" if show_ids else label for label, i in zip(view.labels, view.ids)]
    titles = [f"id {i} · {'special token · ' if s else ''}{piece}" for i, s, piece in zip(view.ids, view.special, view.pieces)]
    shades = [1.0 if s else (0.15 if k % 2 else 0.3) for k, s in enumerate(view.special)]
    return token_chips(labels, shades, titles)


def counts_row(name: str, view: TokenView, vocab_size: int | None = None) -> dict:
    """One row of the side-by-side comparison table."""
    return {"tokenizer": name, "vocabulary": vocab_size, "tokens": view.tokens, "characters": view.chars,
            "bytes": view.bytes, "chars per token": round(view.chars_per_token, 2),
            "tokens per word": round(view.tokens_per_word, 2)}


def ids_table(view: TokenView) -> pd.DataFrame:
    """Position, id, readable token, raw piece, special flag: one row per token."""
    return pd.DataFrame({"position": range(view.tokens), "id": list(view.ids), "token": list(view.labels),
                         "piece": list(view.pieces), "special": list(view.special)})


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=16)), height=height, font=FONT,
                      margin=dict(l=10, r=30, t=60, b=40), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


def language_chart(rows: Sequence[LanguageRow], tokenizer_name: str) -> go.Figure:
    """Tokens for the same sentence in several languages: the cost of non-English text."""
    fig = go.Figure()
    fig.add_bar(x=[r.language for r in rows], y=[r.tokens for r in rows], marker_color=SAMPLING_COLOUR, name="tokens",
                text=[str(r.tokens) for r in rows], textposition="outside", cliponaxis=False,
                customdata=[[html.escape(r.text), r.chars, r.kv_bytes / 1024] for r in rows],
                hovertemplate="%{customdata[0]}<br>%{y} tokens, %{customdata[1]} characters"
                              "<br>KV cache %{customdata[2]:.0f} KiB<extra></extra>")
    fig.update_yaxes(title="tokens", gridcolor="#eee", rangemode="tozero")
    return _layout(fig, f"The same sentence, tokenized by {html.escape(tokenizer_name)}", 360)


def language_table(rows: Sequence[LanguageRow]) -> pd.DataFrame:
    english = next((r.tokens for r in rows if r.language == "English"), None)
    return pd.DataFrame({
        "language": [r.language for r in rows], "sentence": [r.text for r in rows],
        "characters": [r.chars for r in rows], "bytes": [r.bytes for r in rows], "tokens": [r.tokens for r in rows],
        "x English": [round(r.tokens / english, 2) if english else None for r in rows],
        "KV cache (KiB, float32)": [round(r.kv_bytes / 1024, 1) for r in rows],
    })


def sweep_chart(rows: Sequence[SweepRow]) -> go.Figure:
    """Tokens per word of one text against the trained vocabulary size."""
    fig = go.Figure()
    fig.add_scatter(x=[r.trained for r in rows], y=[r.tokens_per_word for r in rows], mode="lines+markers+text",
                    text=[f"{r.tokens} tokens" for r in rows], textposition="top center", cliponaxis=False,
                    line=dict(color=SAMPLING_COLOUR, width=3),
                    marker=dict(size=10), hovertemplate="vocabulary %{x}<br>%{y:.2f} tokens per word<extra></extra>",
                    name="tokens per word")
    fig.update_xaxes(title="vocabulary size of the trained BPE", type="log", gridcolor="#eee")
    fig.update_yaxes(title="tokens per word", gridcolor="#eee", range=[0, max([r.tokens_per_word for r in rows] + [1]) * 1.3])
    return _layout(fig, "Bigger vocabulary, fewer tokens per word", 340)


def vocab_chart(rows: Sequence[tuple[str, int, str]]) -> go.Figure:
    """Vocabulary sizes as horizontal bars, the loaded and trained ones highlighted."""
    rows = sorted(rows, key=lambda r: r[1])
    colours = [MODEL_COLOUR if source == "seed 000" else SAMPLING_COLOUR for _, _, source in rows]
    fig = go.Figure()
    fig.add_bar(y=[html.escape(r[0]) for r in rows], x=[r[1] for r in rows], orientation="h", marker_color=colours,
                text=[f"{r[1]:,}" for r in rows], textposition="outside", cliponaxis=False,
                customdata=[r[2] for r in rows], hovertemplate="%{y}: %{x:,} tokens<br>%{customdata}<extra></extra>")
    fig.update_xaxes(title="tokens in the vocabulary", gridcolor="#eee", range=[0, max(r[1] for r in rows) * 1.2])
    fig.update_yaxes(automargin=True)
    return _layout(fig, "Vocabulary sizes", max(260, 40 * len(rows) + 100))


def context_label(context: Sequence[str]) -> str:
    """A context as the student reads it: '(start) left' for ('<bos>', 'left'); '(none)' for a unigram."""
    return " ".join(context) if context else "(no context: unigram)"


def count_table(model: NGramModel) -> pd.DataFrame:
    """The count table: context, next token, count, P(next | context) without smoothing."""
    rows = model.table()
    return pd.DataFrame({"context": [context_label(r[0]) for r in rows], "next": [r[1] for r in rows],
                         "count": [r[2] for r in rows], "P(next | context)": [round(r[3], 3) for r in rows]})


def ngram_bars(raw: NextWordDistribution, smoothed: NextWordDistribution | None = None, *, top: int = 15) -> go.Figure:
    """P(next | context) as bars: raw counts, and add-k smoothed beside them when given.

    Every seen continuation is listed, then unseen ones (probability 0 without smoothing) up to ``top`` bars.
    """
    order = [t for t, _, _ in raw.ranked(include_zero=True)]
    if smoothed is not None:
        # put <unk> last: it stands for every word the corpus never had
        order = [t for t in order if t != UNK] + [UNK]
    order = order[:top]
    labels = [html.escape(t) for t in order]
    raw_p = [raw.prob(t) for t in order]
    fig = go.Figure()
    fig.add_bar(y=labels, x=raw_p, orientation="h", name="from counts", marker_color=[
        MODEL_COLOUR if p > 0 else UNSEEN_COLOUR for p in raw_p],
        text=[f"{p:.3f}" if p > 0 else "0 (unseen)" for p in raw_p], textposition="outside", cliponaxis=False,
        customdata=[int(raw.counts[raw.tokens.index(t)]) for t in order],
        hovertemplate="%{y}<br>count %{customdata}<br>P = %{x:.4f}<extra></extra>")
    if smoothed is not None:
        sm = [smoothed.prob(t) for t in order]
        fig.add_bar(y=labels, x=sm, orientation="h", name=f"add-{smoothed.k:g} smoothed", marker_color=SAMPLING_COLOUR,
                    text=[f"{p:.3f}" for p in sm], textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}<br>smoothed P = %{x:.4f}<extra></extra>")
    top_p = max(raw_p + ([smoothed.prob(t) for t in order] if smoothed is not None else []) + [0.01])
    fig.update_xaxes(range=[0, min(1.0, top_p * 1.3) + 0.05], title="probability", gridcolor="#eee")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(barmode="group", bargap=0.25)
    title = f"P(next | {html.escape(context_label(raw.context))})"
    return _layout(fig, title, max(260, 34 * len(order) * (2 if smoothed is not None else 1) // 1.3 + 120))


def generated_text(words: Sequence[str]) -> str:
    """Generated words as text, the end marker shown as ⏎ <eos>."""
    return " ".join("⏎ <eos>" if w == EOS else w for w in words if w != BOS)


def score_table(tokens: Sequence[str], contexts: Sequence[Sequence[str]], probs: Sequence[float]) -> pd.DataFrame:
    """Per-word surprise of a held-out sentence: context, word, P, -log P."""
    return pd.DataFrame({"context": [context_label(c) for c in contexts], "word": list(tokens),
                         "P(word | context)": [round(float(p), 4) for p in probs],
                         "surprise -ln P (nats)": [round(-math.log(p), 3) if p > 0 else math.inf for p in probs]})


def perplexity_chart(entries: Sequence[tuple[str, float]]) -> go.Figure:
    """Perplexity per word of several models on one sentence (an infinite one is drawn as a marked bar)."""
    finite = [v for _, v in entries if math.isfinite(v)]
    cap = max(finite + [1.0]) * 1.4
    fig = go.Figure()
    fig.add_bar(x=[html.escape(n) for n, _ in entries], y=[v if math.isfinite(v) else cap for _, v in entries],
                marker_color=[SAMPLING_COLOUR if math.isfinite(v) else "#e03131" for _, v in entries],
                text=[f"{v:.2f}" if math.isfinite(v) else "∞ (a word had P = 0)" for _, v in entries],
                textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{text}<extra></extra>")
    fig.update_yaxes(title="perplexity per word (log scale, lower is better)", type="log", gridcolor="#eee",
                     range=[0, math.log10(cap) + 0.4])
    return _layout(fig, "Perplexity on the held-out sentence", 360)

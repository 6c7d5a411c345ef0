"""Builders for the tokenizer page: token chips, id tables, tokenizer comparisons and BPE vocabulary-size charts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.palettes import GRID, MODEL_COLOUR, SAMPLING_COLOUR
from components.style import plotly_text, styled
from components.token_chips import token_chips
from core.bpe import SweepRow
from core.tokens import VOCAB_SIZES_SOURCE, LanguageRow, TokenView


def view_chips(view: TokenView, *, show_ids: bool = True) -> str:
    """A token view as chips (escaped): alternating light shades, special tokens dark; id and raw piece on hover."""
    labels = [f"{label}·{i}" if show_ids else label for label, i in zip(view.labels, view.ids)]
    titles = [
        f"id {i} · {'special token · ' if s else ''}{piece}" for i, s, piece in zip(view.ids, view.special, view.pieces)
    ]
    shades = [1.0 if s else (0.15 if k % 2 else 0.3) for k, s in enumerate(view.special)]
    return token_chips(labels, shades, titles)


def counts_row(name: str, view: TokenView, vocab_size: int | None = None) -> dict:
    """One row of the side-by-side comparison table."""
    return {
        "tokenizer": name,
        "vocabulary": vocab_size,
        "tokens": view.tokens,
        "characters": view.chars,
        "bytes": view.bytes,
        "chars per token": round(view.chars_per_token, 2),
        "tokens per word": round(view.tokens_per_word, 2),
    }


def ids_table(view: TokenView) -> pd.DataFrame:
    """Position, id, readable token, raw piece, special flag: one row per token."""
    return pd.DataFrame(
        {
            "position": range(view.tokens),
            "id": list(view.ids),
            "token": list(view.labels),
            "piece": list(view.pieces),
            "special": list(view.special),
        }
    )


def language_chart(rows: Sequence[LanguageRow], tokenizer_name: str) -> go.Figure:
    """Tokens for the same sentence in several languages: the cost of non-English text."""
    fig = go.Figure()
    fig.add_bar(
        x=[r.language for r in rows],
        y=[r.tokens for r in rows],
        marker_color=SAMPLING_COLOUR,
        name="tokens",
        text=[str(r.tokens) for r in rows],
        textposition="outside",
        cliponaxis=False,
        customdata=[[plotly_text(r.text), r.chars, r.kv_bytes / 1024] for r in rows],
        hovertemplate="%{customdata[0]}<br>%{y} tokens, %{customdata[1]} characters"
        "<br>KV cache %{customdata[2]:.0f} KiB<extra></extra>",
    )
    fig.update_yaxes(title="tokens", gridcolor=GRID, rangemode="tozero")
    return styled(fig, f"The same sentence, tokenized by {tokenizer_name}", 360)


def language_table(rows: Sequence[LanguageRow]) -> pd.DataFrame:
    english = next((r.tokens for r in rows if r.language == "English"), None)
    return pd.DataFrame(
        {
            "language": [r.language for r in rows],
            "sentence": [r.text for r in rows],
            "characters": [r.chars for r in rows],
            "bytes": [r.bytes for r in rows],
            "tokens": [r.tokens for r in rows],
            "x English": [round(r.tokens / english, 2) if english else None for r in rows],
            "KV cache (KiB, float32)": [round(r.kv_bytes / 1024, 1) for r in rows],
        }
    )


def merges_table(merges: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """The merges a BPE learned, in order: merge 1 is the most frequent pair of the corpus, and so on."""
    return pd.DataFrame(
        [(i, left, right, merged) for i, (left, right, merged) in enumerate(merges, start=1)],
        columns=["merge", "left", "right", "new token"],
    )


def sweep_chart(rows: Sequence[SweepRow]) -> go.Figure:
    """Tokens per word of one text against the trained vocabulary size."""
    fig = go.Figure()
    fig.add_scatter(
        x=[r.trained for r in rows],
        y=[r.tokens_per_word for r in rows],
        mode="lines+markers+text",
        text=[f"{r.tokens} tokens" for r in rows],
        textposition="top center",
        cliponaxis=False,
        line=dict(color=SAMPLING_COLOUR, width=3),
        marker=dict(size=10),
        hovertemplate="vocabulary %{x}<br>%{y:.2f} tokens per word<extra></extra>",
        name="tokens per word",
    )
    sizes = sorted({r.trained for r in rows})
    # Ticks at the trained sizes only, as whole numbers (one size alone used to get ticks 257.1 ... 257.9).
    fig.update_xaxes(
        title="vocabulary size of the trained BPE", type="log", gridcolor=GRID, tickvals=sizes, tickformat=",d"
    )
    fig.update_yaxes(
        title="tokens per word", gridcolor=GRID, range=[0, max([r.tokens_per_word for r in rows] + [1]) * 1.3]
    )
    return styled(fig, "Bigger vocabulary, fewer tokens per word", 340)


def vocab_chart(rows: Sequence[tuple[str, int, str]]) -> go.Figure:
    """Vocabulary sizes as horizontal bars, the loaded and trained ones highlighted."""
    rows = sorted(rows, key=lambda r: r[1])
    colours = [MODEL_COLOUR if source == VOCAB_SIZES_SOURCE else SAMPLING_COLOUR for _, _, source in rows]
    fig = go.Figure()
    fig.add_bar(
        y=[plotly_text(r[0]) for r in rows],
        x=[r[1] for r in rows],
        orientation="h",
        marker_color=colours,
        text=[f"{r[1]:,}" for r in rows],
        textposition="outside",
        cliponaxis=False,
        customdata=[r[2] for r in rows],
        hovertemplate="%{y}: %{x:,} tokens<br>%{customdata}<extra></extra>",
    )
    fig.update_xaxes(title="tokens in the vocabulary", gridcolor=GRID, range=[0, max(r[1] for r in rows) * 1.2])
    fig.update_yaxes(automargin=True)
    return styled(fig, "Vocabulary sizes", max(260, 40 * len(rows) + 100))

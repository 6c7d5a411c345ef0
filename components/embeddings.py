"""Figures and tables for token embeddings: nearest tokens by cosine, a 2-D map of words, analogies."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.palettes import ACCENT, GRID, MUTED, SAMPLING_COLOUR, SERIES
from components.style import plotly_text, styled

EXPLAIN = (
    "A token id picks one **row of the embedding matrix**: a table with one row per token of the vocabulary "
    "(*V* rows) and *d* numbers per row. That row, a vector of *d* numbers, is what the first layer reads for the "
    "token. Nobody writes these numbers: they are learned in training, and tokens used in similar ways end up with "
    "similar rows. At the other end the **unembedding matrix** (the output head, also *V* × *d*) turns the last "
    "hidden state into one logit per token. Similarity here is the **cosine** of the angle between two rows: 1 for "
    "the same direction, 0 for unrelated, −1 for opposite."
)


MAP_EXPLAIN = (
    "Each word's row has {d:,} numbers: too many to draw. **PCA** (principal component analysis) finds the two "
    "directions along which these rows differ most and draws each word there. Words the model uses alike land "
    "close together. The axis titles say how much of the words' spread those two directions keep; the rest is lost."
)


def model_sentence(vocab: int, d: int, tied: bool) -> str:
    """The model's V and d, the matrix's size, and whether input and output matrices are tied (markdown)."""
    shape = (
        f"**This model:** *V* = {vocab:,} tokens and *d* = {d:,}, so the embedding matrix holds {vocab:,} × {d:,} = "
        f"{vocab * d:,} numbers. "
    )
    if tied:
        return shape + (
            "Its input and output matrices are **tied**: the output head uses the very same matrix as the "
            "embedding, so the nearest tokens in the embedding and in the unembedding matrix are the same list."
        )
    return shape + "Its input and output matrices are **separate** (not tied), so the two lists below can differ."


def analogy_verdict(hits: int, baseline_hits: int, n: int, works: bool, total: int) -> tuple[str, str]:
    """The page's plain statement on analogies, measured: (Streamlit element kind, markdown text)."""
    if not n:
        return "info", (
            f"None of the {total} classic analogies can be measured on this model: their words are not single "
            "tokens of its vocabulary, so no one row stands for each word. You can still try one below."
        )
    found = f"**{hits} of {n}** ({hits / n:.0%})"
    base = f"the token nearest to c alone is the answer in only {baseline_hits} of {n}"
    if works:
        return "markdown", (
            f"On this model, analogies mostly work. Measured on {n} classic analogies (king − man + woman = queen, "
            f"…), the row nearest to a − b + c, the three input tokens left out, is the expected token in {found}; "
            f"{base}, so the difference between a and b really carries over to c."
        )
    return "warning", (
        f"On this small model, analogies mostly do not work: measured on {n} classic analogies, the row nearest to "
        f"a − b + c is the expected token in only {found}; {base}. The attempt is shown below all the same."
    )


def neighbour_chart(labels: Sequence[str], cosines: Sequence[float], title: str) -> go.Figure:
    """Horizontal bars: the nearest tokens (most similar at the top) and their cosine similarity."""
    shown = [plotly_text(t) for t in labels]
    fig = go.Figure(
        go.Bar(
            x=[float(c) for c in cosines],
            y=shown,
            orientation="h",
            marker_color=SAMPLING_COLOUR,
            text=[f"{float(c):.3f}" for c in cosines],
            textposition="outside",
            cliponaxis=False,
            name="cosine similarity",
            hovertemplate="%{y}<br>cosine %{x:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    fig.update_xaxes(title="cosine similarity", range=[min(0.0, min(cosines, default=0.0)), 1.08], gridcolor=GRID)
    return styled(fig, title, max(260, 30 * len(shown) + 110), margin=(10, 40, 50, 40), legend=False)


LABEL_PLACES = (
    "top center",
    "bottom center",
    "middle right",
    "middle left",
    "top right",
    "top left",
    "bottom right",
    "bottom left",
)


def label_positions(
    coords: Sequence[Sequence[float]], labels: Sequence[str], *, width_px: int = 700, height_px: int = 440
) -> list[str]:
    """A text position for each point's label so labels overlap neither each other nor the points: each label takes
    the first of LABEL_PLACES whose box (about 7 px a character, 16 px high, on a plot of ``width_px`` x
    ``height_px``) is free, in order of the points; a label with no free place keeps "top center"."""
    xs = [float(c[0]) for c in coords]
    ys = [float(c[1]) for c in coords]
    if not xs:
        return []
    sx = (max(xs) - min(xs) or 1.0) / (width_px * 0.85)  # data units per pixel, with the axes' padding
    sy = (max(ys) - min(ys) or 1.0) / (height_px * 0.85)
    half_h = 8 * sy
    points = [(x - 5 * sx, y - 5 * sy, x + 5 * sx, y + 5 * sy) for x, y in zip(xs, ys)]  # the markers (10 px)
    taken: list[tuple[float, float, float, float]] = []
    places = []

    def box(x: float, y: float, w: float, place: str) -> tuple[float, float, float, float]:
        vertical, horizontal = place.split()
        cy = {"top": y + 14 * sy, "bottom": y - 14 * sy, "middle": y}[vertical]
        cx = {"center": x, "right": x + w / 2 + 7 * sx, "left": x - w / 2 - 7 * sx}[horizontal]
        return (cx - w / 2, cy - half_h, cx + w / 2, cy + half_h)

    def free(b: tuple[float, float, float, float], own: int) -> bool:
        clear = lambda o: b[2] <= o[0] or o[2] <= b[0] or b[3] <= o[1] or o[3] <= b[1]  # noqa: E731
        return all(clear(o) for o in taken) and all(clear(o) for i, o in enumerate(points) if i != own)

    for i, (x, y, label) in enumerate(zip(xs, ys, labels)):
        w = 7 * sx * max(len(label), 1)
        place = next((p for p in LABEL_PLACES if free(box(x, y, w, p), i)), LABEL_PLACES[0])
        taken.append(box(x, y, w, place))
        places.append(place)
    return places


def map_chart(
    labels: Sequence[str],
    groups: Sequence[str],
    coords: Sequence[Sequence[float]],
    explained: tuple[float, float],
    title: str,
) -> go.Figure:
    """A scatter of words on the first two principal components, one colour per group, each point labelled."""
    order = list(dict.fromkeys(groups))
    places = label_positions(coords, labels)
    fig = go.Figure()
    for n, group in enumerate(order):
        members = [i for i, g in enumerate(groups) if g == group]
        fig.add_trace(
            go.Scatter(
                x=[float(coords[i][0]) for i in members],
                y=[float(coords[i][1]) for i in members],
                mode="markers+text",
                text=[plotly_text(labels[i]) for i in members],
                textposition=[places[i] for i in members],
                marker=dict(size=10, color=SERIES[n % len(SERIES)] if group else SAMPLING_COLOUR),
                name=plotly_text(group or "word"),
                showlegend=bool(group),
                hovertemplate="%{text}<br>PC1 %{x:.3f}, PC2 %{y:.3f}<extra></extra>",
            )
        )
    fig.update_xaxes(title=f"component 1 ({explained[0]:.1%} of the variance)", gridcolor=GRID, zerolinecolor=MUTED)
    fig.update_yaxes(title=f"component 2 ({explained[1]:.1%} of the variance)", gridcolor=GRID, zerolinecolor=MUTED)
    return styled(fig, title, 560, margin=(10, 30, 70, 50), legend=len(order) > 1 or bool(order and order[0]))


def analogy_chart(labels: Sequence[str], cosines: Sequence[float], expected: str | None, title: str) -> go.Figure:
    """The nearest tokens to a - b + c, the expected answer (if any) in the accent colour."""
    fig = neighbour_chart(labels, cosines, title)
    if expected is not None:
        fig.data[0].marker.color = [ACCENT if label == expected else SAMPLING_COLOUR for label in labels]
    return fig


def analogy_table(tested: Sequence) -> pd.DataFrame:
    """One row per measured analogy (``core.embeddings.Analogy``): the sum, the expected token, the nearest token,
    hit, and the baseline (the nearest token to c alone) with whether it already was the answer."""
    rows = [
        (
            f"{r.words[0]} − {r.words[1]} + {r.words[2]}",
            r.expected.labels[0],
            r.neighbours[0].label,
            r.hit,
            r.baseline.label,
            r.baseline_hit,
        )
        for r in tested
    ]
    columns = ["a − b + c", "expected", "nearest to a − b + c", "hit", "nearest to c alone", "c alone hits"]
    return pd.DataFrame(rows, columns=columns)

"""Plotly builders for attention maps and the logit lens. Each takes plain arrays and labels, returns a go.Figure.

Token labels are made unique with their position ("3 ␣cat"), so repeated tokens get their own row and column,
and escaped: plotly renders a few HTML tags inside labels and hover text, and token text comes from the user.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from components.palettes import ACCENT, GRID, HEATMAP, MASKED, SAMPLING_COLOUR, SUMMARY
from components.style import figure, layout, plotly_text, subplot_grid

# Plotly's sequential "Blues" (white = 0, dark blue = 1) spelled out (components.palettes.HEATMAP): a figure built
# without validation passes a colour-scale *name* straight to plotly.js, whose own "Blues" runs the other way.
SCALE = HEATMAP
# MASKED (components.palettes): the causal mask, cells a query may not look at (future keys)
METRICS = {
    "entropy_bits": ("Attention entropy (bits)", "low = each token looks at one place; high = spread out"),
    "distance": ("Mean distance looked back (tokens)", "0 = looks at itself; large = looks far back"),
    "first_token": ("Weight on the first token", "the attention sink: weight parked on position 0"),
    "previous_token": ("Weight on the previous token", "a 'previous-token head' scores near 1"),
}


def position_labels(tokens: Sequence[str], start: int = 0) -> list[str]:
    """Unique axis labels: position and escaped token text ('0 The', '1 ␣cat', ...)."""
    return [f"{start + i} {plotly_text(t)}" for i, t in enumerate(tokens)]


def _layout_dict(title: str, height: int, **extra) -> dict:
    """The house layout with the attention maps' margins and grey (masked) plot area."""
    return layout(title, height, margin=(10, 20, 60, 10), legend=False, plot_bgcolor=MASKED, **extra)


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts without plotly's per-property validation: these figures are redrawn each time a
    layer or head is picked, and validation cost several times the rest of that redraw (bench_attention)."""
    return figure(data, layout)


def _masked(matrix: np.ndarray, row_start: int = 0) -> np.ndarray:
    """A (Q, K) float32 copy with NaN in the cells a query may not look at (keys after it) and non-finite ones.

    Plotly draws NaN cells as gaps (the grey background shows through, and hoverongaps=False keeps the hover
    off them), and sends a numpy array to the browser as one base64 block instead of Q x K JSON numbers.
    """
    values = np.array(matrix, dtype=np.float32)  # (Q, K), a copy
    q, k = np.indices(values.shape)
    values[(k > row_start + q) | ~np.isfinite(values)] = np.nan
    return values


def head_heatmap(
    matrix: np.ndarray,
    tokens: Sequence[str],
    *,
    title: str,
    row_start: int = 0,
    key_offset: int = 0,
    boundary: int | None = None,
    zmax: float | None = None,
) -> go.Figure:
    """One head's attention: query tokens on rows, key tokens on columns, masked cells left grey.

    Args:
        matrix: (Q, K) weights; row q is query position ``row_start + q`` (rows of generated tokens start later).
        tokens: the K token labels (keys); query labels are ``tokens[row_start:]``.
        key_offset: shift when the first key column was hidden (attention-sink view): column k is token k + offset.
        boundary: draw a line before this key position (where the prompt ends and generation begins).
        zmax: top of the colour scale (None = the largest weight shown).
    """
    labels = position_labels(tokens)
    keys = labels[key_offset : key_offset + matrix.shape[1]]
    queries = labels[row_start : row_start + matrix.shape[0]]
    cells = _masked(matrix, row_start - key_offset)
    layout = _layout_dict(
        title,
        int(min(900, max(320, 26 * max(len(queries), 4) + 160))),
        xaxis=dict(
            title=dict(text="key (the token looked at)"),
            side="bottom",
            tickangle=-60,
            automargin=True,
            showgrid=False,
            type="category",
        ),
        yaxis=dict(
            title=dict(text="query (the token looking)"),
            autorange="reversed",
            automargin=True,
            showgrid=False,
            type="category",
        ),
    )
    if boundary is not None and 0 < boundary - key_offset < len(keys):
        x = boundary - key_offset - 0.5
        layout["shapes"] = [
            dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=dict(color=ACCENT, width=2))
        ]
        layout["annotations"] = [
            dict(
                x=x, xref="x", y=1, yref="y domain", text="generated →", showarrow=False, xanchor="left", yanchor="top"
            )
        ]
    return _figure(
        [
            dict(
                type="heatmap",
                z=cells,
                x=keys,
                y=queries,
                colorscale=SCALE,
                zmin=0.0,
                zmax=zmax,
                hoverongaps=False,
                colorbar=dict(title=dict(text="weight"), thickness=12),
                hovertemplate="query %{y}<br>looks at key %{x}<br>weight %{z:.3f}<extra></extra>",
            )
        ],
        layout,
    )


def head_grid(
    layer_weights: np.ndarray,
    tokens: Sequence[str],
    *,
    title: str,
    kv_groups: Sequence[int] | None = None,
    columns: int = 3,
) -> go.Figure:
    """Small multiples: every head of one layer, same colour scale, masked cells grey.

    Args:
        layer_weights: (H, T, T) weights of one layer.
        kv_groups: (H,) the key/value head each query head reads (grouped-query attention), or None.
    """
    H = layer_weights.shape[0]
    rows = (H + columns - 1) // columns
    names = [f"head {h}" + (f" · kv {kv_groups[h]}" if kv_groups is not None else "") for h in range(H)]
    axes, cells = subplot_grid(
        rows,
        columns,
        horizontal_spacing=0.03,
        vertical_spacing=0.06,
        titles=names,
        xaxis=dict(showticklabels=False, showgrid=False, type="category"),
        yaxis=dict(showticklabels=False, showgrid=False, autorange="reversed", type="category"),
    )
    labels = position_labels(tokens)
    data = [
        dict(
            type="heatmap",
            z=_masked(layer_weights[h]),  # (T, T), NaN gaps where masked
            x=labels,
            y=labels,
            xaxis=cells[h][0],
            yaxis=cells[h][1],
            coloraxis="coloraxis",
            hoverongaps=False,
            hovertemplate=f"head {h}<br>query %{{y}}<br>key %{{x}}<br>weight %{{z:.3f}}<extra></extra>",
        )
        for h in range(H)
    ]
    spec = _layout_dict(
        title,
        240 * rows + 80,
        coloraxis=dict(colorscale=SCALE, cmin=0.0, cmax=1.0, colorbar=dict(title=dict(text="weight"), thickness=12)),
        **axes,
    )
    return _figure(data, spec)


def overview_chart(values: np.ndarray, metric: str, *, selected: tuple[int, int] | None = None) -> go.Figure:
    """Layers x heads: one square per head, coloured by a summary (click a square to open that head).

    A scatter of square markers rather than a heatmap, because Streamlit's point selection reports clicks
    on scatter points (heatmap clicks come back empty).

    Args:
        values: (layers, heads) one number per head, from ``core.attention.head_summaries``; row l is layer l + 1
            (layers are numbered 1..L as transformers' hidden states are: 0 is the embeddings).
        metric: a key of METRICS.
        selected: (layer number 1..L, head) to outline.
    """
    L, H = values.shape
    name = METRICS[metric][0]
    layer_of = [layer + 1 for layer in range(L) for _ in range(H)]
    head_of = [h for _ in range(L) for h in range(H)]
    flat = [float(v) for v in values.reshape(-1)]
    size = max(8, min(30, int(560 / max(L, H))))
    data = [
        dict(
            type="scatter",
            x=np.asarray(head_of),
            y=np.asarray(layer_of),
            mode="markers",  # arrays: cheap to copy
            marker=dict(
                symbol="square",
                size=size,
                color=np.asarray(flat),
                colorscale=SUMMARY,
                showscale=True,
                colorbar=dict(title=dict(text=name.split(" (")[0], side="right"), thickness=12),
            ),
            hovertemplate="layer %{y}, head %{x}<br>" + name + ": %{marker.color:.3f}<extra>click to open</extra>",
            showlegend=False,
        )
    ]
    if selected is not None:
        data.append(
            dict(
                type="scatter",
                x=[selected[1]],
                y=[selected[0]],
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                marker=dict(symbol="square-open", size=size + 6, color=ACCENT, line=dict(width=3)),
            )
        )
    height = int(max(280, min(820, (size + 4) * L + 140)))
    layout = _layout_dict(
        f"Every head: {name.split(' (')[0].lower()}",
        height,
        clickmode="event+select",
        dragmode=False,
        xaxis=dict(title=dict(text="head"), dtick=1, range=[-0.7, H - 0.3], showgrid=False, zeroline=False),
        yaxis=dict(
            title=dict(text="layer"), range=[L + 0.5, 0.3], showgrid=False, zeroline=False, dtick=1 if L <= 12 else 2
        ),
    )
    layout["plot_bgcolor"] = "white"
    return _figure(data, layout)


def query_bars(row: np.ndarray, tokens: Sequence[str], query: int, *, title: str, key_offset: int = 0) -> go.Figure:
    """Bars of one query token's attention over the keys it may look at (positions key_offset..query).

    Args:
        row: (K,) the query's weights; entry k is key position ``k + key_offset``.
        tokens: every token label of the prompt.
    """
    labels = position_labels(tokens)[key_offset : query + 1]
    weights = [float(v) for v in row[: query + 1 - key_offset]]
    layout = _layout_dict(
        title,
        360,
        xaxis=dict(type="category", tickangle=-60, automargin=True),
        yaxis=dict(
            range=[0, min(1.0, max(weights + [0.05]) * 1.25)],
            tickformat=".0%",
            title=dict(text="attention weight"),
            gridcolor=GRID,
        ),
    )
    layout["plot_bgcolor"] = "white"
    return _figure(
        [
            dict(
                type="bar",
                x=labels,
                y=weights,
                marker=dict(color=SAMPLING_COLOUR),
                text=[f"{w:.0%}" for w in weights],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="key %{x}<br>weight %{y:.3f}<extra></extra>",
            )
        ],
        layout,
    )


def clicked_head(event) -> tuple[int, int] | None:
    """(layer number 1..L, head) of the square clicked in ``overview_chart``, from a Streamlit selection event."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError, AttributeError):
        return None
    for point in points:
        if point.get("curve_number", 0) == 0 and "x" in point and "y" in point:
            return int(point["y"]), int(point["x"])
    return None

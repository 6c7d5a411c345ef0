"""KV-cache figures and text: memory against length, MHA/GQA/MQA, weights + cache against a GPU, the formula."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.inert import inert_markdown
from components.palettes import GPU_LIMIT, GRID, GUIDE, SAMPLING_COLOUR, SERIES, WEIGHTS
from components.style import styled
from core.kv_cache import GB, GIB, KVDtype, KVSpec

BATCH_COLOURS = list(SERIES)  # Okabe-Ito; the page draws at most four batch sizes
WEIGHTS_COLOUR = WEIGHTS
CACHE_COLOUR = SAMPLING_COLOUR
GPU_COLOUR = GPU_LIMIT
MIN_INSIDE_SHARE = 0.08  # a stacked segment shorter than this share of the axis is too thin for its label


def human_bytes(n: int | float) -> str:
    """'1.00 GiB (1.07 GB)': binary and decimal units, both labelled; small sizes in KiB/MiB."""
    n = float(n)
    if n >= GIB / 10:
        return f"{n / GIB:,.2f} GiB ({n / GB:,.2f} GB)"
    if n >= 1024**2:
        return f"{n / 1024**2:,.2f} MiB ({n / 1000**2:,.2f} MB)"
    if n >= 1024:
        return f"{n / 1024:,.2f} KiB ({n / 1000:,.2f} kB)"
    return f"{n:,.4g} bytes"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    return styled(fig, title, height, margin=(10, 30, 70, 50))


def memory_vs_length(
    lengths: Sequence[int],
    curves: dict[int, Sequence[int]],
    *,
    title: str,
    marker: int | None = None,
    free_bytes: int | None = None,
) -> go.Figure:
    """Cache GiB against sequence length, one line per batch size.

    Args:
        lengths: L sequence lengths (x).
        curves: {batch size: L byte counts}.
        marker: a sequence length to mark with a vertical line (the chosen one).
        free_bytes: GPU memory left after the weights, drawn as a horizontal line.
    """
    fig = go.Figure()
    for i, (batch, series) in enumerate(curves.items()):
        fig.add_scatter(
            x=[int(t) for t in lengths],
            y=[b / GIB for b in series],
            mode="lines",
            name=f"batch {batch:,}",
            line=dict(width=3, color=BATCH_COLOURS[i % len(BATCH_COLOURS)]),
            hovertemplate="%{x:,} tokens: %{y:,.3f} GiB<extra>batch " + f"{batch:,}" + "</extra>",
        )
    if marker is not None:
        fig.add_vline(
            x=marker,
            line_dash="dot",
            line_color=GUIDE,
            annotation_text=f"{marker:,} tokens",
            annotation_position="top left",
        )
    if free_bytes is not None and free_bytes > 0:
        fig.add_hline(
            y=free_bytes / GIB,
            line_dash="dash",
            line_color=GPU_COLOUR,
            annotation_text=f"GPU memory left after the weights: {free_bytes / GIB:,.1f} GiB",
            annotation_position="bottom right",
        )
    fig.update_xaxes(title="sequence length (prompt + generated tokens)", gridcolor=GRID, tickformat=",")
    fig.update_yaxes(title="KV cache (GiB)", gridcolor=GRID, rangemode="tozero")
    return _layout(fig, title)


def attention_comparison(rows: Sequence[tuple[str, int, int]], *, title: str) -> go.Figure:
    """Horizontal bars: the same model's cache with MHA / its own layout / MQA (or MLA's latent), in GiB."""
    labels = [r[0] for r in rows]
    sizes = [r[2] / GIB for r in rows]
    top = max(sizes + [1e-9])
    colours = [CACHE_COLOUR if "this model" in r[0] else WEIGHTS_COLOUR for r in rows]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=sizes,
            orientation="h",
            marker_color=colours,
            text=[human_bytes(r[2]) for r in rows],
            # A bar longer than half the axis carries its label inside: outside, a long label ran off the chart.
            textposition=["inside" if size > 0.5 * top else "outside" for size in sizes],
            insidetextanchor="end",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,.3f} GiB<extra></extra>",
        )
    )
    fig.update_xaxes(title="KV cache (GiB)", gridcolor=GRID, range=[0, top * 1.6])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(fig, title, height=110 + 60 * len(rows))


def gpu_stack(weights: int, cache: int, gpu_bytes: int | None, *, title: str) -> go.Figure:
    """One stacked bar, weights + KV cache, against a line at the GPU's memory.

    The cache's size is written above the stack: inside a thin segment plotly shrinks a label to a sliver. The
    weights' size is written inside their segment when it is tall enough, else under the cache's, above the stack.
    """
    top = max((weights + cache) / GIB, (gpu_bytes or 0) / GIB, 1e-9)
    weights_inside = weights / GIB >= MIN_INSIDE_SHARE * top
    above = f"KV cache {human_bytes(cache)}" + ("" if weights_inside else f"<br>weights {human_bytes(weights)}")
    fig = go.Figure()
    fig.add_bar(
        x=["this setup"],
        y=[weights / GIB],
        name="weights",
        marker_color=WEIGHTS_COLOUR,
        text=[human_bytes(weights)],
        textposition="inside" if weights_inside else "none",
        hovertemplate="weights %{y:,.2f} GiB<extra></extra>",
    )
    fig.add_bar(
        x=["this setup"],
        y=[cache / GIB],
        name="KV cache",
        marker_color=CACHE_COLOUR,
        text=[above],
        textposition="outside",  # the top of the stack: outside is above it
        constraintext="inside",  # outside, the label keeps its size
        cliponaxis=False,
        hovertemplate="KV cache %{y:,.2f} GiB<extra></extra>",
    )
    if gpu_bytes:
        fig.add_hline(
            y=gpu_bytes / GIB,
            line_dash="dash",
            line_color=GPU_COLOUR,
            line_width=3,
            annotation_text=f"GPU memory {gpu_bytes / GIB:,.0f} GiB",
            annotation_position="top left",
        )
    fig.update_layout(barmode="stack", bargap=0.55)
    fig.update_yaxes(title="GiB", gridcolor=GRID, range=[0, top * 1.2])
    return _layout(fig, title, height=420)


def spec_caption(spec: KVSpec) -> str:
    """One line on the architecture, as markdown: layers, query heads, the attention kind, the head dim and the
    sliding window when some layers have one."""
    return (
        f"**{inert_markdown(spec.name, single_line=True)}**: {spec.num_layers} layers, "
        f"{spec.num_attention_heads} query heads, {spec.attention_kind}, head dim {spec.head_dim}"
        + (
            f", sliding window {spec.sliding_window:,} on {spec.sliding_layers} of {spec.num_layers} layers"
            if spec.sliding_layers
            else ""
        )
        + "."
    )


def formula_markdown(
    spec: KVSpec,
    *,
    seq_len: int,
    batch_size: int,
    fmt: KVDtype,
    total: int,
    block_size: int | None = None,
    mla: str = "latent",
) -> str:
    """The formula with these numbers substituted, as markdown (numbers only: safe to render)."""
    per_value = fmt.bytes_per_value(spec.head_dim)
    bpv = f"{float(per_value):g}" if per_value.denominator != 1 else str(per_value.numerator)
    tokens = f"{seq_len:,}" + (f" (rounded up to blocks of {block_size})" if block_size else "")
    if spec.mla is not None and mla == "latent":
        m = spec.mla
        return (
            f"**bytes** = layers × (kv_lora_rank + qk_rope_head_dim) × tokens × batch × bytes per value  \n"
            f"= {spec.num_layers} × ({m.kv_lora_rank} + {m.qk_rope_head_dim}) × {tokens} × {batch_size:,} × {bpv} "
            f"= **{total:,} bytes** = {human_bytes(total)}  \n"
            "No factor 2 and no heads: keys and values are both rebuilt from one cached latent per token."
        )
    if spec.mla is not None:  # decompressed: per-head keys (nope + rope) and values of different sizes
        text = (
            f"**bytes** = layers × kv_heads × (K dim + V dim) × tokens × batch × bytes per value  \n"
            f"= {spec.num_layers} × {spec.num_kv_heads} × ({spec.head_dim} + {spec.mla.v_head_dim}) × {tokens} × "
            f"{batch_size:,} × {bpv}"
        )
    else:
        text = (
            f"**bytes** = 2 (K and V) × layers × kv_heads × head_dim × tokens × batch × bytes per value  \n"
            f"= 2 × {spec.num_layers} × {spec.num_kv_heads} × {spec.head_dim} × {tokens} × {batch_size:,} × {bpv}"
        )
    if spec.sliding_layers:
        text += (
            f"  \nwith {spec.sliding_layers} of the {spec.num_layers} layers counting at most "
            f"{spec.sliding_window:,} tokens (their sliding window)"
        )
    text += f"  \n= **{total:,} bytes** = {human_bytes(total)}"
    if fmt.group_size:
        text += (
            f"  \n{fmt.name} stores {fmt.bits} bits per value plus {fmt.overhead_bytes} bytes of scale and zero "
            f"point per {fmt.group_size} values, so {bpv} bytes per value on average."
        )
    return text


def breakdown_table(rows: Sequence[tuple[str, float, str]]) -> pd.DataFrame:
    """The breakdown rows as a table with bytes, GiB and GB columns, each labelled."""
    return pd.DataFrame(
        {
            "what": [r[0] for r in rows],
            "bytes": [f"{r[1]:,.4g}" if r[1] < 1000 else f"{int(r[1]):,}" for r in rows],
            "GiB (2^30 bytes)": [f"{r[1] / GIB:,.6f}" for r in rows],
            "GB (10^9 bytes)": [f"{r[1] / GB:,.6f}" for r in rows],
            "how": [r[2] for r in rows],
        }
    )


def measurement_table(measured: int, estimated: int, tokens: int, dtype: str) -> pd.DataFrame:
    """Estimate and measurement side by side."""
    return pd.DataFrame(
        {
            "": ["estimated (formula)", "measured (real DynamicCache)"],
            "bytes": [f"{estimated:,}", f"{measured:,}"],
            "per token": [f"{estimated / tokens:,.0f}", f"{measured / tokens:,.0f}"],
            "size": [human_bytes(estimated), human_bytes(measured)],
            "dtype": [dtype, dtype],
        }
    )

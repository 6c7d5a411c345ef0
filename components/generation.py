"""Figures, HTML and tables for the step-by-step generation page, built from ``core.generation`` Steps."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from components.inert import escape_html, inert_markdown
from components.palettes import CACHE, GRID, GUIDE, MODEL_COLOUR, MUTED, NO_CACHE, SAMPLING_COLOUR
from components.style import figure, layout, secondary_y_axes
from components.tables import OTHER_TOKENS
from components.token_chips import token_chips
from core.generation import CONTEXT_FULL, EOS, MAX_NEW_TOKENS, STOP_STRING, Step
from core.kv_cache import kv_cache_bytes
from core.text import visible_text

CACHE_COLOUR = CACHE  # blue, against vermillion: never green against orange
NO_CACHE_COLOUR = NO_CACHE
PROMPT_TAIL_CHARS = 400


def generated_html(prompt_text: str, steps: Sequence[Step]) -> str:
    """The prompt (grey, its last PROMPT_TAIL_CHARS characters) followed by one chip per generated token.

    Each chip is shaded by the model's probability of that token (dark = likely) and has a hover title.
    Everything is HTML-escaped.
    """
    tail = prompt_text if len(prompt_text) <= PROMPT_TAIL_CHARS else "…" + prompt_text[-PROMPT_TAIL_CHARS:]
    prompt = (
        f'<span title="prompt" style="color:{MUTED};white-space:pre-wrap;font-family:monospace">'
        f"{escape_html(tail)}</span>"
    )
    if not steps:
        return f'<div class="nte-generation" style="line-height:1.9">{prompt}</div>'
    titles = [
        f"step {s.index}: {s.token} · p = {s.model_probability:.1%} · rank {s.rank} · {s.chosen_by}" for s in steps
    ]
    chips = token_chips(
        [s.text.replace("\n", "↵\n") or "∅" for s in steps], [s.model_probability for s in steps], titles
    )
    chips = chips.replace('<div class="nte-tokens" style="line-height:1.9">', "").removesuffix("</div>")
    return f'<div class="nte-generation" style="line-height:1.9">{prompt}{chips}</div>'


def timeline_table(steps: Sequence[Step]) -> pd.DataFrame:
    """One row per step: what was chosen, how, with which probabilities, and the cache after it. A step served from
    the server's shared steps (``Step.reused``) has no time of its own (the model did not run): its time is empty and
    its cache column says "on, reused"."""
    return pd.DataFrame(
        {
            "step": [s.index for s in steps],
            "token": [s.token for s in steps],
            "token id": [s.token_id for s in steps],
            "chosen by": [s.chosen_by for s in steps],
            "model probability": [s.model_probability for s in steps],
            "sampling probability": [s.sampling_probability for s in steps],
            "rank": [s.rank for s in steps],
            "entropy (bits)": [s.entropy_bits for s in steps],
            "time (ms)": [None if s.model_seconds is None else s.model_seconds * 1000 for s in steps],
            "KV cache": [("on, reused" if s.reused else "on") if s.used_cache else "off" for s in steps],
            "cache length": [s.cache_length for s in steps],
            "cache bytes": [s.cache_bytes for s in steps],
            "temperature": [s.temperature for s in steps],
            "stop": [s.stop_reason or "" for s in steps],
        }
    )


def step_candidate_table(step: Step, n: int) -> pd.DataFrame:
    """A past step's top candidates in ``candidate_table``'s shape (so ``probability_bars`` draws it)."""
    top = list(step.top[: max(1, n)])
    frame = pd.DataFrame(
        {
            "rank": list(range(1, len(top) + 1)),
            "token": [c.token + ("  ◀ chosen" if c.token_id == step.token_id else "") for c in top],
            "token_id": [c.token_id for c in top],
            "logit": [float("nan")] * len(top),
            "model_probability": [c.model_probability for c in top],
            "sampling_probability": [c.sampling_probability for c in top],
            "kept": [c.sampling_probability > 0 for c in top],
        }
    )
    other = {
        "rank": 0,
        "token": OTHER_TOKENS,
        "token_id": -1,
        "logit": float("nan"),
        "model_probability": max(0.0, 1.0 - sum(c.model_probability for c in top)),
        "sampling_probability": max(0.0, 1.0 - sum(c.sampling_probability for c in top)),
        "kept": True,
    }
    return pd.concat([frame, pd.DataFrame([other])], ignore_index=True)


# What each timeline chart and the table read of a Step: the key under which a class shares them (ui.charts.shared).
# tests/components/test_generation_chart_inputs.py fails when a chart reads a field its list leaves out.
PROBABILITY_ENTROPY_FIELDS = ("index", "model_probability", "chosen_by", "token", "entropy_bits")
CACHE_FIELDS = ("index", "cache_length", "cache_bytes")
TIMING_FIELDS = ("index", "seconds", "used_cache")
TIMELINE_FIELDS = (  # the per-step table's
    "index",
    "token",
    "token_id",
    "chosen_by",
    "model_probability",
    "sampling_probability",
    "rank",
    "entropy_bits",
    "model_seconds",
    "reused",
    "used_cache",
    "cache_length",
    "cache_bytes",
    "temperature",
    "stop_reason",
)


def chart_inputs(steps: Sequence[Step], fields: tuple[str, ...]) -> tuple:
    """The ``fields`` of every step, as a hashable tuple: what a chart built from those fields depends on."""
    return tuple(tuple(getattr(s, name) for name in fields) for s in steps)


def probability_entropy_chart(steps: Sequence[Step]) -> go.Figure:
    """Per step: the chosen token's model probability (bars, left axis) and the entropy in bits (line, right)."""
    x = [s.index for s in steps]
    data = [
        dict(
            type="bar",
            x=x,
            y=[s.model_probability for s in steps],
            name="chosen token's probability",
            marker=dict(color=[SAMPLING_COLOUR if s.chosen_by != "you" else NO_CACHE_COLOUR for s in steps]),
            customdata=[s.token for s in steps],
            hovertemplate="step %{x}: %{customdata}<br>probability %{y:.3f}<extra></extra>",
            xaxis="x",
            yaxis="y",
        ),
        dict(
            type="scatter",
            x=x,
            y=[s.entropy_bits for s in steps],
            name="entropy (bits)",
            mode="lines+markers",
            line=dict(color=GUIDE, width=2),
            hovertemplate="step %{x}<br>%{y:.2f} bits<extra></extra>",
            xaxis="x",
            yaxis="y2",
        ),
    ]
    axes = secondary_y_axes(
        dict(title=dict(text="step"), **(dict(dtick=1) if len(x) <= 30 else {})),
        dict(title=dict(text="probability"), range=[0, 1.05], tickformat=".0%", gridcolor=GRID),
        dict(title=dict(text="entropy (bits)"), rangemode="tozero", showgrid=False),
    )
    return figure(data, layout("How sure the model was at each step (orange bars: tokens you picked)", 340, **axes))


def cache_chart(steps: Sequence[Step]) -> go.Figure:
    """Per step: the tokens held in the KV cache and its measured size in KiB (1,024 bytes)."""
    x = [s.index for s in steps]
    data = [
        dict(
            type="scatter",
            x=x,
            y=[s.cache_length for s in steps],
            name="cached tokens",
            mode="lines+markers",
            line=dict(color=CACHE_COLOUR, width=3),
            hovertemplate="step %{x}<br>%{y} tokens<extra></extra>",
            xaxis="x",
            yaxis="y",
        ),
        dict(
            type="scatter",
            x=x,
            y=[s.cache_bytes / 1024 for s in steps],
            name="measured size (KiB)",
            mode="lines",
            line=dict(color=MODEL_COLOUR, dash="dot", width=2),
            hovertemplate="step %{x}<br>%{y:,.1f} KiB<extra></extra>",
            xaxis="x",
            yaxis="y2",
        ),
    ]
    axes = secondary_y_axes(
        dict(title=dict(text="step")),
        dict(title=dict(text="tokens in the cache"), rangemode="tozero", gridcolor=GRID),
        dict(title=dict(text="KiB"), rangemode="tozero", showgrid=False),
    )
    return figure(data, layout("The KV cache grows by one token per step", 320, **axes))


def timing_chart(steps: Sequence[Step]) -> go.Figure:
    """Milliseconds per step, blue with the KV cache, vermillion when the whole sequence was recomputed."""
    data = []
    for used, name, colour in ((True, "with KV cache", CACHE_COLOUR), (False, "without KV cache", NO_CACHE_COLOUR)):
        chosen = [s for s in steps if s.used_cache == used]
        if chosen:
            data.append(
                dict(
                    type="bar",
                    x=[s.index for s in chosen],
                    y=[s.seconds * 1000 for s in chosen],
                    name=name,
                    marker=dict(color=colour),
                    hovertemplate="step %{x}<br>%{y:.1f} ms<extra></extra>",
                )
            )
    spec = layout(
        "Time per step",
        300,
        xaxis=dict(title=dict(text="step")),
        yaxis=dict(title=dict(text="ms per step"), rangemode="tozero", gridcolor=GRID),
    )
    return figure(data, spec)


def median_ms(steps: Sequence[Step], used_cache: bool) -> float | None:
    """Median milliseconds of the steps taken with (or without) the cache; None when there are none."""
    times = [s.seconds * 1000 for s in steps if s.used_cache == used_cache]
    return statistics.median(times) if times else None


def cache_formula(layers: int, kv_heads: int, head_dim: int, tokens: int, bytes_per_value: int, measured: int) -> str:
    """Markdown: the KV-cache arithmetic of seeds 001/004 next to the bytes read from the cache object."""
    expected = kv_cache_bytes(
        num_layers=layers, num_kv_heads=kv_heads, head_dim=head_dim, seq_len=tokens, bytes_per_value=bytes_per_value
    )
    verdict = "the same" if expected == measured else "different"
    return (
        f"2 (key and value) × {layers} layers × {kv_heads} key/value heads × {head_dim} head dim × "
        f"{tokens:,} tokens × {bytes_per_value} bytes = **{expected:,} bytes**; measured from the cache "
        f"object: **{measured:,} bytes** ({verdict})."
    )


def stop_message(reason: str | None, *, max_new_tokens: int, context_length: int, stop_string: str | None) -> str:
    """Plain words for why the generation ended (markdown-safe: stop strings are shown visibly escaped)."""
    if reason == EOS:
        return "Stopped: the model chose its **end-of-sequence token**, its way of saying the text is finished."
    if reason == STOP_STRING:
        shown = inert_markdown(visible_text(stop_string or ""))
        return (
            f"Stopped: the text now contains the **stop string** “{shown}” (the application's rule, not the model's)."
        )
    if reason == MAX_NEW_TOKENS:
        return f"Stopped: reached **max new tokens** ({max_new_tokens:,}), the output-token budget."
    if reason == CONTEXT_FULL:
        return (
            f"Stopped: the **context window is full** ({context_length:,} tokens); the model cannot read "
            "a longer sequence."
        )
    return ""

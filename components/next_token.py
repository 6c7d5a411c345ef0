"""The next-token probability bars: the model's full-vocabulary probabilities beside the sampler's, with an
"all other tokens" bar (never renormalised over what is shown)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.palettes import CUT_COLOUR, GRID, MODEL_COLOUR, SAMPLING_COLOUR
from components.style import layout, plotly_text


def _label(rank: int, token: str) -> str:
    return plotly_text(f"{int(rank)}. {token}" if rank else token)


def probability_bars(
    table: pd.DataFrame, *, title: str = "Next-token probabilities", show_sampling: bool = True
) -> go.Figure:
    """Horizontal bars of the candidates in a ``candidate_table``: most likely at the top.

    Shows the model's probability (full-vocabulary softmax) and, when ``show_sampling``, the probability
    after temperature/top-k/top-p beside it; cut tokens are greyed and marked "cut".

    Built from plain dicts without plotly's per-property validation: this figure is redrawn on every move of a
    sampling control, and validation cost ~10x the rest of that redraw (benchmarks/bench_foundation.py).
    """
    column = {
        name: table[name].tolist()
        for name in (  # plain Python values, read once per column
            "rank",
            "token",
            "token_id",
            "logit",
            "model_probability",
            "sampling_probability",
            "kept",
        )
    }
    labels = [_label(rank, token) for rank, token in zip(column["rank"], column["token"])]
    model_p, samp = column["model_probability"], column["sampling_probability"]
    kept = column["kept"]
    hover = [
        f"token id {t}<br>logit {lg:.3f}" if t >= 0 else "every token not listed above"
        for t, lg in zip(column["token_id"], column["logit"])
    ]
    bars = [
        dict(
            type="bar",
            y=labels,
            x=model_p,
            orientation="h",
            name="model probability",
            marker=dict(color=MODEL_COLOUR),
            text=[f"{p:.1%}" for p in model_p],
            textposition="outside",
            cliponaxis=False,
            customdata=hover,
            hovertemplate="%{y}<br>model probability %{x:.4f}<br>%{customdata}<extra></extra>",
        )
    ]
    if show_sampling:
        bars.append(
            dict(
                type="bar",
                y=labels,
                x=samp,
                orientation="h",
                name="sampling probability (after filters)",
                marker=dict(color=[SAMPLING_COLOUR if k else CUT_COLOUR for k in kept]),
                text=[f"{p:.1%}" if k else "cut" for p, k in zip(samp, kept)],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}<br>sampling probability %{x:.4f}<extra></extra>",
            )
        )
    top = max(model_p + samp, default=1.0)
    height = max(260, 38 * len(table) * (2 if show_sampling else 1) // 1.4 + 120)
    spec = dict(
        xaxis=dict(
            range=[0, min(1.0, top * 1.25) + 0.02], tickformat=".0%", title=dict(text="probability"), gridcolor=GRID
        ),
        yaxis=dict(autorange="reversed", automargin=True),
        barmode="group",
        bargap=0.25,
        **layout(title, height),
    )
    spec["margin"] = dict(spec["margin"], r=70)  # room for a "100.0%" label past the end of the axis
    return go.Figure(data=bars, layout=spec, _validate=False)

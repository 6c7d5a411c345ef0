"""Tables and bars for a model on a server: its reported top N, and one bar for the mass it did not report."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from components.inert import escape_html
from components.next_token import probability_bars
from components.palettes import CUT_COLOUR, MUTED
from components.token_chips import token_chips
from core.serving.backend import Generation, NextTokenTop, PromptLogprobs
from core.text import visible_text

NOT_REPORTED = "not reported by the server"


def remote_candidate_table(top: NextTokenTop, sampling: list[float] | None = None) -> pd.DataFrame:
    """The reported candidates plus one row for the rest, in ``candidate_table``'s columns.

    Args:
        top: the server's top N.
        sampling: the N probabilities after temperature/top-k/top-p re-applied here on the N (None: the model's).

    Returns:
        DataFrame (rank, token, token_id, logit, model_probability, sampling_probability, kept). The last row,
        "not reported by the server", holds 1 - the reported mass (never spread over the listed tokens); its
        sampling probability is 0 since the re-applied sampler can only draw the reported tokens.
    """
    probs = [t.prob for t in top.tokens]
    sampled = list(probs) if sampling is None else list(sampling)
    rows = {
        "rank": list(range(1, len(probs) + 1)),
        "token": [visible_text(t.token) for t in top.tokens],
        "token_id": [t.token_id if t.token_id is not None else 0 for t in top.tokens],
        "logit": [t.logprob for t in top.tokens],  # a log-probability: a logit up to a constant
        "model_probability": probs,
        "sampling_probability": sampled,
        "kept": [p > 0 for p in sampled],
    }
    label = NOT_REPORTED if not top.exact_rest else "all other tokens"
    for column, value in zip(rows, (0, label, -1, math.nan, top.rest_mass, 0.0, False)):
        rows[column].append(value)
    return pd.DataFrame(rows)


def remote_bars(table: pd.DataFrame, *, title: str, show_sampling: bool = True) -> go.Figure:
    """``probability_bars`` of a ``remote_candidate_table``, the last bar greyed and labelled as not reported."""
    figure = probability_bars(table, title=title, show_sampling=show_sampling)
    model = figure.data[0]
    colours = [model.marker.color] * (len(table) - 1) + [CUT_COLOUR]
    model.marker.color = colours
    if show_sampling:
        texts = list(figure.data[1].text)
        texts[-1] = "n/a"
        figure.data[1].text = texts
    return figure


def generation_html(generation: Generation) -> str:
    """The prompt (grey) and one chip per generated token, shaded by the server's probability; all escaped."""
    style = f"color:{MUTED};white-space:pre-wrap;font-family:monospace"
    prompt = f'<span style="{style}">{escape_html(generation.prompt)}</span>'
    probs = [math.exp(t.logprob) if t.logprob is not None else 0.0 for t in generation.tokens]
    titles = [f"step {i}: p = {p:.1%} (reported by the server)" for i, p in enumerate(probs, start=1)]
    chips = token_chips([t.token.replace("\n", "↵\n") or "∅" for t in generation.tokens], probs, titles)
    return f'<div style="line-height:1.9">{prompt}{chips}</div>'


def generation_table(generation: Generation) -> pd.DataFrame:
    """One row per generated token: its probability, the reported mass at its step, and the step's top tokens."""
    return pd.DataFrame(
        {
            "step": list(range(1, len(generation.tokens) + 1)),
            "token": [visible_text(t.token) for t in generation.tokens],
            "probability": [math.exp(t.logprob) if t.logprob is not None else math.nan for t in generation.tokens],
            "reported mass": [math.fsum(c.prob for c in t.top) for t in generation.tokens],
            "top candidates": [
                ", ".join(f"{visible_text(c.token)} {c.prob:.1%}" for c in t.top) for t in generation.tokens
            ],
        }
    )


def prompt_logprob_table(scored: PromptLogprobs) -> pd.DataFrame:
    """One row per token of the text: -ln p and p given the tokens before it (the first has no score)."""
    return pd.DataFrame(
        {
            "position": list(range(1, len(scored.tokens) + 1)),
            "token": [visible_text(t) for t in scored.tokens],
            "probability": [math.exp(lp) if lp is not None else math.nan for lp in scored.logprobs],
            "surprisal (nats)": [-lp if lp is not None else math.nan for lp in scored.logprobs],
        }
    )

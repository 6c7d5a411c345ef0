"""Everything the next-token page recomputes when a sampling control moves, in one function.

The page and benchmarks/bench_foundation.py both call ``sampling_view``, so the benchmark times exactly the
work a temperature / top-k / top-p change costs on the page: filter the cached logits, build the candidate
table and the bar chart, and the two numbers under it. No model call happens here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import torch

from components.next_token import probability_bars
from components.tables import candidate_table
from core.entropy import entropy_bits
from core.next_token import NextTokenDistribution
from core.sampling import sampling_probs


@dataclass(frozen=True)
class SamplingView:
    """The sampler's view of one cached distribution under one setting of the controls."""

    probs: torch.Tensor  # (V,) what the sampler draws from (softmax after the filters)
    table: pd.DataFrame  # candidate_table: top-n rows plus "all other tokens"
    figure: go.Figure  # probability_bars of the table
    entropy_bits: float  # entropy of ``probs``
    kept: int  # tokens the sampler can still pick


def sampling_view(
    dist: NextTokenDistribution, top_n: int, temperature: float, top_k: int, top_p: float
) -> SamplingView:
    """Filter ``dist``'s cached logits with the controls and build what the page shows.

    Uses the distribution's cached order of its logits, most likely first (see core.sampling.filter_logits), so a
    top-p change does not re-sort the whole vocabulary from scratch.
    """
    probs = sampling_probs(dist.logits, temperature=temperature, top_k=top_k, top_p=top_p, order=dist.order)
    kept = int((probs > 0).sum())
    table = candidate_table(dist, top_n, probs, kept)
    return SamplingView(probs, table, probability_bars(table), entropy_bits(probs), kept)

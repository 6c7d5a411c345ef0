"""Tables built from core results (pandas DataFrames), ready for charts, st.dataframe and CSV."""

from __future__ import annotations

import pandas as pd
import torch

from core.next_token import NextTokenDistribution

OTHER_TOKENS = "all other tokens"


def candidate_table(
    dist: NextTokenDistribution, n: int, sampling: torch.Tensor | None = None, kept: int | None = None
) -> pd.DataFrame:
    """``candidate_columns`` as a DataFrame."""
    return pd.DataFrame(candidate_columns(dist, n, sampling, kept))


def candidate_columns(
    dist: NextTokenDistribution, n: int, sampling: torch.Tensor | None = None, kept: int | None = None
) -> dict[str, list]:
    """Top-n candidates plus one "all other tokens" row, as plain lists per column.

    Args:
        dist: the model's next-token distribution.
        n: how many candidates to list.
        sampling: (V,) probabilities after temperature/top-k/top-p, or None to show the model's only.
        kept: ``int((sampling > 0).sum())`` when the caller has it already (else counted here).

    Returns:
        column -> values: rank, token, token_id, logit, model_probability, sampling_probability, kept.
        The last row is "all other tokens" (rank 0) holding the rest of the full-vocabulary mass (absent when
        the n candidates are the whole vocabulary).
    """
    sampled = sampling if sampling is not None else dist.probs
    top = dist.candidates(n)
    n = len(top.ids)
    listed_sampling = sampled[top.index]
    kept_listed = listed_sampling > 0
    columns = {
        "rank": list(range(1, n + 1)),
        "token": list(top.labels),
        "token_id": list(top.ids),
        "logit": list(top.logits),
        "model_probability": list(top.probs),
        "sampling_probability": listed_sampling.tolist(),
        "kept": kept_listed.tolist(),
    }
    rest = dist.vocab_size - n
    if rest:
        kept_rest = (int((sampled > 0).sum()) if kept is None else kept) - int(kept_listed.sum())
        # Differences in float64 of full-vocabulary sums: the rest of the softmax, never renormalised.
        sampled_rest = float(sampled.double().sum() - listed_sampling.double().sum()) if kept_rest else 0.0
        for column, value in (
            ("rank", 0),
            ("token", f"{OTHER_TOKENS} ({rest:,})"),
            ("token_id", -1),
            ("logit", float("nan")),
            ("model_probability", top.other_mass),
            ("sampling_probability", max(0.0, sampled_rest)),
            ("kept", kept_rest > 0),
        ):
            columns[column].append(value)
    return columns


def columns_inputs(columns: dict[str, list]) -> tuple:
    """A table's columns and values as a hashable tuple (NaN as None, so equal tables give equal keys): the key of
    a figure built from that table alone (``ui.charts.shared_figure``)."""
    return tuple(
        (name, tuple(None if value != value else value for value in values)) for name, values in columns.items()
    )

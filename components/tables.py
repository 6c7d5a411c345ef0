"""Tables built from core results (pandas DataFrames), ready for charts, st.dataframe and CSV."""
from __future__ import annotations

import pandas as pd
import torch

from core.next_token import NextTokenDistribution

OTHER_TOKENS = "all other tokens"


def candidate_table(dist: NextTokenDistribution, n: int, sampling: torch.Tensor | None = None) -> pd.DataFrame:
    """Top-n candidates plus one "all other tokens" row.

    Args:
        dist: the model's next-token distribution.
        n: how many candidates to list.
        sampling: (V,) probabilities after temperature/top-k/top-p, or None to show the model's only.

    Returns:
        DataFrame with columns rank, token, token_id, logit, model_probability, sampling_probability, kept.
        The last row is "all other tokens" (rank 0) holding the rest of the full-vocabulary mass (absent when
        the n candidates are the whole vocabulary).
    """
    rows = dist.top_rows(n)
    ids = [r.token_id for r in rows]
    sampled = sampling if sampling is not None else dist.probs
    frame = pd.DataFrame(
        {
            "rank": [r.rank for r in rows],
            "token": [r.token for r in rows],
            "token_id": ids,
            "logit": [r.logit for r in rows],
            "model_probability": [r.probability for r in rows],
            "sampling_probability": [float(sampled[i]) for i in ids],
            "kept": [bool(sampled[i] > 0) for i in ids],
        }
    )
    rest_ids = dist.vocab_size - len(ids)
    if rest_ids == 0:
        return frame
    rest = torch.ones(dist.vocab_size, dtype=torch.bool)
    rest[ids] = False
    sampled_rest = float(sampled[rest].double().sum())
    kept_rest = int((sampled > 0).sum()) - int(frame["kept"].sum())
    other = {
        "rank": 0,
        "token": f"{OTHER_TOKENS} ({rest_ids:,})",
        "token_id": -1,
        "logit": float("nan"),
        "model_probability": dist.other_mass(n),
        "sampling_probability": sampled_rest,
        "kept": kept_rest > 0,
    }
    return pd.concat([frame, pd.DataFrame([other])], ignore_index=True)

"""Temperature sweeps: the same logits at several temperatures, and entropy as temperature moves."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from core.next_token import entropy_bits
from core.sampling import sampling_probs


def probs_at_temperatures(logits: torch.Tensor, temperatures: Sequence[float], ids: Sequence[int]) -> np.ndarray:
    """Probabilities of the tokens ``ids`` at each temperature, from the full-vocabulary softmax.

    Args:
        logits: (V,) logits.
        temperatures: K temperatures (0 = greedy).
        ids: N token ids to report.

    Returns:
        (K, N) float64 array.
    """
    index = torch.tensor(list(ids), dtype=torch.long)
    return np.stack([sampling_probs(logits, temperature=float(t))[index].double().numpy() for t in temperatures])


def entropy_curve(logits: torch.Tensor, temperatures: Sequence[float]) -> np.ndarray:
    """Entropy in bits of softmax(logits / T) for each T; (K,) float64. T = 0 gives 0 bits."""
    return np.array([entropy_bits(sampling_probs(logits, temperature=float(t))) for t in temperatures])

"""Temperature: the operation (divide the logits by T; T = 0 is greedy) and its sweeps (the same logits at
several temperatures, and entropy as temperature moves). ``core.sampling`` applies it before top-k and top-p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from transformers import TemperatureLogitsWarper

from core.entropy import entropy_bits

_NO_INPUT_IDS = torch.empty((1, 0), dtype=torch.long)  # the warper ignores input_ids; never written to


def check_temperature(temperature: float) -> None:
    """Raise ValueError naming the value unless ``temperature`` is a finite number >= 0."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy), got {temperature!r}")


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Scale logits by temperature: logits / T, so softmax(logits / T) is sharper below 1 and flatter above.

    T = 0 is greedy, special-cased (transformers' ``TemperatureLogitsWarper`` rejects 0): only the highest logit
    keeps its value (the first one on a tie), every other token gets -inf. T > 0 is transformers' own warper.

    Args:
        logits: (..., V) scores over the whole vocabulary; any float dtype (upcast to float32).
        temperature: >= 0.

    Returns:
        (..., V) float32 logits; a new tensor, the input is never modified.
    """
    check_temperature(temperature)
    scores = logits.detach().float()  # (..., V)
    if temperature == 0:
        best = scores.argmax(dim=-1, keepdim=True)  # (..., 1)
        return torch.full_like(scores, float("-inf")).scatter(-1, best, scores.gather(-1, best))
    return TemperatureLogitsWarper(float(temperature))(_NO_INPUT_IDS, scores)


def temperature_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) over the whole vocabulary; (V,) float32. T = 0 puts all the mass on the argmax."""
    return torch.softmax(apply_temperature(logits, temperature), dim=-1)


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
    return np.stack([temperature_probs(logits, float(t))[index].double().numpy() for t in temperatures])


def entropy_curve(logits: torch.Tensor, temperatures: Sequence[float]) -> np.ndarray:
    """Entropy in bits of softmax(logits / T) for each T; (K,) float64. T = 0 gives 0 bits."""

    return np.array([entropy_bits(temperature_probs(logits, float(t))) for t in temperatures])

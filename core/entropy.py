"""Entropy: how uncertain a next-token distribution is, in bits."""

from __future__ import annotations

import math

import torch

LN2 = math.log(2.0)


def entropy_bits(probs: torch.Tensor) -> float:
    """Shannon entropy in bits of a distribution over the last dimension; (V,) -> float. 0 * log 0 = 0.

    ``torch.special.entr`` (-p ln p, 0 at p = 0) in float64: one pass, and fast on the many exact zeros a
    top-k / top-p filter leaves (log2 of zero was the slow part of the obvious formula).
    """
    return max(0.0, float(torch.special.entr(probs.double()).sum()) / LN2)

"""The sampling pipeline: temperature -> top-k -> top-p on full-vocabulary logits, then a seeded draw.

Temperature, top-k and top-p are transformers' own logits warpers (the ones ``generate`` uses), so the
app shows exactly the distribution ``generate(do_sample=True)`` samples from. Temperature 0 means greedy.
The temperature operation itself lives in ``core.temperature.apply_temperature``; the order is kept here.
"""

from __future__ import annotations

import torch
from transformers import TopKLogitsWarper, TopPLogitsWarper

from core.temperature import apply_temperature, check_temperature

_NO_INPUT_IDS = torch.empty((1, 0), dtype=torch.long)  # the warpers ignore input_ids; never written to


def check_sampling_args(temperature: float, top_k: int, top_p: float) -> None:
    """Raise ValueError naming the value when a sampling argument is out of range."""
    check_temperature(temperature)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k must be a whole number >= 0 (0 means off), got {top_k!r}")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not (0.0 <= top_p <= 1.0):
        raise ValueError(f"top_p must be between 0 and 1 (1 means off), got {top_p!r}")


def descending_order(logits: torch.Tensor) -> torch.Tensor:
    """(V,) int64 indices that sort ``logits`` (V,) from most to least likely, ties in index order (stable)."""
    return torch.sort(logits.detach().float(), descending=True, stable=True).indices


def filter_logits(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    order: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply temperature, then top-k, then top-p to one position's logits.

    Args:
        logits: (V,) scores over the whole vocabulary; any float dtype (upcast to float32 first).
        temperature: > 0 divides the logits; 0 is greedy (only the argmax keeps its logit).
        top_k: keep the k highest-scoring tokens; 0 is off; larger than V keeps everything.
        top_p: keep the smallest set of top tokens whose probability reaches top_p; 1 is off; 0 keeps one.
        order: optional ``descending_order(logits)``, kept with cached logits. Top-p (without top-k) then runs
            on the logits laid out from most to least likely and the result is put back in vocabulary order:
            the same tensor, but the warper's full-vocabulary sort meets ordered data and runs about 8x faster
            (temperature never changes the order).

    Returns:
        (V,) float32 logits; removed tokens are -inf. At least one token is always kept. The input is
        never modified.
    """
    check_sampling_args(temperature, top_k, top_p)
    if logits.dim() != 1:
        raise ValueError(f"logits must be 1-D over the vocabulary, got shape {tuple(logits.shape)}")
    scores = logits.detach().float()  # (V,) upcast once; every step below writes a new tensor, never the input
    if temperature == 0:
        return apply_temperature(scores, 0)  # greedy: only the argmax keeps its logit; top-k/top-p change nothing
    if order is not None and (order.shape != scores.shape or order.dtype != torch.long):
        raise ValueError(f"order must be the (V,) int64 descending_order of the logits, got {tuple(order.shape)}")
    scores = scores.unsqueeze(0)  # (1, V): the warpers work on batches
    scores = apply_temperature(scores, temperature)
    if top_k > 0:
        scores = TopKLogitsWarper(top_k)(_NO_INPUT_IDS, scores)
    if top_p < 1.0:
        top_p_warper = TopPLogitsWarper(float(top_p))
        if order is None or top_k > 0:  # after top-k most logits are -inf and the sort is quick anyway
            scores = top_p_warper(_NO_INPUT_IDS, scores)
        else:
            scores = _top_p_in_order(top_p_warper, scores, order)
    return scores.squeeze(0)


def _top_p_in_order(top_p_warper: TopPLogitsWarper, scores: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Top-p on (1, V) scores laid out in descending ``order`` (which temperature keeps), put back in place.

    The warper removes the least likely tokens, a suffix of this layout; its own sort meets ordered data here,
    which is fast. When a group of exactly tied logits straddles the cut, which of them is cut depends on how
    the sort breaks ties, so then the warper runs on the scores as they are, to give exactly what it gives
    without ``order``.
    """
    laid_out = scores.index_select(1, order)  # (1, V) most likely first
    filtered = top_p_warper(_NO_INPUT_IDS, laid_out)  # (1, V)
    kept = laid_out.shape[-1] - int(torch.isinf(filtered).sum())  # the kept prefix's length
    if 0 < kept < laid_out.shape[-1]:
        last_kept, first_cut = laid_out[0, kept - 1 : kept + 1].tolist()
        if last_kept == first_cut:
            return top_p_warper(_NO_INPUT_IDS, scores)
    return torch.empty_like(filtered).scatter_(1, order.unsqueeze(0), filtered)


def sampling_probs(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    order: torch.Tensor | None = None,
) -> torch.Tensor:
    """Probabilities the sampler draws from: softmax of ``filter_logits``; (V,) float32, sums to 1."""
    filtered = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p, order=order)
    return torch.softmax(filtered, dim=-1)


def make_generator(seed: int) -> torch.Generator:
    """A CPU torch.Generator seeded with ``seed``: the only source of randomness in the app."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not (0 <= seed < 2**63):
        raise ValueError(f"seed must be a whole number between 0 and 2**63 - 1, got {seed!r}")
    return torch.Generator(device="cpu").manual_seed(seed)


def sample_token(probs: torch.Tensor, generator: torch.Generator) -> int:
    """Draw one token id from ``probs`` (V,) with an explicit seeded generator."""
    if probs.dim() != 1 or not torch.isfinite(probs).all() or (probs < 0).any() or probs.sum() <= 0:
        raise ValueError("probs must be a 1-D tensor of finite, non-negative numbers with a positive sum")
    return int(torch.multinomial(probs.float(), num_samples=1, generator=generator).item())

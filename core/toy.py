"""A hand-typed toy vocabulary: a few tokens and their logits, shaped like a real model's output."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from core.next_token import NextTokenDistribution, distribution_from_logits
from core.text import TextError, control_problem

MAX_TOY_TOKENS = 50


class ToyError(TextError):
    """Toy tokens or logits, as typed, that do not make a toy vocabulary; the message says how to fix them."""


class ToyTokenizer:
    """Decodes toy token ids to their typed strings, so toy and real distributions render alike."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.tokens[int(i)] for i in ids)

    def convert_ids_to_tokens(self, token_id: int) -> str:
        return self.tokens[int(token_id)]


def parse_toy(tokens_text: str, logits_text: str) -> tuple[list[str], list[float]]:
    """Parse comma-separated tokens and logits; raise ToyError with a clear message when they do not fit."""
    for text, what in ((tokens_text, "toy tokens"), (logits_text, "toy logits")):
        if problem := control_problem(text or "", what):
            raise ToyError(problem)
    tokens = [t.strip() for t in (tokens_text or "").split(",")]
    if not tokens or any(not t for t in tokens):
        raise ToyError("Give the toy tokens as a comma-separated list with no empty entries, e.g. 'cat, dog, mat'.")
    if len(tokens) > MAX_TOY_TOKENS:
        raise ToyError(f"A toy vocabulary holds at most {MAX_TOY_TOKENS} tokens; you gave {len(tokens)}.")
    if len(set(tokens)) != len(tokens):
        raise ToyError("Each toy token must appear only once.")
    logits = []
    for part in (logits_text or "").split(","):
        try:
            value = float(part.strip())
        except ValueError:
            raise ToyError(f"'{part.strip()[:20]}' is not a number; logits are numbers like 3.0 or -1.5.") from None
        if not math.isfinite(value) or abs(value) > 1e4:
            raise ToyError(f"Logit {part.strip()[:20]} is out of range; use finite numbers between -10000 and 10000.")
        logits.append(value)
    if len(logits) != len(tokens):
        raise ToyError(f"There are {len(tokens)} tokens but {len(logits)} logits: give one logit per token.")
    return tokens, logits


def toy_distribution(tokens: Sequence[str], logits: Sequence[float]) -> NextTokenDistribution:
    """A NextTokenDistribution over a toy vocabulary (softmax of the given logits)."""
    return distribution_from_logits(torch.tensor(list(logits), dtype=torch.float32), ToyTokenizer(tokens))


def numpy_samples(tokens: Sequence[str], probs: Sequence[float], seed: int, n: int) -> list[str]:
    """Draw ``n`` tokens one at a time with ``np.random.default_rng(seed).choice``, exactly as seed 001 does."""
    rng = np.random.default_rng(seed)
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum()
    return [str(rng.choice(np.asarray(tokens), p=p)) for _ in range(n)]

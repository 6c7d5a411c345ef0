"""The next-token distribution: full-vocabulary logits and softmax for the token after a prompt."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from core.entropy import entropy_bits
from core.forward import ForwardFn, Need, forward_record
from core.models import LoadedModel
from core.prompt import encode_prompt
from core.sampling import descending_order
from core.text import token_label


@dataclass(frozen=True)
class TokenRow:
    """One candidate next token as a table row."""

    rank: int
    token_id: int
    token: str
    logit: float
    probability: float


@dataclass(frozen=True)
class Candidates:
    """The n most probable next tokens of one distribution, most probable first (prompt-dependent only)."""

    index: torch.Tensor  # (n,) int64 token ids
    ids: list[int]
    labels: list[str]  # readable token text, whitespace visible
    logits: list[float]
    probs: list[float]  # full-vocabulary softmax probabilities
    other_mass: float  # probability of every other token (float64 sum, never renormalised)


@dataclass(frozen=True, eq=False)
class NextTokenDistribution:
    """The model's belief about the next token after a prompt.

    Attributes:
        logits: (V,) float32 raw scores over the whole vocabulary.
        probs: (V,) float32 softmax of ``logits`` over the whole vocabulary (never renormalised).
        prompt_ids: the token ids the model read (the end of the prompt when it was too long).
        dropped_tokens: how many tokens were cut from the start to fit the window (0 when none).
        tokenizer: anything with ``decode`` and ``convert_ids_to_tokens``.
    """

    logits: torch.Tensor
    probs: torch.Tensor
    prompt_ids: list[int]
    dropped_tokens: int
    tokenizer: Any = field(repr=False)

    @cached_property
    def order(self) -> torch.Tensor:
        """(V,) token ids from most to least likely: computed once, then every ``sampling_probs(...,
        order=dist.order)`` on these cached logits skips most of top-p's sort."""
        return descending_order(self.logits)

    @cached_property
    def _candidates(self) -> dict[int, Candidates]:
        return {}

    def candidates(self, n: int) -> Candidates:
        """The top-n candidates, computed once per n: a sampling-control change reuses them."""
        n = max(1, min(int(n), self.vocab_size))
        if n not in self._candidates:
            top = torch.topk(self.probs, n)  # (n,) most probable first
            ids = top.indices.tolist()
            rest = float(self.probs.double().sum() - top.values.double().sum())
            self._candidates[n] = Candidates(
                top.indices,
                ids,
                [self.token_text(i) for i in ids],
                self.logits[top.indices].tolist(),
                top.values.tolist(),
                max(0.0, rest),
            )
        return self._candidates[n]

    @property
    def vocab_size(self) -> int:
        return int(self.probs.shape[-1])

    @cached_property
    def entropy_bits(self) -> float:
        """Uncertainty of the next token in bits (computed once per distribution)."""
        return entropy_bits(self.probs)

    @property
    def effective_choices(self) -> float:
        """2 ** entropy: how many equally likely tokens would be this uncertain."""
        return 2.0**self.entropy_bits

    def token_text(self, token_id: int) -> str:
        """Readable text of a token with whitespace made visible."""
        return token_label(self.tokenizer, token_id)

    def raw_text(self, token_id: int) -> str:
        """The token's text exactly as it would be appended to the prompt."""
        return self.tokenizer.decode([int(token_id)])

    def top_ids(self, n: int) -> list[int]:
        """Ids of the n most probable tokens, most probable first."""
        return list(self.candidates(n).ids)

    def top_rows(self, n: int) -> list[TokenRow]:
        """The n most probable tokens as rows (rank from 1), from the full-vocabulary softmax."""
        top = self.candidates(n)
        return [
            TokenRow(rank, i, label, logit, p)
            for rank, (i, label, logit, p) in enumerate(zip(top.ids, top.labels, top.logits, top.probs), start=1)
        ]

    def other_mass(self, n: int) -> float:
        """Probability of every token outside the top n (the "all other tokens" bar)."""
        return self.candidates(n).other_mass

    def rank_of(self, token_id: int) -> int:
        """1-based rank of a token by probability (1 = most likely)."""
        return int((self.probs > self.probs[int(token_id)]).sum()) + 1


def next_token_probs(logits: torch.Tensor) -> torch.Tensor:
    """The model's next-token probabilities: the softmax of one position's logits over the whole vocabulary.

    The app's one home for this softmax (the distribution shown, the Stepper's step, the pipeline's sampled token);
    nothing is renormalised over what a chart displays.

    Args:
        logits: (V,) one position's logits, any float dtype.

    Returns:
        (V,) float32 probabilities summing to 1.
    """
    return torch.softmax(logits.detach().float().reshape(-1), dim=-1)  # (V,) upcast once


def distribution_from_logits(
    logits: torch.Tensor, tokenizer: Any, prompt_ids: list[int] | None = None, dropped_tokens: int = 0
) -> NextTokenDistribution:
    """Wrap one position's logits (V,) as a NextTokenDistribution (upcast to float32 first)."""
    logits = logits.detach().float().reshape(-1)  # (V,)
    return NextTokenDistribution(logits, next_token_probs(logits), list(prompt_ids or []), dropped_tokens, tokenizer)


def next_token_distribution(
    lm: LoadedModel, text: str, *, max_tokens: int | None = None, forward: ForwardFn = forward_record
) -> NextTokenDistribution:
    """Run the model once on ``text`` and return the distribution of the token that comes next.

    Args:
        lm: a loaded model.
        text: the prompt; checked by ``clean_prompt`` (empty prompts raise PromptError).
        max_tokens: keep at most this many prompt tokens (default MAX_PROMPT_TOKENS, never above the window).
        forward: how to get the forward pass (default: run it; a session passes its memo of ForwardRecords).
    """
    ids, dropped = encode_prompt(lm, text, max_tokens)
    record = forward(lm, ids, Need(positions=1))  # only the last position's logits: the lm_head runs once
    return distribution_from_logits(record.next_token_logits, lm.tokenizer, ids, dropped)

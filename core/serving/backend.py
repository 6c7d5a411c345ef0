"""The backend the pages ask for numbers: the local transformers model, or a model on an inference server.

``Backend`` says what it can give (``Capabilities``): the local model gives the whole vocabulary's softmax, prompt
log-probabilities and its weights (attention, logit lens, the KV cache); a server gives only the top N of each
distribution it reports, prompt log-probabilities when it has them, and no weights (core/remote_backend.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from core.generation import TOP_CANDIDATES, Stepper
from core.models import LoadedModel
from core.next_token import next_token_distribution
from core.perplexity import perplexity
from core.sampling import sampling_probs


class Unsupported(Exception):
    """The backend cannot give this (the message says so, for a teacher)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend gives.

    Attributes:
        label: how the model picker names it.
        full_vocabulary: True when next_token knows every token's probability (the rest is exact); False when
            only the top ``max_top_n`` are reported and the rest is "not reported".
        max_top_n: the most candidates one call may ask for.
        prompt_logprobs: True / False, or None when only trying tells (a server may or may not give them).
        weights: attention, the logit lens and the measured KV cache need the weights in this process.
    """

    label: str
    full_vocabulary: bool
    max_top_n: int
    prompt_logprobs: bool | None
    weights: bool


@dataclass(frozen=True)
class TopToken:
    """One candidate token with its log-probability under the model (natural log, whole vocabulary)."""

    token: str  # the text it adds
    logprob: float
    token_id: int | None = None  # None when the backend reports text only (OpenAI-style completions)

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)


@dataclass(frozen=True)
class NextTokenTop:
    """The top candidates for the token after a prompt, most likely first, and what is known of the rest.

    Attributes:
        tokens: the candidates the backend reported.
        exact_rest: True when ``rest_mass`` is the exact probability of every other token (local model); False
            when it is only what the server did not report (1 - reported mass).
    """

    tokens: tuple[TopToken, ...]
    exact_rest: bool
    rest: float | None = None  # the exact rest when known

    @property
    def reported_mass(self) -> float:
        return float(math.fsum(t.prob for t in self.tokens))

    @property
    def rest_mass(self) -> float:
        """Probability outside ``tokens``: exact for the local model, else 1 - reported (never renormalised)."""
        if self.rest is not None:
            return self.rest
        return max(0.0, 1.0 - self.reported_mass)


@dataclass(frozen=True)
class GeneratedToken:
    """One generated token, its log-probability and the top candidates at its step."""

    token: str
    logprob: float | None
    top: tuple[TopToken, ...]
    token_id: int | None = None


@dataclass(frozen=True)
class Generation:
    """A generated continuation, step by step."""

    prompt: str
    tokens: tuple[GeneratedToken, ...]
    finish_reason: str | None

    @property
    def text(self) -> str:
        return "".join(t.token for t in self.tokens)


@dataclass(frozen=True)
class PromptLogprobs:
    """Teacher-forced log-probabilities of a text's own tokens (the first token has none: nothing precedes it)."""

    tokens: tuple[str, ...]
    logprobs: tuple[float | None, ...]

    @property
    def nll(self) -> np.ndarray:
        """(S,) -ln p of each scored token (every token but the first), in nats."""
        return -np.array([lp for lp in self.logprobs if lp is not None], dtype=np.float64)

    @property
    def perplexity(self) -> float:
        nll = self.nll
        if nll.size == 0:
            raise Unsupported("The text is a single token: nothing to score.")
        return math.exp(float(nll.mean()))


@runtime_checkable
class Backend(Protocol):
    """What the pages ask of a model, wherever it runs."""

    @property
    def capabilities(self) -> Capabilities: ...

    def next_token(self, prompt: str, top_n: int) -> NextTokenTop: ...

    def generate(
        self,
        prompt: str,
        steps: int,
        *,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        top_n: int = 5,
    ) -> Generation: ...

    def prompt_logprobs(self, text: str) -> PromptLogprobs: ...


def reapply_sampling(top: NextTokenTop, temperature: float, top_k: int, top_p: float) -> list[float]:
    """Temperature / top-k / top-p re-applied here on the reported candidates only (core.sampling's filters).

    A server reports only its top N, so the sampler's view computed here is over those N tokens: it sums to 1
    over them, which is what a sampler restricted to them would draw from (not the server's own sampler).
    """
    logprobs = torch.tensor([t.logprob for t in top.tokens], dtype=torch.float32)  # (N,)
    return sampling_probs(logprobs, temperature=temperature, top_k=top_k, top_p=top_p).tolist()


class LocalBackend:
    """The model in this process: the existing core functions, wrapped (no math of its own)."""

    def __init__(self, lm: LoadedModel) -> None:
        self.lm = lm

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(self.lm.name, True, int(self.lm.facts.vocab_size), True, True)

    def next_token(self, prompt: str, top_n: int) -> NextTokenTop:
        dist = next_token_distribution(self.lm, prompt)
        top = dist.candidates(top_n)
        tokens = tuple(TopToken(dist.raw_text(i), math.log(p), i) for i, p in zip(top.ids, top.probs) if p > 0)
        return NextTokenTop(tokens, exact_rest=True, rest=top.other_mass)

    def generate(
        self,
        prompt: str,
        steps: int,
        *,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        top_n: int = 5,
    ) -> Generation:
        """``steps`` tokens from the Stepper (temperature 0: greedy), each with its top ``top_n`` (at most 20)."""
        stepper = Stepper(
            self.lm, prompt, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, max_new_tokens=steps
        )
        taken = stepper.run(steps)
        n = max(1, min(int(top_n), TOP_CANDIDATES))
        tokens = tuple(
            GeneratedToken(
                s.text,
                math.log(s.model_probability) if s.model_probability > 0 else None,
                tuple(
                    TopToken(self.lm.tokenizer.decode([c.token_id]), math.log(c.model_probability), c.token_id)
                    for c in s.top[:n]
                    if c.model_probability > 0
                ),
                s.token_id,
            )
            for s in taken
        )
        return Generation(prompt, tokens, stepper.stop_reason)

    def prompt_logprobs(self, text: str) -> PromptLogprobs:
        """core.perplexity without a start token: the first token is not scored, as a server's echo gives it."""
        result = perplexity(self.lm, text, add_bos=False)
        decode = self.lm.tokenizer.decode
        tokens = tuple(decode([int(i)]) for i in result.token_ids)
        return PromptLogprobs(tokens, (None, *(-float(x) for x in result.nll)))

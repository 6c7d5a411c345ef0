"""The backend interface: the local backend wraps the core functions exactly; re-applied sampling is over the top N."""

from __future__ import annotations

import math

import pytest
import torch

from core.generation import Stepper
from core.next_token import next_token_distribution
from core.perplexity import perplexity
from core.sampling import sampling_probs
from core.serving.backend import (
    Backend,
    LocalBackend,
    NextTokenTop,
    PromptLogprobs,
    TopToken,
    Unsupported,
    reapply_sampling,
)

PROMPT = "The package left the warehouse and"


def test_local_next_token_is_the_full_vocabulary_softmax(bundled_lm):
    backend = LocalBackend(bundled_lm)
    assert isinstance(backend, Backend)
    assert backend.capabilities.full_vocabulary and backend.capabilities.weights
    top = backend.next_token(PROMPT, 10)
    dist = next_token_distribution(bundled_lm, PROMPT)
    assert [t.token_id for t in top.tokens] == dist.top_ids(10)
    assert [t.prob for t in top.tokens] == pytest.approx(dist.candidates(10).probs, rel=1e-6)
    assert top.exact_rest and top.rest_mass == pytest.approx(dist.other_mass(10), abs=1e-9)
    assert top.reported_mass + top.rest_mass == pytest.approx(1.0, abs=1e-5)
    assert top.tokens[0].token == dist.raw_text(dist.top_ids(1)[0])


def test_local_greedy_generation_is_the_steppers(bundled_lm):
    generation = LocalBackend(bundled_lm).generate(PROMPT, 8, temperature=0.0, top_n=3)
    stepper = Stepper(bundled_lm, PROMPT, temperature=0.0, max_new_tokens=8)
    steps = stepper.run(8)
    assert [t.token_id for t in generation.tokens] == [s.token_id for s in steps]
    assert generation.text == stepper.text
    for token, step in zip(generation.tokens, steps):
        assert len(token.top) == 3
        assert token.top[0].token_id == step.token_id  # greedy: the chosen token is the most likely
        assert token.logprob == pytest.approx(math.log(step.model_probability), abs=1e-6)


def test_local_prompt_logprobs_are_core_perplexitys(bundled_lm):
    text = "The warehouse shipped every package on time."
    scored = LocalBackend(bundled_lm).prompt_logprobs(text)
    reference = perplexity(bundled_lm, text, add_bos=False)
    assert scored.logprobs[0] is None and len(scored.tokens) == len(reference.token_ids)
    assert scored.nll == pytest.approx(reference.nll, abs=1e-9)
    assert scored.perplexity == pytest.approx(reference.perplexity, rel=1e-9)
    assert "".join(scored.tokens) == text


def test_reapplied_sampling_uses_the_filters_on_the_reported_tokens_only():
    top = NextTokenTop(
        (TopToken("a", math.log(0.5)), TopToken("b", math.log(0.2)), TopToken("c", math.log(0.1))), False
    )
    assert top.rest_mass == pytest.approx(0.2)  # never renormalised: 1 - reported
    probs = reapply_sampling(top, 0.7, 2, 1.0)
    expected = sampling_probs(torch.log(torch.tensor([0.5, 0.2, 0.1])), temperature=0.7, top_k=2, top_p=1.0)
    assert probs == pytest.approx(expected.tolist(), abs=1e-6)
    assert probs[2] == 0.0 and sum(probs) == pytest.approx(1.0)
    assert reapply_sampling(top, 0.0, 0, 1.0) == [1.0, 0.0, 0.0]  # temperature 0: greedy on what was reported


def test_a_single_token_has_no_perplexity():
    with pytest.raises(Unsupported):
        _ = PromptLogprobs(("a",), (None,)).perplexity

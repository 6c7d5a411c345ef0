"""The sampling pipeline equals transformers' own warpers, never mutates input, and is seeded."""

import itertools

import pytest
import torch
from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from core.sampling import descending_order, filter_logits, make_generator, sample_token, sampling_probs

NO_IDS = torch.empty((1, 0), dtype=torch.long)


def reference(logits, temperature, top_k, top_p):
    """What generate(do_sample=True) does: temperature -> top-k -> top-p, transformers' classes."""
    scores = logits.float().unsqueeze(0).clone()
    scores = TemperatureLogitsWarper(temperature)(NO_IDS, scores)
    if top_k:
        scores = TopKLogitsWarper(top_k)(NO_IDS, scores)
    if top_p < 1:
        scores = TopPLogitsWarper(top_p)(NO_IDS, scores)
    return scores.squeeze(0)


@pytest.mark.parametrize(
    "temperature,top_k,top_p",
    list(itertools.product([0.3, 0.7, 1.0, 1.7, 3.0], [0, 1, 5, 50, 10**6], [0.0, 0.1, 0.5, 0.9, 1.0])),
)
def test_filters_equal_transformers_warpers(temperature, top_k, top_p):
    generator = torch.Generator().manual_seed(int(temperature * 100) + top_k + int(top_p * 10))
    for vocab in (7, 1000):
        logits = torch.randn(vocab, generator=generator) * 4
        ours = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
        theirs = reference(logits, temperature, top_k, top_p)
        assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
        finite = torch.isfinite(theirs)
        assert torch.allclose(ours[finite], theirs[finite])
        probs = sampling_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)
        assert abs(float(probs.sum()) - 1.0) < 1e-5
        assert int((probs > 0).sum()) >= 1


@pytest.mark.parametrize(
    "temperature,top_k,top_p", list(itertools.product([0.3, 1.0, 3.0], [0, 5, 50], [0.0, 0.3, 0.9, 0.999, 1.0]))
)
def test_cached_order_gives_the_identical_result(temperature, top_k, top_p):
    """The ``order`` shortcut (top-p on logits laid out most likely first) is exactly the plain pipeline, ties
    included."""
    generator = torch.Generator().manual_seed(7)
    for logits in (
        torch.randn(1000, generator=generator) * 4,
        torch.round(torch.randn(5000, generator=generator) * 3),  # thousands of tied logits
        torch.zeros(300),
    ):  # every logit tied
        plain = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
        ordered = filter_logits(
            logits, temperature=temperature, top_k=top_k, top_p=top_p, order=descending_order(logits)
        )
        assert torch.equal(plain, ordered)
        assert torch.equal(ordered, reference(logits, temperature, top_k, top_p))


def test_cached_order_on_the_bundled_model(bundled_lm):
    from core.next_token import next_token_distribution

    dist = next_token_distribution(bundled_lm, "The capital of France is")
    assert torch.equal(dist.logits[dist.order], torch.sort(dist.logits, descending=True).values)
    for temperature, top_p in ((0.7, 0.9), (1.0, 0.5), (2.5, 0.95)):
        assert torch.equal(
            sampling_probs(dist.logits, temperature=temperature, top_p=top_p, order=dist.order),
            sampling_probs(dist.logits, temperature=temperature, top_p=top_p),
        )


def test_order_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="order"):
        filter_logits(torch.randn(10), top_p=0.5, order=torch.arange(9))


def test_never_mutates_input_and_upcasts_half_precision():
    logits = (torch.randn(500) * 3).half()
    copy = logits.clone()
    out = filter_logits(logits, temperature=0.5, top_k=10, top_p=0.8)
    assert torch.equal(logits, copy)
    assert out.dtype == torch.float32
    assert torch.allclose(sampling_probs(logits).sum(), torch.tensor(1.0))


def test_temperature_zero_is_greedy_one_hot():
    logits = torch.tensor([0.1, 2.5, -1.0, 2.4])
    probs = sampling_probs(logits, temperature=0.0, top_k=3, top_p=0.5)
    assert probs.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert torch.isinf(filter_logits(logits, temperature=0)).sum() == 3


def test_top_p_zero_and_top_k_one_keep_exactly_one_token():
    logits = torch.randn(100)
    for kwargs in ({"top_p": 0.0}, {"top_k": 1}):
        probs = sampling_probs(logits, **kwargs)
        assert int((probs > 0).sum()) == 1
        assert int(probs.argmax()) == int(logits.argmax())


def test_top_k_larger_than_vocabulary_keeps_everything():
    logits = torch.randn(30)
    assert torch.allclose(sampling_probs(logits, top_k=10**6), torch.softmax(logits, -1))


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": -0.01}, "top_p"),
        ({"top_p": float("nan")}, "top_p"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_the_value(kwargs, word):
    with pytest.raises(ValueError, match=word):
        filter_logits(torch.randn(10), **kwargs)


def test_logits_must_be_one_dimensional():
    with pytest.raises(ValueError, match="1-D"):
        filter_logits(torch.randn(2, 10))


def test_same_seed_same_tokens_and_different_seeds_differ():
    probs = torch.softmax(torch.randn(1000), -1)
    draws = lambda seed: [sample_token(probs, g) for g in [make_generator(seed)] for _ in range(20)]
    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_sampling_follows_the_distribution():
    probs = torch.tensor([0.7, 0.2, 0.1])
    generator = make_generator(0)
    counts = torch.bincount(torch.tensor([sample_token(probs, generator) for _ in range(4000)]), minlength=3)
    assert torch.allclose(counts / 4000, probs, atol=0.03)


def test_bad_probs_and_seeds_rejected():
    with pytest.raises(ValueError):
        sample_token(torch.tensor([0.0, 0.0]), make_generator(0))
    with pytest.raises(ValueError):
        make_generator(-1)

"""Seed 001's worked numbers, reproduced through the app's own core functions."""

import numpy as np
import torch

from core import seed_examples as seed
from core.sampling import sampling_probs
from core.temperature import entropy_curve, probs_at_temperatures
from core.toy import numpy_samples, parse_toy, toy_distribution


def test_support_bot_softmax_at_three_temperatures():
    dist = toy_distribution(seed.SUPPORT_BOT_TOKENS, seed.SUPPORT_BOT_LOGITS)
    table = probs_at_temperatures(dist.logits, seed.SUPPORT_BOT_TEMPERATURES, range(5))
    for row, t in zip(table, seed.SUPPORT_BOT_TEMPERATURES):
        assert np.round(row, 3).tolist() == list(seed.SUPPORT_BOT_EXPECTED[t])
        assert abs(row.sum() - 1) < 1e-6
    assert dist.top_rows(1)[0].token == "correctly"


def test_warehouse_probabilities_and_numpy_samples_match_the_seed():
    dist = toy_distribution(seed.WAREHOUSE_TOKENS, seed.WAREHOUSE_LOGITS)
    probs = sampling_probs(dist.logits, temperature=seed.WAREHOUSE_TEMPERATURE).double().numpy()
    assert np.round(probs, 3).tolist() == list(seed.WAREHOUSE_EXPECTED_PROBS)
    samples = numpy_samples(seed.WAREHOUSE_TOKENS, probs, seed.WAREHOUSE_SEED, 8)
    assert samples == list(seed.WAREHOUSE_EXPECTED_SAMPLES)


def test_entropy_grows_with_temperature_and_is_zero_when_greedy():
    dist = toy_distribution(seed.SUPPORT_BOT_TOKENS, seed.SUPPORT_BOT_LOGITS)
    curve = entropy_curve(dist.logits, [0, 0.5, 1, 2, 10, 1000])
    assert curve[0] == 0
    assert all(np.diff(curve) > 0)
    assert abs(curve[-1] - np.log2(5)) < 1e-3


def test_toy_parsing_errors_are_clear():
    import pytest

    for tokens, logits, word in [
        ("a, b", "1", "one logit per token"),
        ("a, , b", "1,2,3", "empty"),
        ("a, b", "1, x", "not a number"),
        ("a, a", "1, 2", "only once"),
        ("a, b", "1, inf", "out of range"),
    ]:
        with pytest.raises(ValueError, match=word):
            parse_toy(tokens, logits)
    assert parse_toy(" x ,y", "1, -2.5") == (["x", "y"], [1.0, -2.5])


def test_toy_distribution_is_a_full_softmax():
    dist = toy_distribution(["a", "b", "c"], [1.0, 1.0, 1.0])
    assert torch.allclose(dist.probs, torch.full((3,), 1 / 3))
    assert abs(dist.effective_choices - 3) < 1e-6

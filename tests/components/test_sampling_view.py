"""sampling_view: what the next-token page recomputes on a sampling-control change, checked against the pieces."""

import math

import pytest
import torch

from components.sampling import sampling_view
from core.entropy import entropy_bits
from core.next_token import next_token_distribution
from core.sampling import sampling_probs


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, 0, 1.0), (0.7, 0, 0.9), (1.3, 50, 0.8), (0.0, 0, 1.0)])
def test_view_equals_the_pipeline_without_shortcuts(bundled_lm, temperature, top_k, top_p):
    dist = next_token_distribution(bundled_lm, "The capital of France is")
    view = sampling_view(dist, 10, temperature, top_k, top_p)
    plain = sampling_probs(dist.logits, temperature=temperature, top_k=top_k, top_p=top_p)
    assert torch.equal(view.probs, plain)
    assert view.kept == int((plain > 0).sum())
    p = plain.double()
    reference = -sum(float(x) * math.log2(float(x)) for x in p[p > 0])
    assert view.entropy_bits == pytest.approx(reference, abs=1e-9)
    assert list(view.table["token_id"][:10]) == dist.top_ids(10)
    assert view.table["sampling_probability"].sum() == pytest.approx(float(plain.double().sum()), abs=1e-9)
    bars = view.figure.data
    assert list(bars[1].x) == pytest.approx(list(view.table["sampling_probability"]))


def test_entropy_of_a_filtered_distribution_counts_only_kept_tokens():
    probs = torch.zeros(1000)
    probs[:4] = 0.25
    assert entropy_bits(probs) == pytest.approx(2.0)
    assert entropy_bits(torch.full((8,), 1 / 8)) == pytest.approx(3.0)
    one_hot = torch.zeros(50)
    one_hot[3] = 1.0
    assert entropy_bits(one_hot) == 0.0

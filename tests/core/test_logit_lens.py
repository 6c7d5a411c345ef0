"""core.logit_lens: the logit lens applies the final norm before the head, and its last stage is the model's output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.logit_lens import LensUnavailable, final_norm, layer_predictions
from core.next_token import next_token_distribution

PROMPT = "The capital of France is"


@pytest.mark.parametrize("fixture", ["tiny_gpt2_lm", "tiny_llama_lm", "bundled_lm"])
def test_last_stage_equals_next_token_distribution(fixture, request):
    lm = request.getfixturevalue(fixture)
    lens = layer_predictions(lm, PROMPT, top_n=5)
    dist = next_token_distribution(lm, PROMPT)
    assert lens.stages == lm.facts.layers + 1
    np.testing.assert_allclose(lens.last_probs(-1), dist.probs.numpy(), atol=1e-6)
    assert lens.final_ids[-1] == dist.top_ids(1)[0]
    assert lens.top_ids[-1, -1].tolist() == dist.top_ids(5)
    assert lens.final_rank[-1].tolist() == [1] * len(lens.positions)


def test_final_norm_is_found_generically(tiny_gpt2_lm, tiny_llama_lm, bundled_lm):
    assert final_norm(tiny_gpt2_lm.model) is tiny_gpt2_lm.model.transformer.ln_f
    assert final_norm(tiny_llama_lm.model) is tiny_llama_lm.model.model.norm
    assert final_norm(bundled_lm.model) is bundled_lm.model.model.norm


def test_model_without_a_final_norm_is_refused_clearly():
    class Bare(torch.nn.Module):
        base_model_prefix = "body"

        def __init__(self):
            super().__init__()
            self.body = torch.nn.Linear(2, 2)

    with pytest.raises(LensUnavailable, match="final norm"):
        final_norm(Bare())


def test_middle_layers_go_through_the_final_norm(bundled_lm):
    """Stage l = head(final_norm(hidden_states[l])); without the norm the logits would be different."""
    ids = bundled_lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    model = bundled_lm.model
    with torch.no_grad():
        hidden = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        with_norm = model.lm_head(model.model.norm(hidden[12][0, -1]))  # (V,)
        without_norm = model.lm_head(hidden[12][0, -1])
    lens = layer_predictions(bundled_lm, PROMPT)
    np.testing.assert_allclose(lens.last_logits[12], with_norm.numpy(), rtol=1e-4, atol=1e-4)
    assert not np.allclose(lens.last_logits[12], without_norm.numpy(), atol=1e-2)


def test_every_position_and_rank_agree_with_probabilities(tiny_gpt2_lm):
    text = "one two three four five six seven eight"
    lens = layer_predictions(tiny_gpt2_lm, text, top_n=3, grid_positions=100)
    T = len(lens.tokens)
    assert lens.positions == list(range(T))
    stages = tiny_gpt2_lm.facts.layers + 1
    assert lens.final_prob.shape == lens.final_rank.shape == (stages, T)
    assert lens.top_ids.shape == lens.top_probs.shape == (stages, T, 3)
    # rank 1 exactly where a stage's own top token is the final prediction
    is_top = lens.top_ids[:, :, 0] == np.array(lens.final_ids)[None, :]
    assert np.array_equal(lens.final_rank == 1, is_top)
    assert np.all(lens.final_prob <= lens.top_probs[:, :, 0] + 1e-7)
    assert np.all(np.diff(lens.top_probs, axis=-1) <= 1e-7)  # most likely first
    # each position's final prediction is the model's own argmax at that position
    ids = tiny_gpt2_lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = tiny_gpt2_lm.model(torch.tensor([ids])).logits[0]
    assert lens.final_ids == logits.argmax(-1).tolist()


def test_long_prompt_is_cut_to_the_cap(tiny_gpt2_lm):
    text = " ".join(f"w{i}" for i in range(80))
    lens = layer_predictions(tiny_gpt2_lm, text, grid_positions=8, cap=30)
    assert len(lens.tokens) == 30 and lens.dropped_tokens > 0
    assert lens.positions == list(range(22, 30))


def test_layer_names(tiny_llama_lm):
    lens = layer_predictions(tiny_llama_lm, PROMPT, grid_positions=1)
    assert lens.layer_names == ["embeddings", "layer 1", "layer 2 (output)"]
    assert lens.positions == [len(lens.tokens) - 1]


def test_every_position_view_builds_at_most_a_chunk_of_logits_at_a_time(tiny_gpt2_lm):
    """The grid's (positions x vocabulary) logits and probabilities exist one chunk of positions at a time."""
    from core.logit_lens import LENS_CHUNK
    from tests.core.vocab_blocks import positions, vocab_blocks

    text = " ".join(f"word{i}" for i in range(60))
    with vocab_blocks(tiny_gpt2_lm.model.config.vocab_size) as shapes:
        lens = layer_predictions(tiny_gpt2_lm, text, top_n=3, grid_positions=100, forward=_forward_outside)
    assert len(lens.positions) > LENS_CHUNK
    assert shapes and max(positions(s) for s in shapes) <= LENS_CHUNK


def _forward_outside(lm, ids, need):
    """The model call, outside the recorder: its own (positions, V) logits are the forward pass's business."""
    from core.dispatch_mode import modes_disabled
    from core.forward import forward_record

    with modes_disabled():
        return forward_record(lm, ids, need)


def test_chunk_size_does_not_change_the_lens(tiny_llama_lm):
    text = " ".join(f"word{i}" for i in range(40))
    whole = layer_predictions(tiny_llama_lm, text, top_n=4, grid_positions=80, chunk=1_000)
    for chunk in (1, 7, 32):
        part = layer_predictions(tiny_llama_lm, text, top_n=4, grid_positions=80, chunk=chunk)
        assert np.array_equal(part.top_ids, whole.top_ids) and np.array_equal(part.final_rank, whole.final_rank)
        assert np.allclose(part.final_prob, whole.final_prob, atol=1e-6)
        assert np.allclose(part.top_probs, whole.top_probs, atol=1e-6)
        assert np.allclose(part.last_logits, whole.last_logits, atol=1e-5)  # matmul blocking: float rounding

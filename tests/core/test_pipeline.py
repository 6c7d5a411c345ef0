"""core.pipeline: the last token's path agrees with the next-token, logit-lens, sampling and KV-cache cores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.embeddings import nearest_tokens
from core.kv_cache import KVSpec, measure_cache
from core.logit_lens import layer_predictions
from core.next_token import next_token_distribution
from core.pipeline import (
    PipelineUnavailable,
    block_parts,
    cache_growth,
    decoder_layers,
    pipeline_trace,
    sampling_trace,
)
from core.sampling import make_generator, sample_token, sampling_probs
from core.text import PromptError

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def trace(bundled_lm):
    return pipeline_trace(bundled_lm, PROMPT)


@pytest.fixture(scope="module")
def char_lm():
    """Seed 003's tiny char-level GPT-2, trained for a few steps (the architecture the Train page builds)."""
    from core.training import TOY_CORPUS, Trainer, TrainSettings

    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=30, eval_every=30, sample_every=30))
    while not trainer.finished:
        trainer.train_steps(30)
    return trainer.loaded_model("tiny char model (test)")


def test_logits_and_probabilities_equal_the_next_token_page(bundled_lm, trace):
    dist = next_token_distribution(bundled_lm, PROMPT)
    torch.testing.assert_close(trace.distribution.logits, dist.logits, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(trace.distribution.probs, dist.probs, atol=1e-6, rtol=1e-4)
    assert trace.token_ids == dist.prompt_ids
    assert trace.target_id == dist.top_ids(1)[0]
    assert trace.target_label == "␣Paris"


def test_lens_rows_equal_the_logit_lens_page(bundled_lm, trace):
    lens = layer_predictions(bundled_lm, PROMPT, grid_positions=1)
    assert lens.final_ids[-1] == trace.target_id
    np.testing.assert_allclose(trace.lens_logits, lens.last_logits[:, trace.target_id], atol=2e-3, rtol=1e-4)
    assert trace.lens_logits[-1] == pytest.approx(float(trace.distribution.logits[trace.target_id]), abs=1e-6)


def test_contributions_add_up_from_the_embeddings_to_the_final_logit(trace):
    assert trace.split and trace.num_layers == 30
    np.testing.assert_allclose(trace.attention_logit + trace.mlp_logit, trace.layer_logit, atol=1e-3)
    total = trace.start_logit + float(trace.layer_logit.sum())
    assert total == pytest.approx(trace.lens_logits[-1], abs=1e-2)
    assert trace.lens_logits[-1] > trace.start_logit + 10  # the layers build the prediction
    assert trace.residual_norms.shape == (31,) and (trace.residual_norms > 0).all()
    assert trace.attention_norms.shape == trace.mlp_norms.shape == (30,)


def test_embedding_row_and_its_neighbours(bundled_lm, trace):
    last = trace.token_ids[-1]
    row = bundled_lm.model.get_input_embeddings().weight[last].detach().float().numpy()
    np.testing.assert_array_equal(trace.embedding, row)
    assert trace.embedding_norm == pytest.approx(float(np.linalg.norm(row)), rel=1e-6)
    assert not trace.position_added  # Llama-style: rotary positions inside attention, nothing added to the row
    expected = nearest_tokens(bundled_lm, torch.from_numpy(row), 6, "input", exclude=(last,))
    assert [n.token_id for n in trace.neighbours] == [n.token_id for n in expected]
    assert last not in [n.token_id for n in trace.neighbours]
    assert trace.residual_norms[0] == pytest.approx(trace.embedding_norm, rel=1e-5)


def test_final_norm_output_is_what_the_head_reads(bundled_lm, trace):
    head = bundled_lm.model.get_output_embeddings()
    with torch.inference_mode():
        logits = head(torch.from_numpy(trace.normed)[None])[0]
    torch.testing.assert_close(logits, trace.distribution.logits, atol=1e-3, rtol=1e-4)
    assert trace.normed_norm != pytest.approx(trace.final_residual_norm, rel=0.01)


def test_hooks_are_removed_after_the_pass(bundled_lm):
    """Only our hooks come and go (transformers keeps its own output-capturing hooks on the blocks)."""
    modules = [block for layer in decoder_layers(bundled_lm.model) for block in block_parts(layer)]
    modules.append(bundled_lm.model.model.norm)
    before = [dict(m._forward_hooks) for m in modules]
    pipeline_trace(bundled_lm, "Hooks")
    assert [dict(m._forward_hooks) for m in modules] == before


@pytest.mark.parametrize(
    "temperature, top_k, top_p, seed", [(1.0, 0, 1.0, 0), (0.7, 50, 0.9, 3), (1.5, 20, 1.0, 11), (0.0, 5, 0.5, 1)]
)
def test_sampling_stages_agree_with_core_sampling(trace, temperature, top_k, top_p, seed):
    logits = trace.distribution.logits
    drawn = sampling_trace(logits, temperature, top_k, top_p, seed)
    probs = sampling_probs(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    torch.testing.assert_close(drawn.probs, probs)
    assert drawn.token_id == sample_token(probs, make_generator(seed))
    assert drawn.sampling_probability == pytest.approx(float(probs[drawn.token_id]))
    assert drawn.model_probability == pytest.approx(float(trace.distribution.probs[drawn.token_id]))
    assert [s.name for s in drawn.stages] == ["temperature", "top-k", "top-p"]
    V = logits.shape[0]
    assert drawn.kept == int((probs > 0).sum())
    assert sum(s.cut for s in drawn.stages) == V - drawn.kept
    if temperature == 0:
        assert drawn.stages[0].kept == 1 and drawn.token_id == trace.target_id
    elif top_k:
        assert drawn.stages[1].kept == top_k
        tempered = torch.softmax(logits / temperature, -1)
        removed = float(tempered.sort(descending=True).values[top_k:].double().sum())
        assert drawn.stages[1].mass_removed == pytest.approx(removed, abs=1e-6)
    if (temperature, top_k, top_p) == (1.0, 0, 1.0):
        assert [s.cut for s in drawn.stages] == [0, 0, 0] and not any(s.active for s in drawn.stages)


def test_kv_cache_grows_by_one_token_and_its_bytes_match_the_kv_page(bundled_lm, trace):
    T = len(trace.token_ids)
    growth = cache_growth(bundled_lm, trace.token_ids, trace.target_id)
    assert growth.before_shape == (30, 3, T, 64) and growth.after_shape == (30, 3, T + 1, 64)
    assert growth.before_bytes == measure_cache(bundled_lm, T).measured_bytes
    assert growth.after_bytes == measure_cache(bundled_lm, T + 1).measured_bytes
    assert growth.bytes_per_token == 2 * 30 * 3 * 64 * growth.bytes_per_value
    spec = KVSpec.from_config(bundled_lm.model.config)
    assert growth.estimated_after == spec.cache_bytes(T + 1, 1, bytes_per_value=growth.bytes_per_value)
    assert growth.after_bytes == growth.estimated_after


@pytest.mark.parametrize("fixture", ["char_lm", "tiny_gpt2_lm", "tiny_llama_lm"])
def test_other_architectures(fixture, request):
    lm = request.getfixturevalue(fixture)
    prompt = "the cat sat" if fixture == "char_lm" else PROMPT
    trace = pipeline_trace(lm, prompt)
    dist = next_token_distribution(lm, prompt)
    torch.testing.assert_close(trace.distribution.logits, dist.logits, atol=1e-4, rtol=1e-4)
    assert trace.split  # GPT-2's attn / mlp and Llama's self_attn / mlp add straight to the residual stream
    np.testing.assert_allclose(trace.start_logit + np.cumsum(trace.layer_logit), trace.lens_logits[1:], atol=1e-3)
    assert trace.position_added == (fixture != "tiny_llama_lm")  # GPT-2 adds a learned position vector
    growth = cache_growth(lm, trace.token_ids, trace.target_id)
    assert growth.after_shape[2] == growth.before_shape[2] + 1 == len(trace.token_ids) + 1
    assert growth.after_bytes == growth.estimated_after


def test_bad_prompt_and_unknown_model_are_refused_clearly(bundled_lm):
    with pytest.raises(PromptError):
        pipeline_trace(bundled_lm, "   ")
    with pytest.raises(PipelineUnavailable, match="layers"):
        decoder_layers(torch.nn.Linear(2, 2))
    with pytest.raises(PipelineUnavailable, match="attention"):
        block_parts(torch.nn.Module())
    with pytest.raises(ValueError):
        sampling_trace(torch.zeros(5), -1.0, 0, 1.0, 0)

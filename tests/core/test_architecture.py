"""core.architecture: the diagram's parts carry the real shapes and values of the model and the prompt, for SmolLM2
(rotary positions inside attention), a GPT-2-shaped model (a learned position row) and a Llama-shaped one."""

from __future__ import annotations

import pytest

from core.architecture import LEARNED, PART_KEYS, ROTARY, architecture
from core.kv_cache import measure_cache
from core.pipeline import pipeline_trace

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def smollm(bundled_lm):
    trace = pipeline_trace(bundled_lm, PROMPT)
    return architecture(bundled_lm, trace), trace


def test_the_parts_follow_the_data_in_order(smollm):
    arch, _ = smollm
    assert tuple(p.key for p in arch.parts) == PART_KEYS
    assert [p.key for p in arch.parts if p.in_block] == ["norm1", "attention", "add1", "norm2", "mlp", "add2"]


def test_smollm2_shapes_and_values_are_the_real_ones(smollm, bundled_lm):
    arch, trace = smollm
    T, facts = len(trace.token_ids), bundled_lm.facts
    assert (arch.layers, arch.positions, arch.norm_kind) == (30, ROTARY, "LlamaRMSNorm")
    assert arch.part("tokens").shapes == ((T,),)
    assert arch.part("embedding").shapes == ((T, facts.hidden_size),)
    assert arch.part("attention").shapes == ((facts.attention_heads, T, T),)
    assert arch.part("attention").title == "Attention: 9 heads, 3 KV heads"
    assert arch.part("mlp").title == "MLP: 576 → 1536 → 576"
    assert arch.part("softmax").shapes == ((49152,),)
    assert arch.part("unembedding").shapes == ((576,), (49152,))
    top = trace.distribution.top_rows(1)[0]
    assert arch.next_token == top.token == "␣Paris"
    assert f"{top.probability:.1%}" in arch.part("softmax").value
    assert f"{trace.final_residual_norm:,.0f} → {trace.normed_norm:,.1f}" in arch.part("final_norm").value
    assert arch.part("append").shapes == ((T + 1,),)


def test_the_kv_cache_part_states_the_real_cache_bytes(smollm, bundled_lm):
    arch, trace = smollm
    measured = measure_cache(bundled_lm, len(trace.token_ids))
    assert arch.part("kv_cache").value == f"{measured.measured_bytes / 1024:,.0f} KiB"


def test_a_gpt2_shaped_model_adds_a_learned_position_row(tiny_gpt2_lm):
    trace = pipeline_trace(tiny_gpt2_lm, PROMPT)
    arch = architecture(tiny_gpt2_lm, trace)
    assert arch.positions == LEARNED and arch.norm_kind == "LayerNorm"
    assert arch.part("positions").title == "Positions: a learned row added"
    assert arch.part("mlp").title == "MLP: 32 → 128 → 32"  # GPT-2's n_inner=None means 4 x d
    assert arch.layers == 2


def test_a_llama_shaped_model_uses_rotary_positions(tiny_llama_lm):
    arch = architecture(tiny_llama_lm, pipeline_trace(tiny_llama_lm, PROMPT))
    assert arch.positions == ROTARY
    assert arch.part("attention").title == "Attention: 4 heads, 2 KV heads"
    assert arch.part("mlp").title == "MLP: 32 → 64 → 32"

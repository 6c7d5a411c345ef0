"""core.attention: the maps are the model's own attention weights, causal, normalised, and shaped by its facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.attention import (
    AttentionUnavailable,
    attention_maps,
    generation_attention,
    generation_maps,
    greedy_continuation,
    head_summaries,
    kv_head_of,
    maps_for_ids,
    query_heads_by_kv,
    without_first_key,
)
from core.models import wrap_model
from core.text import PromptError

PROMPT = "The cat sat on the mat because it was tired."


def assert_causal_and_normalised(weights: np.ndarray) -> None:
    L, H, T, K = weights.shape
    assert T == K
    np.testing.assert_allclose(weights.sum(-1), np.ones((L, H, T)), atol=1e-5)
    upper = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert np.all(weights[..., upper] == 0.0)
    assert np.all(weights >= 0.0)


@pytest.mark.parametrize("fixture", ["tiny_gpt2_lm", "tiny_llama_lm", "bundled_lm"])
def test_rows_sum_to_one_and_upper_triangle_is_zero(fixture, request):
    lm = request.getfixturevalue(fixture)
    maps = attention_maps(lm, PROMPT)
    assert maps.weights.dtype == np.float32
    assert maps.weights.shape == (lm.facts.layers, lm.facts.attention_heads, maps.length, maps.length)
    assert maps.length == len(lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"])
    assert len(maps.tokens) == maps.length
    assert_causal_and_normalised(maps.weights)


def test_bundled_model_shape_matches_its_facts(bundled_lm):
    maps = attention_maps(bundled_lm, "The capital of France is")
    assert (maps.layers, maps.heads, maps.kv_heads) == (30, 9, 3)
    assert maps.weights.shape == (30, 9, 5, 5)
    assert maps.tokens[-1] == "␣is"


@pytest.mark.parametrize("fixture", ["tiny_gpt2_lm", "tiny_llama_lm"])
def test_values_equal_the_models_own_output_attentions(fixture, request):
    lm = request.getfixturevalue(fixture)
    ids = lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = lm.model(torch.tensor([ids]), output_attentions=True)
    maps = attention_maps(lm, PROMPT)
    for layer, expected in enumerate(out.attentions):
        np.testing.assert_array_equal(maps.weights[layer], expected[0].numpy())


def test_values_equal_output_attentions_on_bundled_model(bundled_lm):
    ids = bundled_lm.tokenizer("Hello world", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = bundled_lm.model(torch.tensor([ids]), output_attentions=True)
    maps = attention_maps(bundled_lm, "Hello world")
    np.testing.assert_array_equal(maps.weights, torch.stack([a[0] for a in out.attentions]).numpy())


def test_sdpa_model_fails_with_a_clear_message(bundled_lm):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=len(bundled_lm.tokenizer), attn_implementation="sdpa"
    )
    lm = wrap_model(GPT2LMHeadModel(config), bundled_lm.tokenizer, "sdpa-gpt2")
    with pytest.raises(AttentionUnavailable, match="eager"):
        attention_maps(lm, "Hello there")


def test_empty_prompt_is_refused(tiny_gpt2_lm):
    with pytest.raises(PromptError):
        attention_maps(tiny_gpt2_lm, "   ")


def test_one_token_prompt_gives_a_one_by_one_map(tiny_gpt2_lm):
    maps = attention_maps(tiny_gpt2_lm, "Hello")
    assert maps.weights.shape[-2:] == (1, 1)
    assert np.all(maps.weights == 1.0)
    summary = head_summaries(maps.weights)
    assert np.all(summary["entropy_bits"] == 0.0) and np.all(summary["distance"] == 0.0)


def test_long_prompt_keeps_the_last_window(tiny_gpt2_lm):
    text = " ".join(f"word{i}" for i in range(120))
    ids = tiny_gpt2_lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 40
    maps = attention_maps(tiny_gpt2_lm, text, cap=40)
    assert maps.length == 40 and maps.windowed
    assert maps.dropped_tokens == len(ids) - 40
    assert maps.token_ids == ids[-40:]
    assert maps.nbytes == tiny_gpt2_lm.facts.layers * tiny_gpt2_lm.facts.attention_heads * 40 * 40 * 4
    assert_causal_and_normalised(maps.weights)


def test_head_summaries_on_hand_made_patterns():
    T = 5
    identity = np.eye(T, dtype=np.float32)
    previous = np.zeros((T, T), dtype=np.float32)
    previous[0, 0] = 1.0
    previous[np.arange(1, T), np.arange(T - 1)] = 1.0
    uniform = np.tril(np.ones((T, T), dtype=np.float32))
    uniform /= uniform.sum(-1, keepdims=True)
    sink = np.zeros((T, T), dtype=np.float32)
    sink[:, 0] = 1.0
    weights = np.stack([identity, previous, uniform, sink])[None]  # (1, 4, T, T)
    s = head_summaries(weights)
    np.testing.assert_allclose(s["entropy_bits"][0], [0, 0, np.mean(np.log2(np.arange(2, T + 1))), 0], atol=1e-6)
    np.testing.assert_allclose(
        s["distance"][0], [0, 1, np.mean(np.arange(1, T) / 2), np.mean(np.arange(1, T))], atol=1e-6
    )
    np.testing.assert_allclose(s["previous_token"][0], [0, 1, np.mean(1 / np.arange(2, T + 1)), 0.25], atol=1e-6)
    np.testing.assert_allclose(s["first_token"][0], [0, 0.25, np.mean(1 / np.arange(2, T + 1)), 1], atol=1e-6)


def test_grouped_query_mapping_matches_transformers_repeat_kv():
    from transformers.models.llama.modeling_llama import repeat_kv

    heads, kv_heads = 9, 3
    assert query_heads_by_kv(heads, kv_heads) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    keys = (
        torch.arange(kv_heads, dtype=torch.float32).view(1, kv_heads, 1, 1).expand(1, kv_heads, 2, 4)
    )  # (B, KV, T, D)
    repeated = repeat_kv(keys, heads // kv_heads)  # (B, H, T, D): what each query head reads
    for h in range(heads):
        assert int(repeated[0, h, 0, 0]) == kv_head_of(h, heads, kv_heads)
    assert query_heads_by_kv(4, 4) == [[0], [1], [2], [3]]


def test_tiny_llama_reports_its_key_value_heads(tiny_llama_lm):
    maps = attention_maps(tiny_llama_lm, PROMPT)
    assert maps.heads == 4 and maps.kv_heads == 2
    assert [maps.kv_group(h) for h in range(4)] == [0, 0, 1, 1]


def test_without_first_key_renormalises_the_rest():
    rng = np.random.default_rng(0)
    raw = np.tril(rng.random((6, 6))).astype(np.float32)
    rows = raw / raw.sum(-1, keepdims=True)
    shown = without_first_key(rows)
    assert shown.shape == (6, 5)
    assert np.all(np.isnan(shown[0]))  # the first query has only the first key to look at
    np.testing.assert_allclose(np.nansum(shown[1:], -1), np.ones(5), atol=1e-6)
    np.testing.assert_allclose(shown[3, :3], rows[3, 1:4] / rows[3, 1:].sum(), atol=1e-6)
    assert rows[0, 0] == 1.0  # the input is untouched


def test_greedy_continuation_equals_generate(tiny_gpt2_lm):
    ids = tiny_gpt2_lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    ours = greedy_continuation(tiny_gpt2_lm, ids, 6)
    with torch.no_grad():
        ref = tiny_gpt2_lm.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=6,
            min_new_tokens=6,
            pad_token_id=0,
        )
    assert ours == ref[0, len(ids) :].tolist()[: len(ours)]
    assert len(ours) == 6 or ours[-1] == tiny_gpt2_lm.tokenizer.eos_token_id


@pytest.mark.parametrize("fixture", ["tiny_llama_lm", "tiny_gpt2_lm"])
def test_each_cached_step_adds_the_same_row_as_the_full_pass(fixture, request):
    """KV cache: each step feeds one token, adding one query row (and one key/value column); rows match."""
    from transformers import DynamicCache

    lm = request.getfixturevalue(fixture)
    ids = lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    new = [5, 17, 42, 99]
    maps = generation_maps(lm, ids + new, len(ids))
    assert maps.prompt_len == len(ids) and maps.length == len(ids) + len(new)
    cache = DynamicCache(config=lm.model.config)
    with torch.no_grad():
        out = lm.model(torch.tensor([ids]), cache=cache, use_cache=True, output_attentions=True)
        for layer, a in enumerate(out.attentions):
            np.testing.assert_allclose(maps.weights[layer, :, : len(ids), : len(ids)], a[0].numpy(), atol=1e-5)
        for step, token in enumerate(new):
            out = lm.model(torch.tensor([[token]]), cache=cache, use_cache=True, output_attentions=True)
            row = len(ids) + step
            assert cache.get_seq_length() == row + 1  # one more key/value column per step
            for layer, a in enumerate(out.attentions):
                assert a.shape[-2:] == (1, row + 1)  # one query row over every key so far
                np.testing.assert_allclose(maps.weights[layer, :, row, : row + 1], a[0, :, 0].numpy(), atol=1e-5)


def test_generation_attention_on_bundled_model(bundled_lm):
    maps = generation_attention(bundled_lm, "The capital of France is", 3)
    assert maps.prompt_len == 5
    assert 5 < maps.length <= 8
    assert maps.weights.shape[:2] == (30, 9)
    assert_causal_and_normalised(maps.weights)


def test_generation_window_keeps_prompt_len_consistent(tiny_gpt2_lm):
    ids = list(range(100, 150))
    maps = maps_for_ids(tiny_gpt2_lm, ids, cap=20, prompt_len=45)
    assert maps.dropped_tokens == 30 and maps.prompt_len == 15 and maps.length == 20

"""The Stepper: the hand-written decode loop equals generate, seeds reproduce, rewinds crop the cache exactly."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import DynamicCache

from core.generation import (
    CONTEXT_FULL,
    EOS,
    GREEDY,
    MAX_NEW_TOKENS,
    SAMPLED,
    STOP_STRING,
    USER,
    GenerationFinished,
    Stepper,
    clean_stop_strings,
    parse_stop_strings,
    step_seed,
)
from core.models import wrap_model
from core.prompt import prompt_ids_for
from core.text import PromptError

PROMPT = "The package left the warehouse and"


def reference_greedy(lm, ids, n):
    """model.generate greedily, n new tokens at most (it stops at EOS like the stepper)."""
    x = torch.tensor([ids])
    with torch.inference_mode():
        out = lm.model.generate(
            x,
            attention_mask=torch.ones_like(x),
            do_sample=False,
            max_new_tokens=n,
            pad_token_id=lm.tokenizer.eos_token_id,
        )
    return out[0, len(ids) :].tolist()


def test_greedy_equals_generate_tiny_gpt2(tiny_gpt2_lm):
    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=12)
    st.run(50)
    assert st.generated_ids == reference_greedy(tiny_gpt2_lm, st.all_ids[: st.prompt_len], 12)
    assert all(s.chosen_by == GREEDY and s.rank == 1 for s in st.steps)


def test_greedy_equals_generate_bundled_chat(bundled_lm):
    st = Stepper(bundled_lm, "What is the capital of France?", temperature=0, max_new_tokens=8, chat=True)
    assert "<|im_start|>assistant" in st.prompt_text
    st.run(8)
    assert st.generated_ids == reference_greedy(bundled_lm, st.all_ids[: st.prompt_len], 8)
    assert "Paris" in st.text
    # The cache holds every token but the last one chosen (whose keys/values the next step would add).
    last = st.steps[-1]
    facts = bundled_lm.facts
    assert st.cache_length == len(st.all_ids) - (1 if st.finished else 0)
    assert st.cache_bytes == 2 * facts.layers * facts.kv_heads * facts.head_dim * st.cache_length * 4
    assert last.cache_bytes == st.cache_bytes or last.stop_reason is not None


def test_cache_bytes_match_the_formula_with_grouped_query_attention(tiny_llama_lm):
    st = Stepper(tiny_llama_lm, PROMPT, temperature=0, max_new_tokens=5)
    facts = tiny_llama_lm.facts
    assert facts.kv_heads < facts.attention_heads
    for step in st.run(4):
        assert step.cache_length == st.prompt_len + step.index  # prefill + one token per step
        assert step.cache_bytes == 2 * facts.layers * facts.kv_heads * facts.head_dim * step.cache_length * 4
    assert st.cache_bytes_per_value == 4
    keys = st.cache.layers[0].keys
    assert tuple(keys.shape) == (1, facts.kv_heads, st.cache_length, facts.head_dim)


@pytest.mark.parametrize("fixture", ["tiny_gpt2_lm", "tiny_llama_lm"])
def test_with_and_without_cache_give_the_same_tokens(fixture, request):
    lm = request.getfixturevalue(fixture)
    cached = Stepper(lm, PROMPT, temperature=0.8, seed=3, max_new_tokens=10)
    plain = Stepper(lm, PROMPT, temperature=0.8, seed=3, max_new_tokens=10, use_cache=False)
    cached.run(10)
    plain.run(10)
    assert cached.generated_ids == plain.generated_ids
    assert all(s.cache_length == 0 and s.cache_bytes == 0 and not s.used_cache for s in plain.steps)
    assert all(s.cache_length > 0 and s.used_cache for s in cached.steps[:-1])
    # Switching the cache on mid-generation catches it up and keeps the same sequence.
    mixed = Stepper(lm, PROMPT, temperature=0.8, seed=3, max_new_tokens=10, use_cache=False)
    mixed.run(4)
    mixed.configure(use_cache=True)
    mixed.run(10)
    assert mixed.generated_ids == cached.generated_ids


def test_same_seed_same_sequence_and_different_seed_differs(tiny_llama_lm):
    a = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=7, max_new_tokens=8)
    b = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=7, max_new_tokens=8)
    c = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=8, max_new_tokens=8)
    for s in (a, b, c):
        s.run(8)
    assert a.generated_ids == b.generated_ids
    assert a.generated_ids != c.generated_ids  # a random-weight model is close to uniform over 49k tokens
    assert all(s.chosen_by == SAMPLED for s in a.steps)
    assert step_seed(7, 1) == step_seed(7, 1) != step_seed(7, 2)


def test_rewind_reproduces_and_crops_the_cache_to_the_kept_tokens(tiny_llama_lm):
    st = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=11, max_new_tokens=10)
    st.run(10)
    original = [(s.token_id, s.model_probability, s.rank) for s in st.steps]
    for k in (6, 3, 0):
        st.rewind(k)
        assert len(st.steps) == k and len(st.all_ids) == st.prompt_len + k
        assert st.cache_length == st.prompt_len + k  # exactly the kept tokens
        fresh = DynamicCache(config=tiny_llama_lm.model.config)
        with torch.inference_mode():
            x = torch.tensor([st.all_ids])
            tiny_llama_lm.model(input_ids=x, attention_mask=torch.ones_like(x), cache=fresh, use_cache=True)
        assert torch.allclose(st.cache.layers[1].keys, fresh.layers[1].keys, atol=1e-5)
        st.run(10)
        assert [(s.token_id, s.model_probability, s.rank) for s in st.steps] == original
    assert len(st.branches) == 3 and st.branches[0].after_step == 6


def test_be_the_sampler_rewind_and_restore_branch(tiny_gpt2_lm):
    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=6)
    st.run(3)
    greedy_tail = st.generated_ids[1:]
    st.rewind(1)
    dist = st.next_distribution()
    pick = dist.top_ids(5)[4]  # the fifth most likely candidate
    step = st.step(choose=pick)
    assert (step.chosen_by, step.token_id, step.rank) == (USER, pick, 5)
    assert step.model_probability == pytest.approx(float(dist.probs[pick]))
    assert step.top[4].token_id == pick and st.generated_ids[-1] == pick
    st.rewind(1)
    assert [b.after_step for b in st.branches] == [1, 1]
    st.restore_branch(0)  # back to the greedy continuation
    assert st.generated_ids[1:] == greedy_tail
    st.run(10)
    assert st.generated_ids == reference_greedy(tiny_gpt2_lm, st.all_ids[: st.prompt_len], 6)
    with pytest.raises(ValueError):
        st.rewind(99)
    st.rewind(2)
    with pytest.raises(ValueError, match="vocabulary"):
        st.step(choose=10**9)
    assert len(st.steps) == 2  # the refused step left no trace


def test_stop_conditions(tiny_gpt2_lm):
    eos = tiny_gpt2_lm.tokenizer.eos_token_id
    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=20)
    st.step()
    step = st.step(choose=eos)
    assert step.stop_reason == EOS and st.stop_reason == EOS
    with pytest.raises(GenerationFinished):
        st.step()

    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=3)
    st.run(10)
    assert len(st.steps) == 3 and st.stop_reason == MAX_NEW_TOKENS and st.steps[-1].stop_reason == MAX_NEW_TOKENS

    dot = tiny_gpt2_lm.tokenizer(" home.", add_special_tokens=False)["input_ids"]
    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=20, stop_strings=["e.", "  ", ""])
    assert st.stop_strings == ("e.",) and st.notes  # blank and whitespace-only stop strings dropped, with a note
    for t in dot:
        if not st.finished:
            st.step(choose=t)
    assert st.stop_reason == STOP_STRING and st.matched_stop_string() == "e."


def test_context_window_caps_and_full_prompt(tiny_gpt2_lm):
    window = tiny_gpt2_lm.context_length  # 256 positions
    st = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=10_000)
    assert st.max_new_tokens == window - st.prompt_len and "capped" in st.notes[0]
    long_prompt = "word " * (window + 50)
    full = Stepper(tiny_gpt2_lm, long_prompt, temperature=0, max_new_tokens=5)
    assert full.prompt_len == window and full.dropped_tokens > 0
    assert full.stop_reason == CONTEXT_FULL and full.finished
    with pytest.raises(GenerationFinished):
        full.step()
    almost = Stepper(tiny_gpt2_lm, long_prompt, temperature=0, max_new_tokens=5, max_prompt_tokens=window - 2)
    almost.run(5)
    assert len(almost.steps) == 2 and almost.stop_reason == CONTEXT_FULL


def test_bad_input(tiny_gpt2_lm):
    with pytest.raises(PromptError):
        Stepper(tiny_gpt2_lm, "   \n")
    with pytest.raises(ValueError, match="temperature"):
        Stepper(tiny_gpt2_lm, PROMPT, temperature=-1)
    kept, notes = clean_stop_strings(["", " ", "\n\nUser:", "\n\nUser:"])
    assert kept == ("\n\nUser:",) and notes
    assert parse_stop_strings(r"\n\nUser:|. |") == ["\n\nUser:", ". ", ""]
    no_template = copy.copy(tiny_gpt2_lm.tokenizer)
    no_template.chat_template = None
    lm = wrap_model(tiny_gpt2_lm.model, no_template, "no-template")
    with pytest.raises(PromptError, match="chat template"):
        prompt_ids_for(lm, "hello", chat=True)


def test_two_steppers_on_one_model_do_not_interfere(tiny_llama_lm):
    alone = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=5, max_new_tokens=6)
    alone.run(6)
    a = Stepper(tiny_llama_lm, PROMPT, temperature=1.0, seed=5, max_new_tokens=6)
    b = Stepper(tiny_llama_lm, "Another prompt entirely", temperature=0.5, seed=9, max_new_tokens=6)
    for _ in range(6):  # interleaved, as two sessions would
        a.step()
        b.step()
    assert a.generated_ids == alone.generated_ids
    assert a.cache is not b.cache
    assert b.cache_length == len(b.all_ids) - 1 and b.all_ids[: b.prompt_len] != a.all_ids[: a.prompt_len]


@pytest.mark.parametrize("temperature,top_k,top_p", [(0.0, 0, 1.0), (0.9, 50, 0.9)])
def test_step_numbers_match_the_shared_pipeline(tiny_llama_lm, temperature, top_k, top_p):
    """A step's entropy, probabilities and rank equal what next_token/sampling compute for that distribution."""
    st = Stepper(tiny_llama_lm, PROMPT, temperature=temperature, top_k=top_k, top_p=top_p, seed=2, max_new_tokens=4)
    for choose in (None, None, "fourth"):
        dist = st.next_distribution()
        sampler = st.next_sampling_probs()
        step = st.step(choose=dist.top_ids(4)[3] if choose else None)
        assert step.entropy_bits == pytest.approx(dist.entropy_bits, abs=1e-4)
        assert step.model_probability == pytest.approx(float(dist.probs[step.token_id]), rel=1e-5)
        assert step.sampling_probability == pytest.approx(float(sampler[step.token_id]), abs=1e-6)
        assert step.rank == dist.rank_of(step.token_id)
        assert [c.token_id for c in step.top[:5]] == dist.top_ids(5)
        assert [c.sampling_probability for c in step.top[:5]] == pytest.approx(
            [float(sampler[i]) for i in dist.top_ids(5)], abs=1e-6
        )

"""Weights-on-demand attention: the fast sdpa kernel by default, the model's own eager attention when asked.

Each test builds two identical random models, one left on eager attention (the reference transformers gives)
and one switched, and compares them: same attention weights, same logits, and no weights computed when none
were asked for (the sign that the fast kernel ran).
"""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from core.attention_kernel import WEIGHTS_ON_DEMAND, additive_mask, use_weights_on_demand


def _gpt2(impl="eager"):
    torch.manual_seed(0)
    return GPT2LMHeadModel(
        GPT2Config(n_layer=2, n_head=4, n_embd=32, n_positions=64, vocab_size=97, attn_implementation=impl)
    ).eval()


def _llama(impl="eager"):
    torch.manual_seed(0)
    return LlamaForCausalLM(
        LlamaConfig(
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            hidden_size=32,
            intermediate_size=64,
            vocab_size=97,
            max_position_embeddings=64,
            attn_implementation=impl,
        )
    ).eval()


def _switched_llama(length: int, seed: int):
    """A weights-on-demand tiny Llama and (1, length) random token ids."""
    model = _llama()
    assert use_weights_on_demand(model)
    return model, torch.randint(0, 97, (1, length), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("build", [_gpt2, _llama], ids=["gpt2", "llama-gqa"])
def test_same_weights_and_logits_as_eager_attention(build):
    reference, switched = build(), build()
    assert use_weights_on_demand(switched) and switched.config._attn_implementation == WEIGHTS_ON_DEMAND
    ids = torch.randint(0, 97, (1, 12), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        want = reference(ids, output_attentions=True)
        got = switched(ids, output_attentions=True)
        fast = switched(ids)
    assert len(got.attentions) == 2
    for a, b in zip(want.attentions, got.attentions):
        assert torch.equal(a, b)  # the model's own eager code ran: bit-identical weights
    assert torch.equal(want.logits, got.logits)
    assert not fast.attentions  # none were asked for: sdpa ran and built no weights
    torch.testing.assert_close(fast.logits, want.logits, rtol=1e-5, atol=1e-5)


def test_cached_step_matches_a_full_pass():
    """One new query row over a growing key/value cache: the eager mask is rebuilt with the right offset."""
    model, ids = _switched_llama(9, seed=2)
    with torch.inference_mode():
        full = model(ids, output_attentions=True)
        prefix = model(ids[:, :-1], use_cache=True)
        step = model(ids[:, -1:], cache=prefix.cache, use_cache=True, output_attentions=True)
    assert step.attentions[0].shape == (1, 4, 1, 9)
    torch.testing.assert_close(step.attentions[1][0, :, 0], full.attentions[1][0, :, -1], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(step.logits[0, -1], full.logits[0, -1], rtol=1e-5, atol=1e-5)


def test_additive_mask_is_causal_with_offset():
    query, key = torch.zeros(1, 2, 2, 4), torch.zeros(1, 2, 5, 4)
    mask = additive_mask(None, query, key)[0, 0]  # queries at positions 3 and 4 of 5
    assert mask.shape == (2, 5)
    assert (mask[0, :4] == 0).all() and mask[0, 4] < -1e30
    assert (mask[1] == 0).all()


def test_models_not_loaded_with_eager_are_left_alone():
    model = _llama("sdpa")
    assert not use_weights_on_demand(model)
    assert model.config._attn_implementation == "sdpa"


def test_bundled_model_uses_weights_on_demand(bundled_lm):
    assert bundled_lm.model.config._attn_implementation == WEIGHTS_ON_DEMAND


def test_the_choice_is_per_call_when_sessions_share_the_model():
    """Two threads (two app sessions) on one model: one asks for weights, the other does not, at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    model, ids = _switched_llama(16, seed=3)
    with torch.inference_mode():
        reference = model(ids, output_attentions=True)

    def call(want_weights: bool):
        with torch.inference_mode():
            out = model(ids, output_attentions=want_weights)
        return want_weights, out

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(call, [True, False] * 20))
    for want_weights, out in results:
        if want_weights:
            assert all(torch.equal(a, b) for a, b in zip(out.attentions, reference.attentions))
        else:
            assert not out.attentions
        torch.testing.assert_close(out.logits, reference.logits, rtol=1e-5, atol=1e-5)

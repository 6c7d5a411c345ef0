"""Loading: the bundled model's facts and conversion, and the refusals that keep a shared server safe."""

import pytest
import torch

from core.attention_kernel import WEIGHTS_ON_DEMAND
from core.models import (
    DEFAULT_MODEL,
    ModelLoadError,
    architecture_from_config,
    bundled_gguf_path,
    converted_model_dir,
    is_converted,
    load_model,
)


def test_bundled_model_facts(bundled_lm):
    facts = bundled_lm.facts
    assert bundled_gguf_path() is not None and is_converted()
    assert (facts.layers, facts.attention_heads, facts.kv_heads, facts.head_dim) == (30, 9, 3, 64)
    assert facts.vocab_size == 49152 and facts.context_length == 8192
    assert 134e6 < facts.parameters < 136e6 and facts.dtype == "float32"
    assert facts.grouped_query
    assert not bundled_lm.model.training
    assert bundled_lm.model.config._attn_implementation == WEIGHTS_ON_DEMAND
    assert not any(p.requires_grad for p in bundled_lm.model.parameters())


def test_converted_copy_has_the_gguf_logits(bundled_lm):
    """The conversion itself verifies this; here: the saved folder is plain safetensors, no quantizer left."""
    folder = converted_model_dir()
    assert (folder / "model.safetensors").stat().st_size > 500e6
    assert "quantization_config" not in (folder / "config.json").read_text()


def test_gqa_config_facts(tiny_llama_lm, tiny_gpt2_lm):
    arch = architecture_from_config(tiny_llama_lm.model.config)
    assert (arch["attention_heads"], arch["kv_heads"], arch["head_dim"]) == (4, 2, 8)
    arch = architecture_from_config(tiny_gpt2_lm.model.config)
    assert (arch["layers"], arch["attention_heads"], arch["kv_heads"], arch["context_length"]) == (2, 4, 4, 256)


def test_local_folders_are_refused_unless_enabled():
    with pytest.raises(ModelLoadError, match="switched off"):
        load_model(str(converted_model_dir()))
    with pytest.raises(ModelLoadError, match="no folder"):
        load_model("/definitely/not/here", allow_local=True)


@pytest.mark.parametrize("name", ["../etc/passwd", "a b c", "<script>", "x" * 300, "owner/model/extra"])
def test_malformed_ids_are_refused(name):
    with pytest.raises(ModelLoadError):
        load_model(name)


def test_offline_hub_id_gives_a_clear_message():
    with pytest.raises(ModelLoadError, match="offline|not found|Could not"):
        load_model("gpt2")


def test_parameter_cap_is_checked_before_weights(bundled_lm):
    with pytest.raises(ModelLoadError, match="cap"):
        load_model(str(converted_model_dir()), allow_local=True, max_params=1_000_000)


def test_local_folder_loads_when_enabled(bundled_lm):
    lm = load_model(str(converted_model_dir()), allow_local=True)
    ids = torch.tensor([[504, 3575, 282, 4649, 314]])
    with torch.inference_mode():
        assert torch.equal(lm.model(ids).logits, bundled_lm.model(ids).logits)
    assert DEFAULT_MODEL.endswith("SmolLM2-135M-Instruct")

"""KV-cache arithmetic: the seed example, published architectures, edge cases, and equality with real caches."""

from fractions import Fraction

import pytest

from core.kv_cache import (
    GIB,
    KV_DTYPES,
    PRESETS,
    ConfigError,
    KVSpec,
    cached_tokens,
    fits_on_gpu,
    gib,
    kv_cache_bytes,
    latent_cache_bytes,
    measure_cache,
    measured_cache_bytes,
    spec_from_hub,
    weight_bytes,
)
from core.seed_examples import KV_ESTIMATE, KV_ESTIMATE_EXPECTED_GIB


def test_seed_001_example_exactly():
    for seq_len, expected in KV_ESTIMATE_EXPECTED_GIB.items():
        n = kv_cache_bytes(seq_len=seq_len, **KV_ESTIMATE)
        assert f"{gib(n):.2f}" == f"{expected:.2f}"
        # The seed's own formula, written out: batch x layers x T x kv_heads x head_dim x 2 x bytes.
        e = KV_ESTIMATE
        assert (
            n
            == e["batch_size"]
            * e["num_layers"]
            * seq_len
            * e["num_kv_heads"]
            * e["head_dim"]
            * 2
            * e["bytes_per_value"]
        )
    assert kv_cache_bytes(seq_len=32_768, **KV_ESTIMATE) == 16 * GIB


def test_llama_31_8b_fp16_is_131072_bytes_per_token():
    spec = PRESETS["Llama-3.1-8B"]
    assert spec.bytes_per_token(dtype="bf16 / fp16") == 131_072
    assert spec.cache_bytes(1024, dtype="bf16 / fp16") == GIB // 8  # 0.125 GiB per 1,024 tokens


def test_gqa_and_mha_differ_by_the_head_ratio():
    llama = PRESETS["Llama-3.1-8B"]
    mha = llama.with_kv_heads(llama.num_attention_heads)
    mqa = llama.with_kv_heads(1)
    ratio = llama.num_attention_heads // llama.num_kv_heads  # 4
    assert mha.cache_bytes(4096, 2) == ratio * llama.cache_bytes(4096, 2)
    assert llama.cache_bytes(4096, 2) == llama.num_kv_heads * mqa.cache_bytes(4096, 2)
    # A calculator that uses hidden_size instead of kv heads would give the MHA number: 4x too high.
    assert mha.bytes_per_token() == 2 * 32 * 4096 * 2


def test_sliding_window_caps_tokens():
    mistral = PRESETS["Mistral-7B-v0.1"]
    assert mistral.cache_bytes(4096) == mistral.cache_bytes(100_000) == 4096 * mistral.bytes_per_token()
    assert mistral.cache_bytes(1000) == 1000 * mistral.bytes_per_token()
    assert cached_tokens(10, window=4) == 4 and cached_tokens(10, window=4, transformers_sliding=True) == 3


def test_alternating_sliding_and_global_layers():
    gemma = PRESETS["Gemma-2-9B"]
    assert gemma.sliding_layers == 21 and gemma.layer_types[:2] == ("sliding", "full")
    per_layer = 2 * 8 * 256 * 2
    assert gemma.cache_bytes(8192) == 21 * per_layer * 8192 + 21 * per_layer * 4096
    gemma3 = PRESETS["Gemma-3-270M"]
    assert gemma3.sliding_layers == 15 and gemma3.num_kv_heads == 1
    direct = kv_cache_bytes(
        num_layers=18, num_kv_heads=1, head_dim=256, seq_len=32_768, sliding_window=512, sliding_layers=15
    )
    assert gemma3.cache_bytes(32_768) == direct == 3 * 1024 * 32_768 + 15 * 1024 * 512


def test_mla_latent_vs_decompressed():
    ds = PRESETS["DeepSeek-V3"]
    assert ds.bytes_per_token() == 61 * (512 + 64) * 2 == 70_272
    assert ds.bytes_per_token(mla="decompressed") == 61 * 128 * (192 + 128) * 2
    assert latent_cache_bytes(num_layers=61, kv_lora_rank=512, qk_rope_head_dim=64, seq_len=10) == 702_720


def test_a_trillion_tokens_is_exact():
    n = kv_cache_bytes(num_layers=126, num_kv_heads=8, head_dim=128, seq_len=10**12, batch_size=10**6)
    assert isinstance(n, int)
    assert n == 2 * 126 * 8 * 128 * 10**12 * 10**6 * 2


def test_quantised_dtypes_state_their_overhead():
    assert KV_DTYPES["int8"].vector_bytes(128) == 128 + 2 * 4
    assert KV_DTYPES["int4"].vector_bytes(128) == 64 + 2 * 4
    assert KV_DTYPES["int4"].bytes_per_value(128) == Fraction(9, 16)
    assert KV_DTYPES["fp8"].vector_bytes(128) == 128
    llama = PRESETS["Llama-3.1-8B"]
    assert llama.cache_bytes(1, dtype="fp32") == 2 * llama.cache_bytes(1, dtype="bf16 / fp16")
    assert llama.cache_bytes(1, dtype="int4") == 2 * 32 * 8 * (64 + 8)
    assert kv_cache_bytes(num_layers=1, num_kv_heads=1, head_dim=64, seq_len=3, bytes_per_value=0.5) == 2 * 64 * 3 // 2


def test_paged_block_rounding():
    plain = kv_cache_bytes(num_layers=2, num_kv_heads=2, head_dim=4, seq_len=17)
    paged = kv_cache_bytes(num_layers=2, num_kv_heads=2, head_dim=4, seq_len=17, block_size=16)
    assert paged == plain * 32 // 17


def test_weight_bytes():
    assert weight_bytes(8_030_261_248, "bf16 / fp16") == 16_060_522_496
    assert weight_bytes(100, "fp32") == 400
    assert weight_bytes(128, "int4") == 64 + 2 * 4


def test_fits_on_gpu_is_the_boundary():
    spec = PRESETS["Llama-3.1-8B"]
    weights = weight_bytes(spec.parameters)
    fit = fits_on_gpu(spec, 80 * GIB, weights, seq_len=8192, batch_size=4)
    assert spec.cache_bytes(fit.max_tokens, 4) <= fit.free_bytes < spec.cache_bytes(fit.max_tokens + 1, 4)
    assert spec.cache_bytes(8192, fit.max_batch) <= fit.free_bytes < spec.cache_bytes(8192, fit.max_batch + 1)
    assert fits_on_gpu(spec, 8 * GIB, weights, seq_len=8192).max_batch == 0  # weights alone do not fit
    # Every Mistral layer slides: the cache stops growing, so no context length runs out of memory.
    assert fits_on_gpu(PRESETS["Mistral-7B-v0.1"], 24 * GIB, 14 * GIB, seq_len=8192).max_tokens is None


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(num_layers=0), "num_layers must be positive"),
        (dict(num_kv_heads=-2), "num_kv_heads must be positive"),
        (dict(head_dim=1.5), "head_dim must be a whole number"),
        (dict(seq_len=-1), "seq_len must be at least 0"),
        (dict(batch_size=0), "batch_size must be positive"),
        (dict(bytes_per_value=0), "bytes_per_value must be positive"),
        (dict(bytes_per_value=float("inf")), "finite"),
        (dict(dtype="fp7"), "Unknown cache dtype"),
        (dict(sliding_window=4, sliding_layers=40), "cannot exceed"),
    ],
)
def test_bad_values_raise_clear_messages(kwargs, word):
    base = dict(num_layers=32, num_kv_heads=8, head_dim=128, seq_len=10)
    with pytest.raises(ValueError, match=word):
        kv_cache_bytes(**{**base, **kwargs})


def test_from_config_reads_gqa_head_dim_sliding_and_mla():
    from transformers import DeepseekV3Config, Gemma2Config, GPT2Config, LlamaConfig, Qwen2Config

    llama = KVSpec.from_config(
        LlamaConfig(num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, hidden_size=4096)
    )
    assert (llama.num_layers, llama.num_kv_heads, llama.head_dim) == (32, 8, 128)
    assert KVSpec.from_config(GPT2Config()).num_kv_heads == 12  # no num_key_value_heads: falls back to heads
    gemma = KVSpec.from_config(
        Gemma2Config(
            num_hidden_layers=42,
            num_attention_heads=16,
            num_key_value_heads=8,
            hidden_size=3584,
            head_dim=256,
            sliding_window=4096,
        )
    )
    assert gemma.head_dim == 256 and gemma.sliding_layers == 21
    assert gemma.cache_bytes(8192) == PRESETS["Gemma-2-9B"].cache_bytes(8192)
    assert KVSpec.from_config(Qwen2Config()).sliding_window is None  # use_sliding_window is false
    ds = KVSpec.from_config(DeepseekV3Config())
    assert ds.mla is not None and ds.bytes_per_token() == PRESETS["DeepSeek-V3"].bytes_per_token()
    raw = {"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_size": 576}
    assert KVSpec.from_config(raw).cache_bytes(10) == PRESETS["SmolLM2-135M"].cache_bytes(10)


def test_from_config_names_the_missing_field():
    with pytest.raises(ConfigError, match="'num_hidden_layers'"):
        KVSpec.from_config({"num_attention_heads": 4, "hidden_size": 64})
    with pytest.raises(ConfigError, match="'head_dim' nor 'hidden_size'"):
        KVSpec.from_config({"num_hidden_layers": 2, "num_attention_heads": 4})
    with pytest.raises(ConfigError, match="qk_rope_head_dim"):
        KVSpec.from_config({"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 64, "kv_lora_rank": 8})
    with pytest.raises(ConfigError, match="num_hidden_layers must be positive"):
        KVSpec.from_config({"num_hidden_layers": 0, "num_attention_heads": 4, "hidden_size": 64})


def test_hub_offline_and_bad_ids_give_messages():
    with pytest.raises(ConfigError, match="offline|No model"):
        spec_from_hub("no-such-owner-xyz/no-such-model-xyz")
    with pytest.raises(ConfigError, match="folder on the server"):
        spec_from_hub("../etc/passwd")
    with pytest.raises(ConfigError, match="Type a Hugging Face model id"):
        spec_from_hub("  ")


LOCAL_CONFIG = '{"model_type": "llama", "num_hidden_layers": 3, "num_attention_heads": 4, "hidden_size": 64}'


@pytest.mark.parametrize("name", ["configs", "configs/tiny", "./configs/tiny", "a/b/c", "/etc", "~", "~/x", "a\\b"])
def test_a_local_path_is_never_read_as_a_hub_id_unless_the_operator_allows_it(name, tmp_path, monkeypatch):
    (tmp_path / "configs" / "tiny").mkdir(parents=True)
    (tmp_path / "configs" / "tiny" / "config.json").write_text(LOCAL_CONFIG)
    (tmp_path / "configs" / "config.json").write_text(LOCAL_CONFIG)
    monkeypatch.chdir(tmp_path)  # transformers reads a relative folder from the server's working directory
    with pytest.raises(ConfigError, match="folder on the server is switched off"):
        spec_from_hub(name)


def test_an_allowed_local_folder_is_read_and_labelled_as_a_folder(tmp_path, monkeypatch):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "config.json").write_text(LOCAL_CONFIG)
    monkeypatch.chdir(tmp_path)
    spec = spec_from_hub("tiny", allow_local=True)
    assert spec.num_layers == 3 and spec.num_kv_heads == 4
    assert "Hub" not in spec.source and "folder" in spec.source
    with pytest.raises(ConfigError, match="no folder"):
        spec_from_hub("./missing", allow_local=True)


def test_presets_are_consistent():
    for name, spec in PRESETS.items():
        assert spec.source, name
        assert spec.parameters and spec.parameters > 10**8, name
        assert spec.num_attention_heads % spec.num_kv_heads == 0, name


@pytest.mark.parametrize("fixture", ["bundled_lm", "tiny_gpt2_lm", "tiny_llama_lm"])
@pytest.mark.parametrize("n_tokens", [1, 37])
def test_measured_equals_estimated(fixture, n_tokens, request):
    lm = request.getfixturevalue(fixture)
    m = measure_cache(lm, n_tokens)
    assert m.measured_bytes == m.estimated_bytes
    assert m.measured_bytes > 0 and m.tokens == n_tokens
    spec = KVSpec.from_config(lm.model.config)
    assert m.measured_bytes == n_tokens * spec.bytes_per_token(dtype="fp32")
    assert all(k[2] == n_tokens for k, _ in m.layer_shapes)


def test_bundled_model_bytes_per_token(bundled_lm):
    # SmolLM2-135M: 30 layers x 3 kv heads x 64 x 2 (K and V) x 4 bytes (float32 here).
    assert measure_cache(bundled_lm, 5).measured_bytes == 5 * 30 * 3 * 64 * 2 * 4


def _tiny(config_cls, **kwargs):
    import torch
    from transformers import AutoModelForCausalLM

    from core.models import wrap_model

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config_cls(vocab_size=64, attn_implementation="eager", **kwargs))

    class Tok:  # a byte-ish tokenizer: enough for measure_cache
        def __call__(self, text, add_special_tokens=False):
            return type("E", (), {"input_ids": [b % 64 for b in text.encode()]})()

    return wrap_model(model, Tok(), "tiny", "random weights (test)")


def test_measured_equals_estimated_sliding_window_and_mla():
    from transformers import DeepseekV3Config, MistralConfig

    mistral = _tiny(
        MistralConfig,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        hidden_size=32,
        intermediate_size=64,
        sliding_window=8,
        max_position_embeddings=64,
    )
    short, long = measure_cache(mistral, 5), measure_cache(mistral, 20)
    assert short.measured_bytes == short.estimated_bytes and long.measured_bytes == long.estimated_bytes
    assert long.layer_shapes[0][0][2] == 7  # transformers keeps window - 1 tokens
    ds = _tiny(
        DeepseekV3Config,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        hidden_size=32,
        intermediate_size=64,
        moe_intermediate_size=16,
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_group=1,
        topk_group=1,
        first_k_dense_replace=1,
        kv_lora_rank=16,
        q_lora_rank=None,
        qk_rope_head_dim=8,
        qk_nope_head_dim=8,
        v_head_dim=8,
        max_position_embeddings=64,
    )
    m = measure_cache(ds, 9)
    assert m.measured_bytes == m.estimated_bytes == 2 * (16 + 8) * 9 * 4  # the latent, not per-head K and V


def test_measure_cache_bounds(tiny_gpt2_lm):
    with pytest.raises(ValueError, match="at most"):
        measure_cache(tiny_gpt2_lm, 10_000)
    with pytest.raises(ValueError, match="positive"):
        measure_cache(tiny_gpt2_lm, 0)


def test_measured_cache_bytes_of_an_empty_cache():
    assert measured_cache_bytes(object()) == 0

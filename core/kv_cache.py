"""KV-cache memory: the documented arithmetic, real published architectures, and the bytes a real cache holds.

bytes = 2 (a key and a value) x layers x kv_heads x head_dim x tokens x batch x bytes_per_value.
Everything is exact Python integer arithmetic (a trillion tokens does not overflow); torch is imported only
inside ``measure_cache``, which runs a real model and reads its real cache. The presets (published architectures)
are data, in core/data/kv_presets.json.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.errors import InputError

GIB = 1024**3  # gibibyte, what GPU tools usually mean by "GB"
GB = 1000**3  # gigabyte, what spec sheets print
PAGED_BLOCK_SIZE = 16  # vLLM's default paged-attention block: each sequence's cache grows 16 tokens at a time
MAX_MEASURE_TOKENS = 2048


class ConfigError(InputError):
    """A model config (a Hub id's, or the architecture typed on the page) cannot be turned into a KV-cache spec;
    the message names the field or the cause."""


# --------------------------------------------------------------------------------------------------------------
# Number formats for the cache (and the weights).


@dataclass(frozen=True)
class KVDtype:
    """How one stored number is encoded.

    ``bits`` per value, plus for the integer formats one scale and one zero point per group of
    ``group_size`` values (``overhead_bytes`` per group), as quantised caches store them.
    """

    name: str
    bits: int
    group_size: int | None = None
    overhead_bytes: int = 0
    note: str = ""

    def vector_bytes(self, n_values: int) -> int:
        """Bytes for one vector of ``n_values`` numbers (one head's key for one token), overhead included."""
        payload = -(-n_values * self.bits // 8)  # ceil
        groups = -(-n_values // self.group_size) if self.group_size else 0
        return payload + groups * self.overhead_bytes

    def bytes_per_value(self, n_values: int = 128) -> Fraction:
        """Average bytes per stored number for vectors of ``n_values`` (overhead included)."""
        return Fraction(self.vector_bytes(n_values), n_values)


KV_DTYPES: dict[str, KVDtype] = {
    "fp32": KVDtype("fp32", 32, note="4 bytes per value (this app runs its models in float32)."),
    "bf16 / fp16": KVDtype("bf16 / fp16", 16, note="2 bytes per value: the usual serving default."),
    "fp8": KVDtype(
        "fp8",
        8,
        note="1 byte per value (E4M3). One float32 scale per layer for keys and one for "
        "values (vLLM's fp8 cache): a few bytes per layer, not per token, so not counted.",
    ),
    "int8": KVDtype(
        "int8",
        8,
        group_size=64,
        overhead_bytes=4,
        note="1 byte per value plus one fp16 scale and one fp16 zero point per group of 64 values "
        "(4 bytes per 64 values: +6.25 %).",
    ),
    "int4": KVDtype(
        "int4",
        4,
        group_size=64,
        overhead_bytes=4,
        note="Half a byte per value plus one fp16 scale and one fp16 zero point per group of 64 values "
        "(as transformers' QuantizedCache, q_group_size=64): 0.5625 bytes per value.",
    ),
}


def kv_dtype(name: str) -> KVDtype:
    """The KVDtype called ``name`` (a key of ``KV_DTYPES``); ValueError naming the choices otherwise."""
    if name not in KV_DTYPES:
        raise ValueError(f"Unknown cache dtype '{name}'. Choose one of: {', '.join(KV_DTYPES)}.")
    return KV_DTYPES[name]


# --------------------------------------------------------------------------------------------------------------
# The arithmetic.


def _whole(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an int >= minimum, or a ValueError saying which input is wrong and why."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}.")
        value = int(value)
    value = int(value)
    if value < minimum:
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {what}, got {value:,}.")
    return value


def _bytes_per_value(value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real,)):
        raise ValueError(f"bytes_per_value must be a number of bytes, got {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"bytes_per_value must be finite, got {value!r}.")
    exact = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if exact <= 0:
        raise ValueError(f"bytes_per_value must be positive, got {value!r}.")
    return exact


def cached_tokens(
    seq_len: int, *, window: int | None = None, block_size: int | None = None, transformers_sliding: bool = False
) -> int:
    """Tokens one layer holds for one sequence of ``seq_len`` tokens.

    A sliding-window layer only ever attends to the last ``window`` tokens, so it keeps at most ``window``
    (transformers' ``DynamicSlidingWindowLayer`` keeps ``window - 1`` between steps, because the next token
    brings its own key: ``transformers_sliding=True`` matches that exactly). A paged cache allocates whole
    blocks, so the count is rounded up to a multiple of ``block_size``.
    """
    tokens = seq_len
    if window is not None:
        tokens = min(tokens, window - 1 if transformers_sliding else window)
    if block_size:
        tokens = -(-tokens // block_size) * block_size
    return tokens


def kv_cache_bytes(
    *,
    num_layers: int,
    num_kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch_size: int = 1,
    bytes_per_value: int | float | Fraction = 2,
    sliding_window: int | None = None,
    sliding_layers: int | None = None,
    v_head_dim: int | None = None,
    dtype: str | KVDtype | None = None,
    block_size: int | None = None,
    transformers_sliding: bool = False,
) -> int:
    """Bytes of a KV cache: 2 x layers x kv_heads x head_dim x tokens x batch x bytes_per_value.

    Each layer stores, for every sequence in the batch and every token so far, one key vector and one value
    vector per key/value head. Use ``num_key_value_heads`` (grouped-query and multi-query attention share a
    key/value head between several query heads), never ``hidden_size``.

    Args:
        num_layers: decoder layers that keep a cache.
        num_kv_heads: key/value heads per layer (``num_key_value_heads``; equal to the query heads for MHA).
        head_dim: numbers per key vector (``head_dim``, or hidden_size // num_attention_heads).
        seq_len: tokens per sequence (prompt plus generated), >= 0.
        batch_size: sequences held at once.
        bytes_per_value: bytes per stored number (2 for bf16/fp16); ignored when ``dtype`` is given.
        sliding_window: window of the sliding-window layers; their tokens are capped at it.
        sliding_layers: how many of the layers slide (the rest are global); all of them when None.
        v_head_dim: numbers per value vector when it differs from the key's (decompressed MLA); head_dim if None.
        dtype: a ``KV_DTYPES`` name or KVDtype; quantised formats add their scale/zero-point bytes per vector.
        block_size: paged attention: round each sequence's tokens per layer up to a multiple of this (16).
        transformers_sliding: sliding layers keep window - 1 tokens, as transformers' cache does between steps.

    Returns:
        The exact number of bytes (a Python int, rounded up to a whole byte).
    """
    num_layers = _whole("num_layers", num_layers)
    num_kv_heads = _whole("num_kv_heads", num_kv_heads)
    head_dim = _whole("head_dim", head_dim)
    v_head_dim = head_dim if v_head_dim is None else _whole("v_head_dim", v_head_dim)
    seq_len = _whole("seq_len", seq_len, minimum=0)
    batch_size = _whole("batch_size", batch_size)
    if block_size is not None:
        block_size = _whole("block_size", block_size)
    if sliding_window is not None:
        sliding_window = _whole("sliding_window", sliding_window, minimum=2 if transformers_sliding else 1)
        sliding_layers = num_layers if sliding_layers is None else _whole("sliding_layers", sliding_layers, minimum=0)
        if sliding_layers > num_layers:
            raise ValueError(f"sliding_layers ({sliding_layers}) cannot exceed num_layers ({num_layers}).")
    else:
        sliding_layers = 0
    if dtype is not None:
        fmt = dtype if isinstance(dtype, KVDtype) else kv_dtype(dtype)
        per_token_layer = Fraction(num_kv_heads * (fmt.vector_bytes(head_dim) + fmt.vector_bytes(v_head_dim)))
    else:
        per_token_layer = num_kv_heads * (head_dim + v_head_dim) * _bytes_per_value(bytes_per_value)
    full_tokens = cached_tokens(seq_len, block_size=block_size)
    slide_tokens = (
        cached_tokens(seq_len, window=sliding_window, block_size=block_size, transformers_sliding=transformers_sliding)
        if sliding_layers
        else 0
    )
    layer_tokens = (num_layers - sliding_layers) * full_tokens + sliding_layers * slide_tokens  # summed over layers
    return math.ceil(per_token_layer * layer_tokens * batch_size)


def latent_cache_bytes(
    *,
    num_layers: int,
    kv_lora_rank: int,
    qk_rope_head_dim: int,
    seq_len: int,
    batch_size: int = 1,
    bytes_per_value: int | float | Fraction = 2,
    dtype: str | KVDtype | None = None,
    block_size: int | None = None,
) -> int:
    """Bytes of a multi-head latent attention (MLA, DeepSeek-V2/V3) cache.

    Per layer and token MLA stores one compressed latent of ``kv_lora_rank`` numbers (keys and values are
    both rebuilt from it) plus one rotary key of ``qk_rope_head_dim`` numbers shared by every head: no factor
    2, no heads. bytes = layers x (kv_lora_rank + qk_rope_head_dim) x tokens x batch x bytes_per_value.
    """
    num_layers = _whole("num_layers", num_layers)
    kv_lora_rank = _whole("kv_lora_rank", kv_lora_rank)
    qk_rope_head_dim = _whole("qk_rope_head_dim", qk_rope_head_dim)
    seq_len = _whole("seq_len", seq_len, minimum=0)
    batch_size = _whole("batch_size", batch_size)
    if block_size is not None:
        block_size = _whole("block_size", block_size)
    if dtype is not None:
        fmt = dtype if isinstance(dtype, KVDtype) else kv_dtype(dtype)
        per_token_layer = Fraction(fmt.vector_bytes(kv_lora_rank) + fmt.vector_bytes(qk_rope_head_dim))
    else:
        per_token_layer = (kv_lora_rank + qk_rope_head_dim) * _bytes_per_value(bytes_per_value)
    tokens = cached_tokens(seq_len, block_size=block_size)
    return math.ceil(per_token_layer * num_layers * tokens * batch_size)


def weight_bytes(parameters: int, dtype: str | KVDtype = "bf16 / fp16") -> int:
    """Bytes of a model's weights: parameters x bytes per value (quantised formats add their group overhead)."""
    parameters = _whole("parameters", parameters)
    fmt = dtype if isinstance(dtype, KVDtype) else kv_dtype(dtype)
    return fmt.vector_bytes(parameters)


def gib(n_bytes: int) -> float:
    """Bytes in GiB (2**30)."""
    return n_bytes / GIB


# --------------------------------------------------------------------------------------------------------------
# An architecture, from a preset or from a config.


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention sizes (DeepSeek-V3's config fields of the same names)."""

    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class KVSpec:
    """What the KV-cache arithmetic needs to know about a model.

    ``layer_types`` lists each layer as "sliding" or "full" when the model mixes them (Gemma 2/3), None
    when every layer is the same (all sliding when ``sliding_window`` is set, all full otherwise).
    """

    name: str
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int | None = None
    context_length: int | None = None
    sliding_window: int | None = None
    layer_types: tuple[str, ...] | None = None
    mla: MLA | None = None
    parameters: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for field in ("num_layers", "num_attention_heads", "num_kv_heads", "head_dim"):
            _whole(field, getattr(self, field))
        if self.num_attention_heads % self.num_kv_heads:  # a person can type these on the page
            raise ConfigError(
                f"{self.num_attention_heads} query heads cannot be shared evenly by "
                f"{self.num_kv_heads} key/value heads."
            )
        if self.layer_types is not None and len(self.layer_types) != self.num_layers:
            raise ValueError(f"layer_types lists {len(self.layer_types)} layers but the model has {self.num_layers}.")

    # -- shape facts --------------------------------------------------------------------------------------------
    @property
    def attention_kind(self) -> str:
        if self.mla is not None:
            return "multi-head latent attention (MLA)"
        if self.num_kv_heads == self.num_attention_heads:
            return "multi-head attention (MHA)"
        if self.num_kv_heads == 1:
            return "multi-query attention (MQA)"
        per_kv = self.num_attention_heads // self.num_kv_heads
        return f"grouped-query attention (GQA, {per_kv} query heads per key/value head)"

    @property
    def sliding_layers(self) -> int:
        """How many layers use the sliding window."""
        if self.sliding_window is None:
            return 0
        if self.layer_types is None:
            return self.num_layers
        return sum(t == "sliding" for t in self.layer_types)

    def with_kv_heads(self, num_kv_heads: int) -> KVSpec:
        """The same model with another number of key/value heads (MHA = query heads, MQA = 1)."""
        return replace(self, name=f"{self.name} ({num_kv_heads} kv heads)", num_kv_heads=num_kv_heads, mla=None)

    # -- bytes --------------------------------------------------------------------------------------------------
    def cache_bytes(
        self,
        seq_len: int,
        batch_size: int = 1,
        *,
        dtype: str | KVDtype = "bf16 / fp16",
        bytes_per_value: int | None = None,
        block_size: int | None = None,
        mla: str = "latent",
        transformers_sliding: bool = False,
    ) -> int:
        """Bytes of this model's KV cache for ``batch_size`` sequences of ``seq_len`` tokens.

        Args:
            dtype: a ``KV_DTYPES`` name; ``bytes_per_value`` (e.g. a real tensor's element size) overrides it.
            mla: for MLA models, "latent" (what MLA caches) or "decompressed" (per-head keys and values, what a
                framework that expands the latent before caching holds).
        """
        fmt = None if bytes_per_value is not None else dtype
        if self.mla is not None and mla == "latent":
            return latent_cache_bytes(
                num_layers=self.num_layers,
                kv_lora_rank=self.mla.kv_lora_rank,
                qk_rope_head_dim=self.mla.qk_rope_head_dim,
                seq_len=seq_len,
                batch_size=batch_size,
                bytes_per_value=bytes_per_value or 2,
                dtype=fmt,
                block_size=block_size,
            )
        if self.mla is not None:
            return kv_cache_bytes(
                num_layers=self.num_layers,
                num_kv_heads=self.num_kv_heads,
                head_dim=self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim,
                v_head_dim=self.mla.v_head_dim,
                seq_len=seq_len,
                batch_size=batch_size,
                bytes_per_value=bytes_per_value or 2,
                dtype=fmt,
                block_size=block_size,
            )
        return kv_cache_bytes(
            num_layers=self.num_layers,
            num_kv_heads=self.num_kv_heads,
            head_dim=self.head_dim,
            seq_len=seq_len,
            batch_size=batch_size,
            bytes_per_value=bytes_per_value or 2,
            dtype=fmt,
            sliding_window=self.sliding_window,
            sliding_layers=self.sliding_layers if self.sliding_window else None,
            block_size=block_size,
            transformers_sliding=transformers_sliding,
        )

    def bytes_per_token(self, *, dtype: str | KVDtype = "bf16 / fp16", mla: str = "latent") -> int:
        """Bytes one more token adds to one sequence's cache (before any window is full)."""
        full = replace(self, sliding_window=None, layer_types=None)
        return full.cache_bytes(1, 1, dtype=dtype, mla=mla)

    def breakdown(
        self,
        seq_len: int,
        batch_size: int = 1,
        *,
        dtype: str | KVDtype = "bf16 / fp16",
        block_size: int | None = None,
        mla: str = "latent",
    ) -> list[tuple[str, int, str]]:
        """(what, bytes, how) rows: per value, per layer and token, per token, per layer, per sequence, total."""
        fmt = dtype if isinstance(dtype, KVDtype) else kv_dtype(dtype)
        one_layer = replace(self, num_layers=1, sliding_window=None, layer_types=None)
        per_layer_token = one_layer.cache_bytes(1, 1, dtype=fmt, mla=mla)
        per_token = self.bytes_per_token(dtype=fmt, mla=mla)
        per_sequence = self.cache_bytes(seq_len, 1, dtype=fmt, block_size=block_size, mla=mla)
        total = self.cache_bytes(seq_len, batch_size, dtype=fmt, block_size=block_size, mla=mla)
        full_layer = one_layer.cache_bytes(seq_len, 1, dtype=fmt, block_size=block_size, mla=mla)
        rows = [
            (
                "one stored number",
                fmt.vector_bytes(128) / 128,
                f"{fmt.name} ({fmt.bits} bits"
                + (f" + scale/zero point per {fmt.group_size} values)" if fmt.group_size else ")"),
            ),
            ("per layer, per token", per_layer_token, "key + value vectors of every key/value head"),
            ("per token (all layers)", per_token, f"x {self.num_layers} layers"),
            ("per global layer, per sequence", full_layer, f"x {seq_len:,} tokens"),
        ]
        if self.sliding_layers:
            slide = cached_tokens(seq_len, window=self.sliding_window, block_size=block_size)
            rows.append(
                (
                    "per sliding layer, per sequence",
                    per_layer_token * slide,
                    f"x {slide:,} tokens (capped at the {self.sliding_window:,}-token window)",
                )
            )
        rows += [
            ("per sequence (request)", per_sequence, "all layers"),
            ("whole batch", total, f"x {batch_size:,} sequences"),
        ]
        return rows

    # -- from a Hugging Face config ------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Any, name: str | None = None, parameters: int | None = None) -> KVSpec:
        """Read a spec from a transformers config object or a config.json dict.

        Uses ``num_key_value_heads`` (falling back to ``num_attention_heads``), an explicit ``head_dim`` when
        present, ``sliding_window`` with ``layer_types`` (or ``use_sliding_window``), and the MLA fields
        (``kv_lora_rank``, ``qk_rope_head_dim``...) for DeepSeek-style models.

        Raises:
            ConfigError: naming the missing or invalid field.
        """
        if isinstance(config, Mapping):
            text = config.get("text_config") or config
            get = lambda key: text.get(key)
        else:
            text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
            get = lambda key: getattr(text, key, None)

        def first(*keys: str, required: bool = True) -> Any:
            for key in keys:
                value = get(key)
                if value is not None:
                    return value
            if required:
                also = f" (also looked for {', '.join(keys[1:])})" if len(keys) > 1 else ""
                raise ConfigError(f"The config has no '{keys[0]}'{also}, so the KV cache cannot be worked out.")
            return None

        try:
            layers = _whole("num_hidden_layers", first("num_hidden_layers", "n_layer", "num_layers"))
            heads = _whole("num_attention_heads", first("num_attention_heads", "n_head", "num_heads"))
            kv_heads = _whole("num_key_value_heads", first("num_key_value_heads", required=False) or heads)
            hidden = first("hidden_size", "n_embd", "d_model", required=False)
            head_dim = first("head_dim", required=False)
            if head_dim is None:
                if hidden is None:
                    raise ConfigError(
                        "The config has neither 'head_dim' nor 'hidden_size' (also looked for "
                        "n_embd, d_model), so the size of a key vector is unknown."
                    )
                head_dim = int(hidden) // heads
            head_dim = _whole("head_dim", head_dim)
            window = first("sliding_window", "attention_chunk_size", required=False)
            if get("use_sliding_window") is False:
                window = None
            raw_types = get("layer_types")
            layer_types = None
            if window is not None and raw_types is not None:
                layer_types = tuple(
                    "sliding" if ("sliding" in str(t) or "chunked" in str(t)) else "full" for t in raw_types
                )
                if len(layer_types) != layers:
                    raise ConfigError(f"The config's layer_types lists {len(layer_types)} layers, not {layers}.")
                if "sliding" not in layer_types:
                    window, layer_types = None, None
            mla = None
            if get("kv_lora_rank") is not None:
                mla = MLA(
                    kv_lora_rank=_whole("kv_lora_rank", get("kv_lora_rank")),
                    qk_rope_head_dim=_whole("qk_rope_head_dim", first("qk_rope_head_dim")),
                    qk_nope_head_dim=_whole("qk_nope_head_dim", first("qk_nope_head_dim")),
                    v_head_dim=_whole("v_head_dim", first("v_head_dim")),
                )
                head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
            context = first("max_position_embeddings", "n_positions", "n_ctx", required=False)
            return cls(
                name=name or str(first("_name_or_path", "model_type", required=False) or "config"),
                num_layers=layers,
                num_attention_heads=heads,
                num_kv_heads=kv_heads,
                head_dim=head_dim,
                hidden_size=int(hidden) if hidden is not None else None,
                context_length=int(context) if context is not None else None,
                sliding_window=_whole("sliding_window", window) if window is not None else None,
                layer_types=layer_types,
                mla=mla,
                parameters=parameters,
                source="config",
            )
        except ConfigError:
            raise
        except (ValueError, TypeError) as error:
            raise ConfigError(f"The config has an invalid value: {error}") from error


def spec_from_hub(model_id: str, allow_local: bool = False) -> KVSpec:
    """Fetch a config from the Hugging Face Hub (config.json only, no weights) and read its spec.

    Args:
        model_id: a Hub id ("owner/name"). A path on the server (anything that exists there, starts with /, . or
            ~, or has more than one slash) is refused unless ``allow_local``: transformers would read that
            folder's config.json from the working directory.
        allow_local: the operator's choice (NTE_ALLOW_LOCAL_MODELS) to let a server folder be read.

    Raises:
        ConfigError: when the id is malformed, unknown, a refused local path, or the Hub cannot be reached (offline).
    """
    from transformers import AutoConfig

    from core.models import LOCAL_SWITCHED_OFF, ModelLoadError, _check_hub_id, _hub_error, looks_local

    model_id = (model_id or "").strip()
    if not model_id:
        raise ConfigError("Type a Hugging Face model id, e.g. 'meta-llama/Llama-3.1-8B'.")
    if looks_local(model_id):
        if not allow_local:
            raise ConfigError(f"{LOCAL_SWITCHED_OFF} Type a Hub id such as 'meta-llama/Llama-3.1-8B'.")
        folder = os.path.expanduser(model_id)
        if not os.path.isdir(folder):
            raise ConfigError(f"There is no folder at '{model_id[:200]}' on the server.")
        try:
            config = AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
        except Exception as error:  # no config.json, or one transformers cannot read
            name = type(error).__name__
            raise ConfigError(f"Could not read a config.json in the folder '{model_id[:200]}': {name}.") from error
        spec = KVSpec.from_config(config, name=model_id)
        return replace(spec, source=f"config.json in the folder {model_id} on this server")
    try:
        _check_hub_id(model_id)
        config = AutoConfig.from_pretrained(model_id, trust_remote_code=False)
    except ModelLoadError as error:
        raise ConfigError(str(error)) from error
    except Exception as error:  # the Hub raises many types; the person needs the cause
        raise ConfigError(str(_hub_error(model_id, error))) from error
    spec = KVSpec.from_config(config, name=model_id)
    return replace(spec, source=f"config.json of {model_id} on the Hugging Face Hub")


# --------------------------------------------------------------------------------------------------------------
# Presets: real published config values, kept as data in core/data/kv_presets.json. Sources are the models'
# config.json on the Hugging Face Hub (https://huggingface.co/<id>/blob/main/config.json) unless the file says
# otherwise. Parameter counts are those of the published checkpoints (transformers' meta-device count).

PRESETS_FILE = Path(__file__).parent / "data" / "kv_presets.json"


def _alternate(n: int, every: int) -> tuple[str, ...]:
    """Every ``every``-th layer global, the others sliding (Gemma 2: every=2; Gemma 3: every=6)."""
    return tuple("full" if (i + 1) % every == 0 else "sliding" for i in range(n))


def _preset(entry: Mapping[str, Any]) -> KVSpec:
    """One preset of the file: KVSpec's fields by name, plus ``global_layer_every`` (mixed sliding/global
    layers), ``mla`` (MLA's fields) and ``note`` (for the reader of the file, not used)."""
    fields = {key: value for key, value in entry.items() if key not in ("note", "global_layer_every", "mla")}
    if entry.get("global_layer_every"):
        fields["layer_types"] = _alternate(int(entry["num_layers"]), int(entry["global_layer_every"]))
    if entry.get("mla"):
        fields["mla"] = MLA(**entry["mla"])
    return KVSpec(**fields)


def load_presets(path: Path = PRESETS_FILE) -> dict[str, KVSpec]:
    """The presets file as {name: KVSpec}, in the file's order."""
    entries = json.loads(path.read_text(encoding="utf-8"))["presets"]
    return {entry["name"]: _preset(entry) for entry in entries}


PRESETS: dict[str, KVSpec] = load_presets()


# --------------------------------------------------------------------------------------------------------------
# What fits on a GPU.


@dataclass(frozen=True)
class Fit:
    """What fits in ``gpu_bytes`` next to the weights."""

    gpu_bytes: int
    weight_bytes: int
    free_bytes: int  # GPU memory left for the cache (negative: the weights alone do not fit)
    max_tokens: int | None  # longest sequence for the given batch; None when memory never runs out (all layers slide)
    max_batch: int  # most sequences of the given length


def fits_on_gpu(
    spec: KVSpec,
    gpu_bytes: int,
    weights: int,
    *,
    seq_len: int,
    batch_size: int = 1,
    dtype: str = "bf16 / fp16",
    block_size: int | None = None,
    mla: str = "latent",
    token_limit: int = 10**13,
) -> Fit:
    """Longest context (at ``batch_size``) and largest batch (at ``seq_len``) whose cache fits beside the weights.

    The cache grows monotonically with tokens, so the longest context is found by bisection (exact integers).
    """
    gpu_bytes = _whole("gpu_bytes", gpu_bytes)
    weights = _whole("weights", weights, minimum=0)
    free = gpu_bytes - weights
    if free <= 0:
        return Fit(gpu_bytes, weights, free, 0, 0)

    def need(tokens: int, batch: int) -> int:
        return spec.cache_bytes(tokens, batch, dtype=dtype, block_size=block_size, mla=mla)

    per_request = need(seq_len, 1)
    max_batch = free // per_request if per_request else 0
    if need(token_limit, batch_size) <= free:
        max_tokens = None
    else:
        low, high = 0, token_limit  # need(low) <= free < need(high)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if need(mid, batch_size) <= free else (low, mid)
        max_tokens = low
    return Fit(gpu_bytes, weights, free, max_tokens, max_batch)


# --------------------------------------------------------------------------------------------------------------
# Measured, not only estimated.


def measured_cache_bytes(cache: Any) -> int:
    """Bytes held by the key and value tensors of a transformers cache (``DynamicCache`` and friends).

    Reads ``cache.layers[i].keys`` / ``.values`` (shape (batch, kv_heads, tokens, head_dim)) and adds up
    ``numel * element_size`` for each: what the cache really holds, not an estimate.
    """
    total = 0
    for layer in getattr(cache, "layers", []):
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is not None and hasattr(tensor, "numel"):
                total += tensor.numel() * tensor.element_size()
    return int(total)


@dataclass(frozen=True)
class CacheMeasurement:
    """A real cache after a prompt: its bytes, the estimate for the same model and length, and its shapes."""

    tokens: int
    measured_bytes: int
    estimated_bytes: int
    bytes_per_value: int
    dtype: str
    layer_shapes: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # per layer: (keys shape, values shape)

    @property
    def equal(self) -> bool:
        return self.measured_bytes == self.estimated_bytes


def measure_cache(
    lm: Any, n_tokens: int, text: str = "The package left the warehouse and the hub. "
) -> CacheMeasurement:
    """Run ``lm`` on a prompt of exactly ``n_tokens`` tokens with a fresh DynamicCache and read its bytes.

    The prompt is ``text``'s token ids repeated to length ``n_tokens``; the estimate uses ``KVSpec.from_config``
    of the same model with the cache tensors' element size and transformers' sliding-window convention.

    Args:
        lm: a LoadedModel (``.model``, ``.tokenizer``).
        n_tokens: prompt length, 1 .. min(MAX_MEASURE_TOKENS, the model's context length).
    """
    import torch
    from transformers import DynamicCache

    from core.models import accepts_argument

    context = getattr(getattr(lm, "facts", None), "context_length", None) or MAX_MEASURE_TOKENS
    limit = min(MAX_MEASURE_TOKENS, int(context))
    n_tokens = _whole("n_tokens", n_tokens)
    if n_tokens > limit:
        raise ValueError(
            f"n_tokens must be at most {limit:,} here (the model's context or this page's bound), got {n_tokens:,}."
        )
    ids = lm.tokenizer(text, add_special_tokens=False).input_ids or [0]
    ids = (ids * (n_tokens // len(ids) + 1))[:n_tokens]
    input_ids = torch.tensor([ids], dtype=torch.long)  # (1, T)
    cache = DynamicCache(config=lm.model.config)
    extra = {}
    if accepts_argument(lm.model, "logits_to_keep"):
        extra["logits_to_keep"] = 1  # the cache is what we want; skip the (T, V) logits of every position
    with torch.inference_mode():
        lm.model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            cache=cache,
            use_cache=True,
            **extra,
        )
    shapes = tuple((tuple(layer.keys.shape), tuple(layer.values.shape)) for layer in cache.layers)
    element = cache.layers[0].keys.element_size()
    dtype = str(cache.layers[0].keys.dtype).replace("torch.", "")
    spec = KVSpec.from_config(lm.model.config)
    estimate = spec.cache_bytes(n_tokens, 1, bytes_per_value=element, transformers_sliding=True)
    return CacheMeasurement(n_tokens, measured_cache_bytes(cache), estimate, element, dtype, shapes)


# --------------------------------------------------------------------------------------------------------------
# Series for the page's charts (plain numbers; the figures are built in components.kv_cache).


def length_grid(max_tokens: int, points: int = 64) -> list[int]:
    """``points`` sequence lengths from 0 to ``max_tokens`` (ints, increasing, ending at max_tokens)."""
    max_tokens = _whole("max_tokens", max_tokens)
    return sorted({round(max_tokens * i / (points - 1)) for i in range(points)})


def cache_curves(
    spec: KVSpec, lengths: Sequence[int], batch_sizes: Sequence[int], **kwargs: Any
) -> dict[int, list[int]]:
    """Bytes at every length, for each batch size: {batch: [bytes per length]}. kwargs go to ``cache_bytes``."""
    return {b: [spec.cache_bytes(t, b, **kwargs) for t in lengths] for b in batch_sizes}


def attention_variants(spec: KVSpec, seq_len: int, batch_size: int = 1, **kwargs: Any) -> list[tuple[str, int, int]]:
    """(label, kv heads, bytes) for the same model with as many key/value heads as query heads (MHA), its own
    layout, and one key/value head (MQA); for an MLA model, its latent beside the decompressed per-head cache.

    Rows are sorted from the largest cache to the smallest. kwargs go to ``cache_bytes`` (dtype, block_size...).
    """
    heads = spec.num_attention_heads
    if spec.mla is not None:
        one_head = replace(spec, num_kv_heads=1)
        return [
            (
                f"decompressed K and V ({heads} heads)",
                heads,
                spec.cache_bytes(seq_len, batch_size, mla="decompressed", **kwargs),
            ),
            (
                "decompressed, one K/V head (MQA)",
                1,
                one_head.cache_bytes(seq_len, batch_size, mla="decompressed", **kwargs),
            ),
            ("this model: MLA latent", 0, spec.cache_bytes(seq_len, batch_size, mla="latent", **kwargs)),
        ]
    rows = {heads: "multi-head (MHA)", 1: "multi-query (MQA)"}
    own = "MHA" if spec.num_kv_heads == heads else "MQA" if spec.num_kv_heads == 1 else "GQA"
    rows[spec.num_kv_heads] = f"this model ({own}, {spec.num_kv_heads} kv head{'s' if spec.num_kv_heads > 1 else ''})"
    return sorted(
        ((label, kv, spec.with_kv_heads(kv).cache_bytes(seq_len, batch_size, **kwargs)) for kv, label in rows.items()),
        key=lambda r: -r[2],
    )

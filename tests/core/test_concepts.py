"""One home for each concept in core/: the table in docs/CONCEPTS.md names real functions, the shared
rules (start token, text check, signature probe, temperature, KV formula) are written once, and the data lives
in core/data/."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import math
import re
from pathlib import Path

import pytest
import torch
from transformers import TemperatureLogitsWarper

from core import kv_cache
from core.generation import Stepper
from core.ngram import CorpusError
from core.perplexity import PerplexityError, TextTooLong
from core.prompt import encode_prompt
from core.temperature import apply_temperature
from core.text import PromptError, TextError
from core.tiny_tokenizers import TokenizerError as TinyTokenizerError
from core.tokens import TokenizerError

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"


def top_level_functions() -> dict[str, list[str]]:
    """Function name -> the core modules that define it at top level."""
    defined: dict[str, list[str]] = {}
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                defined.setdefault(node.name, []).append(path.stem)
    return defined


@pytest.mark.parametrize(
    "name, home",
    [
        ("start_token_id", "perplexity"),
        ("check_text", "text"),
        ("accepts_argument", "models"),
        ("apply_temperature", "temperature"),
        ("kv_cache_bytes", "kv_cache"),
        ("train_bpe", "bpe"),
        ("prompt_ids_for", "prompt"),
        ("entropy_bits", "entropy"),
        ("encode_prompt", "prompt"),
    ],
)
def test_each_shared_rule_is_defined_once(name, home):
    assert top_level_functions().get(name) == [home]


def test_the_signature_probe_and_the_kv_formula_are_written_once():
    probes = [p.name for p in CORE.glob("*.py") if "inspect.signature" in p.read_text()]
    assert probes == ["models.py"]
    formula = re.compile(r"2 \* \w*layers \* \w*kv_heads")
    users = [
        p.relative_to(ROOT).as_posix()
        for p in [*CORE.glob("*.py"), *(ROOT / "components").glob("*.py")]
        if formula.search(p.read_text())
    ]
    assert users == []


def test_concepts_table_names_real_functions_once_each():
    text = (ROOT / "docs" / "CONCEPTS.md").read_text()
    rows = re.findall(r"^\| ([^|`]+?) \| `(core\.[\w.]+)` \|", text, flags=re.M)
    concepts = [concept for concept, _ in rows]
    assert len(concepts) == len(set(concepts)) and len(rows) >= 15
    for needed in (
        "softmax",
        "temperature",
        "top-k",
        "top-p",
        "sampling",
        "teacher forcing",
        "cross-entropy",
        "perplexity",
        "KV cache",
        "attention",
        "BPE",
        "logit lens",
        "n-gram",
        "generation / stepper",
        "embeddings",
    ):
        assert needed in concepts
    for _, dotted in rows:
        module, name = dotted.rsplit(".", 1)
        assert hasattr(importlib.import_module(module), name), dotted


def test_every_text_error_shares_one_base():
    for error in (PromptError, PerplexityError, TextTooLong, CorpusError, TokenizerError):
        assert issubclass(error, TextError) and issubclass(error, ValueError)
    assert TinyTokenizerError is TokenizerError


class NoTokens:
    """A tokenizer that finds no tokens in any text."""

    chat_template = None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": []}


@pytest.mark.parametrize("prompt", ["", "  \n", "\u200b\u200d", "x" * 20_001, "visible text, no tokens"])
def test_both_prompt_paths_raise_the_same_error(tiny_gpt2_lm, prompt):
    lm = dataclasses.replace(tiny_gpt2_lm, tokenizer=NoTokens()) if prompt.startswith("visible") else tiny_gpt2_lm
    with pytest.raises(PromptError) as direct:
        encode_prompt(lm, prompt)
    with pytest.raises(PromptError) as stepper:
        Stepper(lm, prompt)
    assert str(direct.value) == str(stepper.value)


def test_apply_temperature_is_the_warper_and_greedy_at_zero():
    logits = torch.tensor([1.0, 3.0, 3.0, -2.0], dtype=torch.float16)
    before = logits.clone()
    for t in (0.5, 1.0, 2.0):
        expected = TemperatureLogitsWarper(t)(None, logits.float().unsqueeze(0)).squeeze(0)
        assert torch.equal(apply_temperature(logits, t), expected)
    greedy = apply_temperature(logits, 0)
    assert greedy.tolist() == [float("-inf"), 3.0, float("-inf"), float("-inf")]  # the first of the tied maxima
    assert torch.equal(logits, before)
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature(logits, -1)


def test_kv_presets_and_corpora_are_data_files():
    entries = json.loads((CORE / "data" / "kv_presets.json").read_text())["presets"]
    assert list(kv_cache.PRESETS) == [e["name"] for e in entries]
    assert kv_cache.load_presets() == kv_cache.PRESETS
    gemma = kv_cache.PRESETS["Gemma-2-9B"]
    assert gemma.sliding_layers == 21 and gemma.layer_types[:2] == ("sliding", "full")
    assert kv_cache.PRESETS["DeepSeek-V3"].mla.kv_lora_rank == 512
    from core.bpe import DEFAULT_BPE_CORPUS
    from core.training import TOY_CORPUS, VILLAGE_CORPUS

    assert DEFAULT_BPE_CORPUS == (CORE / "data" / "bpe_corpus.txt").read_text()
    assert VILLAGE_CORPUS == (CORE / "data" / "village_corpus.txt").read_text()
    assert TOY_CORPUS.splitlines() == (CORE / "data" / "mini_gpt_corpus.txt").read_text().splitlines()


class Wrapped:
    """The bundled tokenizer with another start-token setup: it adds its own BOS (id ``bos``), or has none at all."""

    def __init__(self, tokenizer, bos):
        self.tokenizer, self.bos_token_id, self.eos_token_id = tokenizer, bos, None

    def __call__(self, text, add_special_tokens=True):
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        start = [self.bos_token_id] if add_special_tokens and self.bos_token_id is not None else []
        return {"input_ids": start + ids}

    def get_vocab(self):
        vocab = self.tokenizer.get_vocab()
        return vocab if self.bos_token_id is not None else {k: v for k, v in vocab.items() if k != "<|endoftext|>"}

    def decode(self, ids):
        return self.tokenizer.decode(ids)

    def convert_ids_to_tokens(self, ids):
        return self.tokenizer.convert_ids_to_tokens(ids)


@pytest.mark.parametrize("bos", [1, None])
def test_neural_perplexity_uses_the_one_start_token_rule(tiny_gpt2_lm, bos):
    """A tokenizer that adds its own BOS is scored from that BOS (not <|endoftext|>, which its vocabulary also has);
    one without any start token is scored from its second token, as the calculator does."""
    from core.ngram import neural_perplexity
    from core.perplexity import perplexity, start_token_id

    lm = dataclasses.replace(tiny_gpt2_lm, tokenizer=Wrapped(tiny_gpt2_lm.tokenizer, bos))
    assert start_token_id(lm.tokenizer) == bos
    score = neural_perplexity(lm, "package left warehouse")
    ids = tiny_gpt2_lm.tokenizer("package left warehouse", add_special_tokens=False)["input_ids"]
    full = ([bos] if bos is not None else []) + ids
    with torch.inference_mode():
        loss = float(tiny_gpt2_lm.model(torch.tensor([full]), labels=torch.tensor([full])).loss)
    assert score.token_ids == full[1:]
    assert score.perplexity == pytest.approx(math.exp(loss), rel=1e-5)
    assert score.token_nll.tolist() == perplexity(lm, "package left warehouse", add_bos=bos is not None).nll.tolist()
    if bos is None:
        with pytest.raises(CorpusError, match="two tokens"):
            neural_perplexity(lm, "a")

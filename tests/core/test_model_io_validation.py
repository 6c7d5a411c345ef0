"""Uploaded tokenizers: only the structures the Train page writes are loaded (a custom regex panics the tokenizer)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from tokenizers import Tokenizer

from core.model_io import ModelFileError, check_tokenizer_spec, load_model_zip, save_model_zip
from core.models import wrap_model
from core.tiny_tokenizers import CHAR, WORD, make_tokenizer, tokenizer_kind
from core.training import TOY_CORPUS, ModelSize, build_model

HOSTILE_REGEX = "(a|a)+$"
HOSTILE_INPUT = "a" * 30 + "b"


def _zip(kind: str) -> bytes:
    tokenizer = make_tokenizer(TOY_CORPUS + "ab", kind)
    lm = wrap_model(build_model(ModelSize(1, 1, 8, 8), tokenizer, seed=1), tokenizer, "tiny", "test")
    return save_model_zip(lm, {"tokenizer_kind": kind})


@pytest.fixture(scope="module")
def char_zip() -> bytes:
    return _zip(CHAR)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _with_tokenizer(data: bytes, change) -> bytes:
    """The zip ``data`` with its tokenizer.json changed by ``change(spec)`` (which edits the parsed JSON)."""
    members = _members(data)
    spec = json.loads(members["tokenizer.json"])
    change(spec)
    members["tokenizer.json"] = json.dumps(spec).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def _hostile(spec: dict) -> None:
    spec["pre_tokenizer"]["pattern"]["Regex"] = HOSTILE_REGEX


@pytest.mark.parametrize("kind", [CHAR, WORD])
def test_a_zip_the_train_page_writes_loads_and_tokenizes_the_same(kind):
    data = _zip(kind)
    loaded = load_model_zip(data, "uploaded")
    original = Tokenizer.from_str(_members(data)["tokenizer.json"].decode())
    text = "the cat sat on the mat.\n" + HOSTILE_INPUT
    assert loaded.tokenizer(text, add_special_tokens=False)["input_ids"] == original.encode(text).ids
    assert tokenizer_kind(loaded.tokenizer) == kind


def test_the_hostile_regex_really_panics_past_except_exception(char_zip):
    """The mechanism: the tokenizers library accepts the regex, then panics with a BaseException on this input."""
    spec = json.loads(_members(char_zip)["tokenizer.json"])
    _hostile(spec)
    backend = Tokenizer.from_str(json.dumps(spec))  # loading alone does not fail
    with pytest.raises(BaseException) as caught:
        backend.encode(HOSTILE_INPUT)
    assert not isinstance(caught.value, Exception)  # so a page's `except Exception` lets it through
    assert type(caught.value).__name__ == "PanicException"


def test_a_zip_with_the_hostile_regex_is_refused_before_any_panic(char_zip):
    with pytest.raises(ModelFileError, match=r"custom pre-tokenizer \(Split with a regex\).*Train page writes"):
        load_model_zip(_with_tokenizer(char_zip, _hostile), "uploaded")


def _set(path: str, value):
    def change(spec):
        *parents, last = path.split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[last] = value

    return change


@pytest.mark.parametrize(
    "change, match",
    [
        (_set("pre_tokenizer.pattern", {"String": "a"}), "custom pre-tokenizer"),
        (_set("pre_tokenizer.invert", True), "custom pre-tokenizer"),
        (_set("pre_tokenizer.behavior", "Removed"), "custom pre-tokenizer"),
        (
            _set(
                "pre_tokenizer",
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            ),
            "a ByteLevel pre-tokenizer",
        ),
        (
            _set(
                "pre_tokenizer",
                {
                    "type": "Sequence",
                    "pretokenizers": [
                        {"type": "Split", "pattern": {"Regex": "(a|a)+$"}, "behavior": "Isolated", "invert": False}
                    ],
                },
            ),
            "a Sequence pre-tokenizer",
        ),
        (_set("pre_tokenizer", None), "an unknown pre-tokenizer"),
        (
            _set("normalizer", {"type": "Replace", "pattern": {"Regex": "(a|a)+$"}, "content": "b"}),
            "a Replace normalizer",
        ),
        (
            _set("decoder", {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}),
            "a ByteLevel decoder",
        ),
        (_set("decoder", {"type": "Replace", "pattern": {"Regex": "(a|a)+$"}, "content": "b"}), "a Replace decoder"),
        (
            _set(
                "post_processor",
                {
                    "type": "TemplateProcessing",
                    "single": [
                        {"SpecialToken": {"id": "<bos>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                    ],
                    "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                    "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
                },
            ),
            "post-processor",
        ),
        (_set("model.type", "BPE"), "a BPE tokenizer model"),
        (_set("model.type", "[x](https://evil.example)"), "an unknown tokenizer model"),
        (_set("model.dropout", 0.5), "settings this app never writes"),
        (_set("model.unk_token", "a"), "not numbered"),
        (_set("model.vocab.<pad>", 99), "not numbered"),
        (_set("added_tokens", []), "added tokens"),
        (
            lambda spec: spec["added_tokens"].append({**spec["added_tokens"][0], "id": 4, "content": "zz"}),
            "added tokens",
        ),
        (lambda spec: spec["added_tokens"][0].update(lstrip=True), "added tokens"),
        (_set("extra", {"anything": 1}), "parts this app's tokenizers never have"),
    ],
)
def test_foreign_tokenizer_structures_are_refused_in_plain_words(char_zip, change, match):
    with pytest.raises(ModelFileError, match=match) as refused:
        load_model_zip(_with_tokenizer(char_zip, change), "uploaded")
    assert "Traceback" not in str(refused.value) and "evil" not in str(refused.value)


@pytest.mark.parametrize("raw", [b"[1, 2]", b"\xff\xfe", b"1" * 5000, b"[" * 100_000, b'{"model": '])
def test_unreadable_tokenizer_json_is_refused(char_zip, raw):
    members = _members(char_zip)
    members["tokenizer.json"] = raw
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    with pytest.raises(ModelFileError, match="not a valid tokenizer"):
        load_model_zip(buffer.getvalue(), "uploaded")


def test_check_tokenizer_spec_accepts_both_kinds_with_or_without_the_wrappers_post_processor():
    for kind in (CHAR, WORD):
        spec = json.loads(make_tokenizer(TOY_CORPUS, kind).backend_tokenizer.to_str())
        check_tokenizer_spec(spec)
        check_tokenizer_spec({**spec, "post_processor": None})  # the backend before transformers wraps it

"""Character-level and word-level tokenizers for tiny trained models, built with the `tokenizers` library.

Both are wrapped as ``transformers.PreTrainedTokenizerFast``, so a model trained in the app is used by every
page exactly like a Hugging Face model (``tokenizer(text, add_special_tokens=False)["input_ids"]``, ``decode``,
``convert_ids_to_tokens``, ``len``). Decoding concatenates token texts, so ``decode(encode(text)) == text``
for any text made only of known symbols.
"""

from __future__ import annotations

import json
from collections import Counter

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from core.tokens import TokenizerError  # one error for text a tokenizer refuses (re-exported here)

CHAR, WORD = "char", "word"
KINDS = {CHAR: "character-level", WORD: "word-level"}
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)
MAX_WORD_VOCAB = 4_000  # rarer words become <unk>, so the embedding table stays small

# Every character is a token (newlines included).
_CHAR_PATTERN = r"[\s\S]"
# Words carry their leading space, as in GPT-2 (" cat"); punctuation is its own token; a newline stands alone.
_WORD_PATTERN = r" ?[A-Za-z0-9']+| ?[^\sA-Za-z0-9']|\s"
# The only pre-tokenizer regexes this app writes (an uploaded tokenizer.json may use no other: core.model_io).
PATTERNS = (_CHAR_PATTERN, _WORD_PATTERN)


def _pieces(text: str, pattern: str) -> list[str]:
    splitter = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    return [piece for piece, _ in splitter.pre_tokenize_str(text)]


def build_vocab(text: str, kind: str) -> list[str]:
    """The symbols of ``text`` for a tokenizer of ``kind``: characters sorted, or words by frequency."""
    if kind == CHAR:
        return sorted(set(text))
    if kind == WORD:
        counts = Counter(_pieces(text, _WORD_PATTERN))
        common = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_WORD_VOCAB]]
        return sorted(common)
    raise TokenizerError(f"Unknown tokenizer kind '{kind}' (expected '{CHAR}' or '{WORD}').")


def wrap_tokenizer(backend: Tokenizer) -> PreTrainedTokenizerFast:
    """Wrap a `tokenizers.Tokenizer` whose vocabulary starts with the four special tokens."""
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        clean_up_tokenization_spaces=False,
    )


def make_tokenizer(text: str, kind: str = CHAR) -> PreTrainedTokenizerFast:
    """Build a tokenizer whose vocabulary is the special tokens, then every symbol of ``text``.

    Args:
        text: the training corpus.
        kind: ``"char"`` (every character is a token) or ``"word"`` (words with their leading space,
            punctuation and newlines; at most ``MAX_WORD_VOCAB`` words, the rest map to ``<unk>``).

    Returns:
        A PreTrainedTokenizerFast with ids 0-3 = <pad>, <unk>, <bos>, <eos>; no special token is added
        when encoding.
    """
    if not text or not text.strip():
        raise TokenizerError("The corpus is empty: there is nothing to build a vocabulary from.")
    symbols = [s for s in build_vocab(text, kind) if s not in SPECIAL_TOKENS]
    vocab = {token: i for i, token in enumerate(list(SPECIAL_TOKENS) + symbols)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    pattern = _CHAR_PATTERN if kind == CHAR else _WORD_PATTERN
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    backend.decoder = decoders.Fuse()  # concatenate token texts: no spaces are invented
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    return wrap_tokenizer(backend)


def tokenizer_kind(tokenizer: PreTrainedTokenizerFast) -> str:
    """``"char"`` or ``"word"``, read back from the tokenizer's pre-tokenizer pattern."""
    pattern = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer", {}).get("pattern", {})
    return CHAR if pattern.get("Regex") == _CHAR_PATTERN else WORD

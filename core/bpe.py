"""Byte-pair encoding (seed 004): train a byte-level BPE tokenizer on a pasted corpus with `tokenizers`, and
the vocabulary-size trade-off (one BPE per size, tokens of the same text)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.text import check_text, token_label
from core.tokens import TokenizerError, check_tokenizer_text, token_view

MAX_BPE_CORPUS_CHARS = 200_000
MIN_BPE_VOCAB = 257  # the 256 byte symbols plus one special token: a BPE with zero merges
MAX_BPE_VOCAB = 8_000
BPE_SPECIAL = "<|endoftext|>"


def _data(name: str) -> str:
    return (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")


# The default training corpus: plain English about tokens, in the seeds' shipping vocabulary (core/data/).
DEFAULT_BPE_CORPUS = _data("bpe_corpus.txt")


class TrainedBPE:
    """A byte-level BPE trained with `tokenizers`, with the small tokenizer interface the views use.

    Byte-level: the 256 byte values are the starting alphabet, so any text (emoji, CJK, ...) encodes and
    decodes back exactly; merges then join frequent neighbours into longer tokens.
    """

    def __init__(self, backend: Any, requested_vocab_size: int, corpus_chars: int):
        self.backend = backend
        self.requested_vocab_size = int(requested_vocab_size)
        self.corpus_chars = int(corpus_chars)
        self.all_special_ids = [backend.token_to_id(BPE_SPECIAL)]

    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size())

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def merges(self) -> int:
        """Merges learned: vocabulary size minus the 256 bytes and the special token."""
        return self.vocab_size - MIN_BPE_VOCAB

    @property
    def capped(self) -> bool:
        """True when the corpus ran out of pairs to merge before reaching the requested size."""
        return self.vocab_size < self.requested_vocab_size

    def merge_order(self, limit: int = 50) -> list[tuple[str, str, str]]:
        """The first ``limit`` merges in the order training learned them: (left, right, merged token), each as
        readable text with whitespace visible (the trainer gives merged tokens ids 257, 258, ... in that order)."""
        merges = json.loads(self.backend.to_str())["model"]["merges"][: max(0, int(limit))]
        pairs = [m.split(" ", 1) if isinstance(m, str) else list(m) for m in merges]
        label = lambda piece: token_label(self, self.backend.token_to_id(piece))  # noqa: E731
        return [(label(a), label(b), label(a + b)) for a, b in pairs]

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab()

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self.backend.encode(text, add_special_tokens=add_special_tokens).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=False)

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        if isinstance(ids, int):
            return self.backend.id_to_token(ids)
        return [self.backend.id_to_token(int(i)) for i in ids]


def train_bpe(corpus: str, vocab_size: int) -> TrainedBPE:
    """Train a byte-level BPE on ``corpus`` up to ``vocab_size`` tokens (256 bytes + 1 special + merges).

    The trained size can be smaller than asked: merging stops when no pair of neighbours is left to
    merge (a small corpus supports few merges). ``TrainedBPE.capped`` says so.

    Raises:
        TokenizerError: empty or too-large corpus, or a vocabulary size out of range.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = check_text(
        corpus,
        max_chars=MAX_BPE_CORPUS_CHARS,
        what="training corpus",
        error=TokenizerError,
        empty="The training corpus is empty: paste some text to learn merges from.",
    )
    if not MIN_BPE_VOCAB <= int(vocab_size) <= MAX_BPE_VOCAB:
        raise TokenizerError(
            f"The vocabulary size must be from {MIN_BPE_VOCAB} to {MAX_BPE_VOCAB:,}, not {vocab_size}."
        )
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=int(vocab_size),
        min_frequency=1,
        special_tokens=[BPE_SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus.splitlines() or [corpus], trainer=trainer)
    return TrainedBPE(backend, int(vocab_size), len(corpus))


def corpus_key(corpus: str) -> str:
    """A short stable key for memoising a trained tokenizer on a corpus."""
    return hashlib.sha1(corpus.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass(frozen=True)
class SweepRow:
    requested: int
    trained: int
    tokens: int
    tokens_per_word: float


def bpe_size_sweep(corpus: str, sizes: Sequence[int], text: str) -> list[SweepRow]:
    """Train one BPE per vocabulary size and count the tokens of ``text``: the vocabulary-size trade-off."""
    text = check_tokenizer_text(text)  # before any training: a bad text fails at once
    rows = []
    for size in sizes:
        bpe = train_bpe(corpus, size)
        view = token_view(bpe, text)
        rows.append(SweepRow(int(size), bpe.vocab_size, view.tokens, view.tokens_per_word))
    return rows

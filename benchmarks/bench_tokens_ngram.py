"""Tokenizer views and the n-gram model against their plain references: the seed's bigram loop, bare
``tokenizer.encode``, and the model's own loss; plus BPE training time on a 100k-character corpus."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import Row, alternate
from core.bpe import train_bpe
from core.models import load_model
from core.ngram import count_ngrams, neural_perplexity
from core.tokens import token_view

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "The package left the regional hub this morning and the carrier scan says the parcel was delivered"


def _corpus(lines: int = 5_000) -> list[list[str]]:
    """A synthetic tracking-message corpus: seeded random choices from seed 001's words."""
    rng = np.random.default_rng(0)
    subjects, verbs, places = (
        ["package", "parcel", "order", "box"],
        ["left", "reached", "skipped"],
        ["warehouse", "hub", "carrier", "depot", "store", "door"],
    )
    return [[str(rng.choice(subjects)), str(rng.choice(verbs)), "the", str(rng.choice(places))] for _ in range(lines)]


def _seed_bigrams(messages: list[list[str]]) -> dict:
    """Seed 001's bigram counting loop, verbatim apart from taking pre-split messages."""
    counts = defaultdict(Counter)
    for words in messages:
        tokens = ["<bos>", *words, "<eos>"]
        for previous, current in zip(tokens, tokens[1:]):
            counts[previous][current] += 1
    return counts


def run() -> list[Row]:
    rows = []
    messages = _corpus()
    same = {(c,): dict(r) for c, r in _seed_bigrams(messages).items()} == {
        c: dict(r) for c, r in count_ngrams(messages, 2).counts.items()
    }
    ours, reference = alternate(lambda: count_ngrams(messages, 2), lambda: _seed_bigrams(messages), rounds=9)
    rows.append(
        Row(
            "count_ngrams(n=2) time / seed 001's bigram loop (5,000 messages)",
            ours / reference,
            "x",
            "<= 3",
            ours / reference <= 3,
            f"identical counts: {same}",
        )
    )

    lm = load_model()
    text = " ".join([SENTENCE] * 20)  # about 2,000 characters
    ours, reference = alternate(
        lambda: token_view(lm.tokenizer, text), lambda: lm.tokenizer.encode(text, add_special_tokens=False)
    )
    rows.append(
        Row(
            "token_view time / tokenizer.encode (2,000 chars, labels per token)",
            ours / reference,
            "x",
            "",
            None,
            f"{ours * 1000:.1f} ms vs {reference * 1000:.2f} ms; labels decode every token once",
        )
    )

    corpus = "\n".join(p.read_text() for p in sorted(ROOT.glob("core/*.py")))
    corpus = (corpus * (100_000 // len(corpus) + 1))[:100_000]
    started = time.perf_counter()
    bpe = train_bpe(corpus, 2_000)
    seconds = time.perf_counter() - started
    rows.append(
        Row(
            "train_bpe on 100,000 characters, vocabulary 2,000 (seconds)",
            seconds,
            "s",
            "< 5",
            seconds < 5,
            f"trained vocabulary {bpe.vocab_size:,}",
        )
    )

    ids = [0] + lm.tokenizer.encode(SENTENCE, add_special_tokens=False)

    def reference_loss() -> float:
        with torch.inference_mode():
            return float(lm.model(torch.tensor([ids]), labels=torch.tensor([ids])).loss)

    score = neural_perplexity(lm, SENTENCE)
    agree = abs(score.perplexity - math.exp(reference_loss())) / score.perplexity
    ours, reference = alternate(lambda: neural_perplexity(lm, SENTENCE), reference_loss, rounds=9)
    rows.append(
        Row(
            "neural_perplexity time / model(labels=...).loss",
            ours / reference,
            "x",
            "<= 1.5",
            ours / reference <= 1.5,
            f"perplexities agree to {agree:.1e} (relative)",
        )
    )
    return rows

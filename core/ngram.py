"""A count-based n-gram language model (seed 001): count, condition, smooth, generate, score.

P(next | previous n - 1 words) = count(context, next) / count(context), with optional add-k smoothing.
Pure Python and numpy; only ``neural_perplexity`` (the bridge to the neural model, built on
``core.perplexity.perplexity``) touches torch.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from core.text import TextError, check_text

BOS, EOS, UNK = "<bos>", "<eos>", "<unk>"
MAX_N = 4
MAX_CORPUS_CHARS = 50_000
MAX_SENTENCE_CHARS = 2_000
MAX_GENERATED_WORDS = 100

Context = tuple[str, ...]


class CorpusError(TextError):
    """A corpus or sentence the n-gram model cannot use; the message says why."""


def _clean(text: str | None, limit: int, what: str) -> str:
    # Zero-width and control characters are not word breaks, so they are dropped (invisible="drop") rather
    # than silently glued into invisible "different" words.
    return check_text(
        text,
        max_chars=limit,
        what=what,
        error=CorpusError,
        invisible="drop",
        empty=f"The {what} is empty: paste at least one sentence of words separated by spaces.",
        too_long="The {what} has {length:,} characters; the limit here is {limit:,}. Paste a shorter one.",
    )


def split_corpus(text: str | None, *, max_chars: int = MAX_CORPUS_CHARS) -> list[list[str]]:
    """One sentence per line, words split on whitespace (as the seed's ``message.split()``).

    Raises:
        CorpusError: empty, too long, or only invisible characters.
    """
    text = _clean(text, max_chars, "corpus")
    sentences = [line.split() for line in text.splitlines()]
    sentences = [s for s in sentences if s]
    reserved = sorted({w for s in sentences for w in s} & {BOS, EOS, UNK})
    if reserved:
        raise CorpusError(f"The corpus uses {', '.join(reserved)}, which the model reserves for padding; remove them.")
    return sentences


def start_words(text: str | None) -> list[str]:
    """The optional words a generation starts from (none for an empty box).

    Raises:
        CorpusError: a control character (``core.text.control_problem``), only invisible characters, or longer
            than MAX_SENTENCE_CHARS.
    """
    if not text or not text.strip():
        return []
    return _clean(text, MAX_SENTENCE_CHARS, "start words").split()


def split_sentence(text: str | None) -> list[str]:
    """The words of one held-out sentence (line breaks count as spaces)."""
    words = _clean(text, MAX_SENTENCE_CHARS, "sentence").split()
    if not words:
        raise CorpusError("The sentence is empty.")
    return words


def pad(words: Sequence[str], n: int) -> list[str]:
    """``n - 1`` <bos> tokens, the words, one <eos>: the seed's ``["<bos>", *message.split(), "<eos>"]`` for n = 2."""
    return [BOS] * (n - 1) + list(words) + [EOS]


@dataclass(frozen=True)
class NextWordDistribution:
    """P(next | context) over the model's vocabulary.

    Attributes:
        context: the n - 1 previous words.
        tokens: the vocabulary (V,): corpus words in order of first appearance, then <eos>, then <unk>.
        counts: (V,) int counts of each token after this context.
        probs: (V,) float64 probabilities; all zero when the context was never seen and k = 0.
        total: how often the context was seen (the row total).
        k: the add-k smoothing constant used (0 = raw counts).
    """

    context: Context
    tokens: tuple[str, ...]
    counts: np.ndarray
    probs: np.ndarray
    total: int
    k: float

    @property
    def seen(self) -> bool:
        return self.total > 0

    @property
    def defined(self) -> bool:
        """False when the context was never seen and there is no smoothing: 0 / 0, no distribution at all."""
        return self.seen or self.k > 0

    def prob(self, word: str) -> float:
        """P(word | context); a word outside the vocabulary is scored as <unk>."""
        index = self.tokens.index(word) if word in self.tokens else self.tokens.index(UNK)
        return float(self.probs[index])

    def ranked(self, include_zero: bool = False) -> list[tuple[str, int, float]]:
        """(token, count, probability), most likely first (ties: order of first appearance)."""
        order = sorted(range(len(self.tokens)), key=lambda i: (-self.probs[i], -self.counts[i], i))
        return [
            (self.tokens[i], int(self.counts[i]), float(self.probs[i]))
            for i in order
            if include_zero or self.probs[i] > 0
        ]


@dataclass(frozen=True)
class NGramModel:
    """Counts of every (context, next) pair in a padded corpus.

    Attributes:
        n: the order (1 = unigram, 2 = bigram, ...); the context is the previous n - 1 words.
        counts: context -> Counter of next tokens.
        vocab: the tokens a prediction can be (never <bos>), see ``NextWordDistribution.tokens``.
        sentences: the corpus, one list of words per sentence.
    """

    n: int
    counts: dict[Context, Counter] = field(repr=False)
    vocab: tuple[str, ...]
    sentences: tuple[tuple[str, ...], ...] = field(repr=False)

    @property
    def longest_sentence(self) -> int:
        return max(len(s) for s in self.sentences)

    @property
    def events(self) -> int:
        """Number of training events (one per predicted token, <eos> included)."""
        return sum(sum(c.values()) for c in self.counts.values())

    def context_of(self, history: Sequence[str]) -> Context:
        """The last n - 1 tokens of ``history`` after <bos> padding (so a short history still has a context)."""
        if self.n == 1:
            return ()
        padded = [BOS] * (self.n - 1) + list(history)
        return tuple(padded[len(padded) - (self.n - 1) :])

    def distribution(self, context: Sequence[str], k: float = 0.0) -> NextWordDistribution:
        """P(next | context) with add-k smoothing: (count + k) / (total + k * V).

        Args:
            context: exactly n - 1 tokens (use ``context_of`` to cut and pad a longer or shorter history).
            k: smoothing constant; 0 gives the raw relative counts (unseen pairs get exactly 0).
        """
        context = tuple(context)
        if len(context) != self.n - 1:
            raise ValueError(f"A {self.n}-gram context has {self.n - 1} words, not {len(context)}.")
        if not (k >= 0 and math.isfinite(k)):
            raise ValueError(f"Smoothing k must be a finite number >= 0, not {k}.")
        row = self.counts.get(context, Counter())
        counts = np.array([row.get(t, 0) for t in self.vocab], dtype=np.int64)  # (V,)
        total = int(counts.sum())
        denominator = total + k * len(self.vocab)
        probs = (counts + k) / denominator if denominator > 0 else np.zeros(len(self.vocab))  # (V,)
        return NextWordDistribution(context, self.vocab, counts, probs.astype(np.float64), total, float(k))

    def contexts(self) -> list[tuple[Context, int]]:
        """Every seen context with its count, most frequent first (ties: first appearance)."""
        totals = [(c, sum(row.values())) for c, row in self.counts.items()]
        return sorted(totals, key=lambda item: -item[1])

    def table(self) -> list[tuple[Context, str, int, float]]:
        """Count table rows (context, next, count, P(next | context) unsmoothed), grouped by context."""
        rows = []
        for context, total in self.contexts():
            for token, count in self.counts[context].most_common():
                rows.append((context, token, count, count / total))
        return rows


def count_ngrams(sentences: Sequence[Sequence[str]], n: int) -> NGramModel:
    """Count every n-gram of the padded sentences, as the seed counts bigrams.

    Args:
        sentences: lists of words (from ``split_corpus``).
        n: 1 to ``MAX_N``.
    """
    if not isinstance(n, int) or not 1 <= n <= MAX_N:
        raise ValueError(f"n must be a whole number from 1 to {MAX_N}, not {n!r}.")
    sentences = tuple(tuple(s) for s in sentences if s)
    if not sentences:
        raise CorpusError("The corpus has no words.")
    counts: defaultdict[Context, Counter] = defaultdict(Counter)
    seen: dict[str, None] = {}
    for words in sentences:
        seen.update(dict.fromkeys(words))
        tokens = pad(words, n)
        # the context of tokens[i] is tokens[i - n + 1 : i]; zip builds all of them without slicing per event
        contexts = zip(*(tokens[j:] for j in range(n - 1))) if n > 1 else repeat(())
        for context, token in zip(contexts, tokens[n - 1 :]):
            counts[context][token] += 1
    return NGramModel(n=n, counts=dict(counts), vocab=tuple(seen) + (EOS, UNK), sentences=sentences)


def corpus_notes(model: NGramModel) -> list[str]:
    """Plain-language warnings about what this corpus and n can and cannot teach."""
    notes = []
    words = sum(len(s) for s in model.sentences)
    if len(model.vocab) - 2 == 1:
        notes.append("The corpus has a single distinct word: every prediction is that word or the end of the sentence.")
    if model.n - 1 >= model.longest_sentence:
        longest = model.longest_sentence
        notes.append(
            f"n = {model.n} is as long as every sentence or longer (the longest has {longest} "
            f"word{'s' if longest != 1 else ''}): every word's context reaches back to <bos>, "
            "so the model can only replay whole sentences it has seen."
        )
    if words < 10:
        notes.append(
            f"The corpus has only {words} word{'s' if words != 1 else ''}: most contexts are seen once, "
            "so most probabilities are 0 or 1."
        )
    return notes


def generate(
    model: NGramModel,
    *,
    start: Sequence[str] = (),
    k: float = 0.0,
    greedy: bool = True,
    seed: int = 0,
    max_words: int = 20,
) -> list[str]:
    """Generate words one at a time from P(next | last n - 1 words) until <eos> or ``max_words``.

    Greedy takes the most likely token (ties: first appearance in the corpus). Sampling draws with a
    NumPy ``default_rng(seed)`` and ``rng.choice(V, p=probs)``, as the seed's sampler does, so the same
    seed gives the same words. <unk> is never generated (it stands for "a word not in the corpus").

    Returns:
        The generated words (not including ``start``), ending with <eos> when the model ended the sentence.
    """
    if not 1 <= int(max_words) <= MAX_GENERATED_WORDS:
        raise ValueError(f"max_words must be from 1 to {MAX_GENERATED_WORDS}.")
    rng = np.random.default_rng(int(seed))
    history, out = list(start), []
    for _ in range(int(max_words)):
        dist = model.distribution(model.context_of(history), k)
        probs = dist.probs.copy()
        probs[dist.tokens.index(UNK)] = 0.0
        if probs.sum() <= 0:  # an unseen context without smoothing: nothing to say
            break
        probs /= probs.sum()
        index = int(np.argmax(probs)) if greedy else int(rng.choice(len(probs), p=probs))
        token = dist.tokens[index]
        out.append(token)
        if token == EOS:
            break
        history.append(token)
    return out


@dataclass(frozen=True)
class SentenceScore:
    """How surprised a model is by one sentence, token by token.

    Attributes:
        tokens: the predicted tokens (words, then <eos> when included).
        contexts: the context each one was predicted from.
        probs: (T,) probability of each true token.
    """

    tokens: tuple[str, ...]
    contexts: tuple[Context, ...]
    probs: np.ndarray

    @property
    def nll(self) -> float:
        """Total negative log-likelihood in nats (inf when a token had probability 0)."""
        with np.errstate(divide="ignore"):
            return float(-np.log(self.probs).sum())

    @property
    def perplexity(self) -> float:
        """exp(mean NLL): the effective number of equally likely choices per token; inf if any token had P = 0."""
        return math.exp(self.nll / len(self.probs)) if math.isfinite(self.nll) else math.inf

    @property
    def zero_tokens(self) -> list[str]:
        """The tokens the model gave probability 0 (unseen continuations)."""
        return [t for t, p in zip(self.tokens, self.probs) if p <= 0]


def score_sentence(
    model: NGramModel, words: Sequence[str], k: float = 0.0, *, include_eos: bool = True
) -> SentenceScore:
    """Score a held-out sentence: P of each word given its n - 1 predecessors (<bos>-padded).

    A word not in the corpus is scored as <unk>: 0 without smoothing, k / (total + k V) with it.
    """
    if not words:
        raise CorpusError("The sentence is empty.")
    targets = list(words) + ([EOS] if include_eos else [])
    probs, contexts = [], []
    for i, target in enumerate(targets):
        context = model.context_of(list(words[:i]))
        dist = model.distribution(context, k)
        contexts.append(context)
        probs.append(dist.prob(target))
    return SentenceScore(tuple(targets), tuple(contexts), np.array(probs, dtype=np.float64))


@dataclass(frozen=True)
class NeuralScore:
    """The neural model's surprise on the same sentence, per token and per word.

    Attributes:
        token_ids: the sentence's token ids (without the start token the model was conditioned on).
        token_nll: (T,) negative log-probability of each token, nats.
        words: how many whitespace-separated words the sentence has.
    """

    token_ids: list[int]
    token_nll: np.ndarray
    words: int

    @property
    def perplexity(self) -> float:
        """Per-token perplexity: exp(mean NLL over the model's own tokens)."""
        return float(math.exp(self.token_nll.mean()))

    @property
    def word_perplexity(self) -> float:
        """exp(total NLL / words): the same normalisation as the n-gram's, so the two can be compared."""
        return float(math.exp(self.token_nll.sum() / self.words))


def neural_perplexity(lm: Any, sentence: str, max_tokens: int = 512) -> NeuralScore:
    """Score a sentence with a causal LM (a ``core.models.LoadedModel``): every token given all before it.

    One computation with the perplexity calculator: ``core.perplexity.perplexity`` from the start token
    ``core.perplexity.start_token_id``, so the first word is predicted too, as the n-gram predicts it from <bos>.

    Args:
        sentence: plain text; words are counted with ``str.split`` as the n-gram does.
        max_tokens: score at most the sentence's first ``max_tokens`` tokens.
    """
    from core.perplexity import PerplexityError, perplexity, start_token_id

    words = split_sentence(sentence)
    text = " ".join(words)
    try:
        result = perplexity(lm, text, add_bos=True, max_chars=MAX_SENTENCE_CHARS, max_tokens=max_tokens)
    except PerplexityError as error:
        if start_token_id(lm.tokenizer) is not None:
            raise CorpusError(str(error)) from None
        try:  # a tokenizer without a start token: the first token is context only, so two are needed
            result = perplexity(lm, text, add_bos=False, max_chars=MAX_SENTENCE_CHARS, max_tokens=max_tokens)
        except PerplexityError:
            raise CorpusError("The sentence needs at least two tokens for the model to score.") from None
    scored = [int(i) for i in result.token_ids[result.first_scored :]]
    return NeuralScore(token_ids=scored, token_nll=result.nll, words=len(words))

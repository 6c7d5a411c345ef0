"""The class poll's numbers: a guess checked and mapped to the model's token (its probability and rank in the
full-vocabulary softmax), the class's histogram of guesses, and the single-player "predict first" scores.

How a guess becomes a token (the rule every page states): a guess is the text a student thinks comes next. Its
token is the FIRST token the tokenizer makes of that text as it would follow the prompt: when the prompt does not
end in whitespace and the guess starts with a letter, digit or other word character, a space is put before it
(" Paris", the way the word continues "The capital of France is"); before punctuation that attaches to the
previous word (".", ",", "?", "'s", ...) and after a prompt that already ends in whitespace, no space is added.
A guess of several tokens (" par" + "is") is scored by its first token: that is what the model predicts next.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.next_token import NextTokenDistribution
from core.text import TextError, check_text, control_problem

MAX_GUESS_CHARS = 40
MAX_PREDICT_CHARS = 400  # a predict-first text: a sentence or two, read word by word
MAX_PREDICT_WORDS = 40
ATTACHES_LEFT = frozenset(".,;:!?)]}%'’”…")  # punctuation written against the previous word: no space before it
_REFUSED = ("Cc", "Cf", "Cs")  # control, format (zero-width, bidi) and lone surrogate characters
_JOINERS = "\u200c\u200d"  # zero-width (non-)joiners: part of emoji sequences and of Persian or Indic words
_ALLOWED = " \t\n\r" + _JOINERS


class GuessError(TextError):
    """A guess the poll will not take; the message says why, for the student who typed it."""


def check_guess(text: Any) -> str:
    """A guess as the poll keeps it: NFC-normalised, stripped, inner runs of whitespace made one space.

    Raises:
        GuessError: empty or only whitespace; control or invisible characters; longer than MAX_GUESS_CHARS.
    """
    if not isinstance(text, str) or not text.strip():
        raise GuessError("Type a guess first: the word (or the few characters) you think comes next.")
    text = unicodedata.normalize("NFC", text).strip()
    if problem := control_problem(text, "guess"):  # the rule of every box, named; then the guess's own stricter one
        raise GuessError(problem)
    if any(unicodedata.category(ch) in _REFUSED for ch in text if ch not in _ALLOWED) or not text.strip(_JOINERS):
        raise GuessError("Your guess holds control or invisible characters; type it again with letters only.")
    text = " ".join(text.split())
    if len(text) > MAX_GUESS_CHARS:
        raise GuessError(f"Your guess has {len(text):,} characters; a guess is at most {MAX_GUESS_CHARS}.")
    return text


def needs_space(prompt: str, guess: str) -> bool:
    """Whether ``guess`` is tokenised with a space before it (the rule in the module docstring)."""
    return bool(prompt) and not prompt[-1].isspace() and guess[:1] not in ATTACHES_LEFT


def first_token(tokenizer: Any, prompt: str, guess: str) -> tuple[int, bool]:
    """The model's token for ``guess`` after ``prompt``: (first token id, whether a space was put before it)."""
    spaced = needs_space(prompt, guess)
    ids = tokenizer((" " if spaced else "") + guess, add_special_tokens=False)["input_ids"]
    if not ids:
        raise GuessError("The tokenizer made no token of that guess.")
    return int(ids[0]), spaced


@dataclass(frozen=True)
class GuessMatch:
    """One guess read as the model's token.

    Attributes:
        guess: the checked guess (``check_guess``).
        token_id: the first token of the guess as it would follow the prompt.
        token: that token's text with whitespace visible ("␣Paris").
        probability: its probability in the full-vocabulary softmax (never renormalised).
        rank: 1 = the model's most likely next token.
        spaced: a space was put before the guess.
    """

    guess: str
    token_id: int
    token: str
    probability: float
    rank: int
    spaced: bool

    @property
    def top1(self) -> bool:
        return self.rank == 1


def match_guess(dist: NextTokenDistribution, prompt: str, guess: str) -> GuessMatch:
    """Map a guess to the model's token after ``prompt`` and read its probability and rank from ``dist``.

    Args:
        dist: the distribution after ``prompt``; ``dist.probs`` is (V,) float32, the full-vocabulary softmax.
        prompt: the text the distribution continues (only its last character matters, for the space rule).
        guess: the student's text; checked by ``check_guess``.
    """
    guess = check_guess(guess)
    token_id, spaced = first_token(dist.tokenizer, prompt, guess)
    return GuessMatch(
        guess, token_id, dist.token_text(token_id), float(dist.probs[token_id]), dist.rank_of(token_id), spaced
    )


def guess_histogram(guesses: Iterable[str]) -> dict[str, int]:
    """The class's guesses counted by their checked text, most frequent first (ties in text order).

    Case is kept ("Paris" and "paris" are different tokens); a guess that ``check_guess`` refuses is not counted.
    """
    counts: Counter[str] = Counter()
    for guess in guesses:
        try:
            counts[check_guess(guess)] += 1
        except GuessError:
            continue
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class ClassGuess:
    """One bar of the class's histogram: a guess, how many students made it, and the model's view of it."""

    count: int
    match: GuessMatch

    @property
    def guess(self) -> str:
        return self.match.guess


def class_guesses(dist: NextTokenDistribution, prompt: str, counts: dict[str, int]) -> list[ClassGuess]:
    """Each distinct guess of ``counts`` (text -> students) mapped to the model's token, most frequent first."""
    rows = []
    for guess, count in counts.items():
        try:
            rows.append(ClassGuess(int(count), match_guess(dist, prompt, guess)))
        except GuessError:
            continue
    return sorted(rows, key=lambda row: (-row.count, row.match.rank, row.guess))


# Predict first: one student against the model, word by word over a text.


@dataclass(frozen=True)
class PredictStep:
    """One position of a predict-first text: what the student has read, and the word that really comes next."""

    prefix: str  # the text before the next word, trailing whitespace removed
    word: str


def predict_steps(text: str) -> list[PredictStep]:
    """The positions of ``text`` to guess: after each word but the last (the first word is given).

    Raises:
        TextError: empty, longer than MAX_PREDICT_CHARS, fewer than two words or more than MAX_PREDICT_WORDS.
    """
    text = check_text(text, max_chars=MAX_PREDICT_CHARS, what="text", invisible="drop")
    words = list(re.finditer(r"\S+", text))
    if len(words) < 2:
        raise TextError("The text needs at least two words: you read the first and guess the next.")
    if len(words) > MAX_PREDICT_WORDS:
        raise TextError(f"The text has {len(words)} words; predict first takes at most {MAX_PREDICT_WORDS}.")
    return [PredictStep(text[: w.start()].rstrip(), w.group()) for w in words[1:]]


@dataclass(frozen=True)
class PredictionScore:
    """A student's guess at one position, scored against the model.

    Attributes:
        guess: the student's guess, read as the model's token (its probability and rank).
        word: the word the text really has next; ``actual`` is its first token, read the same way.
        model_token: the model's most likely next token (rank 1) and ``model_probability`` its probability.
        hit: the guess's token is the model's top-1 token.
        guess_right / model_right: the student's / the model's token is the text's real next token.
    """

    position: int
    guess: GuessMatch
    word: str
    actual: GuessMatch
    model_token: str
    model_probability: float

    @property
    def hit(self) -> bool:
        return self.guess.top1

    @property
    def guess_right(self) -> bool:
        return self.guess.token_id == self.actual.token_id

    @property
    def model_right(self) -> bool:
        return self.actual.top1


def score_prediction(dist: NextTokenDistribution, step: PredictStep, guess: str, position: int = 0) -> PredictionScore:
    """Score ``guess`` at ``step`` against ``dist``, the model's distribution after ``step.prefix``.

    Raises:
        GuessError: a guess ``check_guess`` refuses.
    """
    match = match_guess(dist, step.prefix, guess)
    actual = match_guess(dist, step.prefix, step.word[:MAX_GUESS_CHARS])
    top = dist.top_ids(1)[0]
    return PredictionScore(position, match, step.word, actual, dist.token_text(top), float(dist.probs[top]))


@dataclass(frozen=True)
class PredictionSummary:
    """A student's predict-first score over the positions guessed so far."""

    guesses: int
    hits: int  # guesses that were the model's top-1 token
    guessed_right: int  # guesses that were the text's real next token
    model_right: int  # positions where the model's top-1 token was the text's real next token
    mean_probability: float  # the model's mean probability for the student's guesses
    median_rank: float  # the median rank of the student's guesses in the model's distribution


def score_summary(scores: Iterable[PredictionScore]) -> PredictionSummary:
    """Totals over ``scores`` (zeros when there are none)."""
    scores = list(scores)
    if not scores:
        return PredictionSummary(0, 0, 0, 0, 0.0, 0.0)
    return PredictionSummary(
        len(scores),
        sum(s.hit for s in scores),
        sum(s.guess_right for s in scores),
        sum(s.model_right for s in scores),
        statistics.fmean(s.guess.probability for s in scores),
        float(statistics.median(s.guess.rank for s in scores)),
    )

"""Token embeddings: the rows of the embedding (input) and unembedding (output) matrices, and their neighbours.

Seed 004: a token id picks one row of the embedding matrix (V, d); the output head's matrix (V, d) turns the
last hidden state back into one logit per token. Models that tie the two share one matrix (SmolLM2 does).
Neighbours are by cosine similarity over the whole vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from core.models import LoadedModel
from core.text import TextError, check_text, token_label

Matrix = Literal["input", "output"]


@dataclass(frozen=True)
class Neighbour:
    """One token near a query vector: its id, readable label and cosine similarity."""

    token_id: int
    label: str
    cosine: float


def embedding_matrix(lm: LoadedModel, which: Matrix = "input") -> torch.Tensor:
    """The (V, d) embedding matrix (``"input"``) or unembedding matrix (``"output"``) of the model, float32.

    Raises:
        ValueError: ``which`` is neither, or the model has no such matrix.
    """
    if which not in ("input", "output"):
        raise ValueError(f"which must be 'input' or 'output', got {which!r}")
    module = lm.model.get_input_embeddings() if which == "input" else lm.model.get_output_embeddings()
    if module is None or not hasattr(module, "weight"):
        raise ValueError(f"{type(lm.model).__name__} has no {which} embedding matrix")
    return module.weight.detach().float()  # (V, d)


def tied_embeddings(lm: LoadedModel) -> bool:
    """Whether the input and output matrices are the same tensor (weight tying)."""
    inp, out = lm.model.get_input_embeddings(), lm.model.get_output_embeddings()
    return out is not None and inp.weight.data_ptr() == out.weight.data_ptr()


@torch.inference_mode()
def nearest_tokens(
    lm: LoadedModel,
    vector: torch.Tensor,
    k: int = 8,
    which: Matrix = "input",
    exclude: tuple[int, ...] = (),
) -> list[Neighbour]:
    """The ``k`` tokens whose rows of the chosen matrix have the highest cosine similarity with ``vector``.

    Args:
        lm: the model.
        vector: (d,) a query vector in the model's hidden space (an embedding row, a hidden state, a difference).
        k: how many neighbours (1 to 100).
        which: ``"input"`` (embedding matrix) or ``"output"`` (unembedding matrix).
        exclude: token ids left out (the query token itself, say).

    Returns:
        Up to ``k`` neighbours, most similar first.
    """
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    matrix = embedding_matrix(lm, which)  # (V, d)
    query = vector.detach().float().reshape(-1)  # (d,)
    if query.shape[0] != matrix.shape[1]:
        raise ValueError(f"vector has {query.shape[0]} values, the matrix rows have {matrix.shape[1]}")
    return _top(lm, cosine_to_rows(matrix, query[None, :])[0], k, exclude)


def cosine_to_rows(matrix: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each query (n, d) with every row of ``matrix`` (V, d): (n, V).

    One matrix product over row norms (ten times faster than ``F.cosine_similarity`` broadcasting on a 49k-row
    matrix); a zero row or query gets cosine 0.
    """
    queries = queries.float()  # (n, d)
    norms = queries.norm(dim=1, keepdim=True) * matrix.norm(dim=1)[None, :]  # (n, V)
    return (queries @ matrix.T) / norms.clamp_min(1e-12)  # (n, V)


def _top(lm: LoadedModel, cosine: torch.Tensor, k: int, exclude: tuple[int, ...] = ()) -> list[Neighbour]:
    cosine = cosine.clone()  # (V,)
    if exclude:
        cosine[list(exclude)] = -float("inf")
    values, ids = torch.topk(cosine, max(1, min(k, cosine.shape[0] - len(set(exclude)))))
    return [Neighbour(int(i), token_label(lm.tokenizer, int(i)), float(v)) for v, i in zip(values, ids, strict=True)]


def token_neighbours(lm: LoadedModel, token_id: int, k: int = 8, which: Matrix = "input") -> list[Neighbour]:
    """The ``k`` nearest tokens to ``token_id``'s own row of the chosen matrix (itself left out)."""
    vocab = embedding_matrix(lm, which).shape[0]
    if not 0 <= token_id < vocab:
        raise ValueError(f"token id must be between 0 and {vocab - 1}, got {token_id}")
    row = embedding_matrix(lm, which)[token_id]  # (d,)
    return nearest_tokens(lm, row, k, which, exclude=(token_id,))


# ---- Words as tokens, a 2-D map (PCA) and analogies ----

MAX_WORD_CHARS = 60  # one word or token typed in the neighbours box
MAX_WORDS = 40  # words drawn on the map: more labels than this do not read
MAX_WORDS_TEXT = 1_000  # the comma-separated word box
MAX_VOCAB_MAP = 256  # a vocabulary this small (a trained character model's) can be drawn whole
HOW = ("first", "mean")  # a word of several tokens: its first token's row, or the mean of its tokens' rows
ANALOGY_WORKS = 0.5  # hit rate from which the page calls analogies working on a model

# Ready word sets for the map, each in groups (one colour a group).
WORD_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "Countries and capitals": {
        "country": ("France", "Germany", "Italy", "Spain", "Japan", "China", "Russia", "Egypt", "Canada"),
        "capital": ("Paris", "Berlin", "Rome", "Madrid", "Tokyo", "Beijing", "Moscow", "Cairo", "Ottawa"),
    },
    "Numbers": {
        "word": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "hundred"),
        "digit": ("1", "2", "3", "4", "5", "6", "7", "8", "9"),
    },
    "Days and months": {
        "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "month": (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
    },
    "Animals": {
        "mammal": ("dog", "cat", "horse", "cow", "pig", "sheep", "lion", "tiger", "mouse"),
        "bird": ("eagle", "sparrow", "owl", "parrot", "duck"),
        "fish": ("shark", "salmon", "trout", "tuna"),
    },
}


class EmbeddingError(TextError):
    """A word, word list or analogy the embeddings page will not use; the message says why."""


@dataclass(frozen=True)
class WordTokens:
    """How one word tokenises: the text sent to the tokenizer (with its leading space, if any), ids and labels."""

    word: str
    text: str
    ids: tuple[int, ...]
    labels: tuple[str, ...]
    unknown: tuple[int, ...] = ()  # positions whose token is the tokenizer's unknown token (not in its vocabulary)

    spaces: tuple[int, ...] = ()  # positions whose token is only whitespace (a space split off a digit, say)

    @property
    def single(self) -> bool:
        return len(self.ids) == 1

    @property
    def content(self) -> tuple[int, ...]:
        """Positions of the tokens that carry the word: all but whitespace-only ones (all, if none is left)."""
        kept = tuple(p for p in range(len(self.ids)) if p not in self.spaces)
        return kept or tuple(range(len(self.ids)))

    def used_ids(self, how: str) -> tuple[int, ...]:
        """The token ids whose rows stand for the word: its first content token, or all its content tokens."""
        if how not in HOW:
            raise ValueError(f"how must be one of {HOW}, got {how!r}")
        content = self.content[:1] if how == "first" else self.content
        return tuple(self.ids[p] for p in content)

    def describe(self, how: str) -> str:
        """A short note on which row stands for the word, for a word of several tokens."""
        pieces = " + ".join(self.labels)
        if self.single:
            return f"{self.word}: one token, {pieces}"
        first = self.labels[self.content[0]]
        used = f"its first token {first}" if how == "first" else f"the mean of its tokens {pieces}"
        if how == "mean" and len(self.content) < len(self.ids):
            used = "the mean of " + " + ".join(self.labels[p] for p in self.content)
        elif how == "first" and self.content[0] > 0:
            used += " (the token of the space before it is skipped)"
        return f"{self.word}: {len(self.ids)} tokens ({pieces}); used: {used}"


def check_word(word: str | None, what: str = "word") -> str:
    """``word`` fit to tokenise (one word or token), or EmbeddingError with a message for the person who typed it."""
    return check_text(
        word,
        max_chars=MAX_WORD_CHARS,
        what=what,
        error=EmbeddingError,
        invisible="refuse",
        empty=f"Type a {what} first.",
        too_long="The {what} has {length:,} characters; type one word or token (at most {limit:,} characters).",
    ).strip()


def word_tokens(lm: LoadedModel, word: str, leading_space: bool = True) -> WordTokens:
    """Tokenise ``word`` as the model reads it (inside a sentence: with a leading space, when ``leading_space``).

    Raises:
        EmbeddingError: the word is empty, only invisible characters, too long, or gives no token at all.
    """
    word = check_word(word)
    text = " " + word if leading_space else word
    ids = tuple(int(i) for i in lm.tokenizer(text, add_special_tokens=False)["input_ids"])
    if not ids:
        raise EmbeddingError(f"The tokenizer gives no token for {word!r}.")
    unk = getattr(lm.tokenizer, "unk_token_id", None)
    unknown = tuple(p for p, i in enumerate(ids) if unk is not None and i == unk)
    spaces = tuple(p for p, i in enumerate(ids) if not lm.tokenizer.decode([i]).strip())
    labels = tuple(token_label(lm.tokenizer, i) for i in ids)
    return WordTokens(word, text, ids, labels, unknown, spaces)


def parse_words(text: str | None, max_words: int = MAX_WORDS) -> list[str]:
    """The distinct words of a comma-separated list, in order.

    Raises:
        EmbeddingError: the list is empty, too long, holds a word that is too long, or more than ``max_words``.
    """
    text = check_text(
        text,
        max_chars=MAX_WORDS_TEXT,
        what="word list",
        error=EmbeddingError,
        invisible="drop",
        empty="Type a few words, separated by commas (for example: cat, dog, Paris, London).",
    )
    words = list(dict.fromkeys(w.strip() for w in text.replace("\n", ",").split(",") if w.strip()))
    if len(words) < 3:
        raise EmbeddingError(f"A map needs at least 3 different words; the list has {len(words)}.")
    if len(words) > max_words:
        raise EmbeddingError(f"The list has {len(words)} words; the map takes at most {max_words}.")
    for word in words:
        check_word(word)
    return words


def token_vector(lm: LoadedModel, tokens: WordTokens, how: str = "first", which: Matrix = "input") -> torch.Tensor:
    """The (d,) row standing for a word: its first token's row, or the mean of its tokens' rows (a token of only
    whitespace, such as the space split off before a digit, is skipped when the word has others)."""
    rows = embedding_matrix(lm, which)[list(tokens.used_ids(how))]  # (n, d)
    return rows.mean(dim=0)  # (d,)


@dataclass(frozen=True)
class Projection:
    """Points on a 2-D map of embedding rows (PCA).

    Attributes:
        labels: one per point; groups: the ready set's group of each point ("" for a free list).
        coords: (n, 2) each point on the first two principal components.
        explained: (2,) the share of the points' variance each component keeps (from the singular values).
        notes: one line per word of several tokens (which row stands for it).
    """

    labels: tuple[str, ...]
    groups: tuple[str, ...]
    coords: torch.Tensor
    explained: tuple[float, float]
    notes: tuple[str, ...] = ()


def pca_2d(vectors: torch.Tensor) -> tuple[torch.Tensor, tuple[float, float]]:
    """Project ``vectors`` (n, d) onto their first two principal components.

    Centre the rows, take the SVD X = U S V^T; the coordinates are U S (the rows' projections on the first two
    right singular vectors) and component j keeps S_j^2 / sum(S^2) of the total variance. Each axis's sign is
    fixed (its largest coordinate is positive) so the same words always give the same picture.

    Returns:
        (n, 2) coordinates and the two components' shares of the variance.
    """
    if vectors.ndim != 2 or vectors.shape[0] < 3:
        raise ValueError(f"PCA needs at least 3 vectors, got shape {tuple(vectors.shape)}")
    x = vectors.detach().double()
    x = x - x.mean(dim=0, keepdim=True)  # (n, d)
    u, s, _ = torch.linalg.svd(x, full_matrices=False)  # (n, r), (r,)
    total = float((s**2).sum())
    if total == 0.0:
        raise ValueError("all the vectors are the same point: there is no spread to show")
    coords = u[:, :2] * s[:2]  # (n, 2)
    if coords.shape[1] < 2:
        coords = torch.cat([coords, torch.zeros_like(coords)], dim=1)
    flip = torch.where(coords.gather(0, coords.abs().argmax(dim=0, keepdim=True)) < 0, -1.0, 1.0)  # (1, 2)
    share = [float(v**2) / total for v in s[:2]] + [0.0]
    return (coords * flip).float(), (share[0], share[1])


@torch.inference_mode()
def project_words(
    lm: LoadedModel,
    words: list[str] | dict[str, tuple[str, ...]],
    how: str = "first",
    leading_space: bool = True,
    which: Matrix = "input",
) -> Projection:
    """A 2-D PCA map of the rows standing for ``words`` (a list, or a ready set's groups of words).

    Raises:
        EmbeddingError: a word cannot be tokenised, or the words' rows are all the same (one unknown token).
    """
    grouped = words if isinstance(words, dict) else {"": tuple(words)}
    pairs = [(group, word) for group, members in grouped.items() for word in members]
    tokens = [word_tokens(lm, word, leading_space) for _, word in pairs]
    vectors = torch.stack([token_vector(lm, t, how, which) for t in tokens])  # (n, d)
    try:
        coords, explained = pca_2d(vectors)
    except ValueError as error:
        raise EmbeddingError(f"These words cannot be mapped: {error}.") from None
    notes = tuple(t.describe(how) for t in tokens if not t.single)
    return Projection(tuple(w for _, w in pairs), tuple(g for g, _ in pairs), coords, explained, notes)


@torch.inference_mode()
def project_vocabulary(lm: LoadedModel, which: Matrix = "input") -> Projection:
    """A 2-D PCA map of every row of a small vocabulary (a trained character model's), special tokens left out."""
    matrix = embedding_matrix(lm, which)  # (V, d)
    if matrix.shape[0] > MAX_VOCAB_MAP:
        raise EmbeddingError(
            f"The vocabulary has {matrix.shape[0]:,} tokens; only up to {MAX_VOCAB_MAP} are drawn whole."
        )
    special = set(getattr(lm.tokenizer, "all_special_ids", []) or [])
    ids = [i for i in range(matrix.shape[0]) if i not in special]
    coords, explained = pca_2d(matrix[ids])
    return Projection(tuple(token_label(lm.tokenizer, i) for i in ids), ("",) * len(ids), coords, explained)


# Classic analogies a - b + c = expected, as words (each read with a leading space, as inside a sentence).
ANALOGIES: tuple[tuple[str, str, str, str], ...] = (
    ("king", "man", "woman", "queen"),
    ("Paris", "France", "Italy", "Rome"),
    ("Berlin", "Germany", "Japan", "Tokyo"),
    ("Tokyo", "Japan", "France", "Paris"),
    ("walking", "walk", "swim", "swimming"),
    ("bigger", "big", "small", "smaller"),
    ("better", "good", "bad", "worse"),
    ("men", "man", "woman", "women"),
    ("sister", "brother", "father", "mother"),
    ("his", "he", "she", "her"),
    ("cats", "cat", "dog", "dogs"),
    ("slowly", "slow", "quick", "quickly"),
    ("went", "go", "see", "saw"),
    ("Spanish", "Spain", "Germany", "German"),
    ("girl", "boy", "son", "daughter"),
    ("two", "one", "three", "four"),
)


@dataclass(frozen=True)
class Analogy:
    """a - b + c: the three words' tokens, the nearest rows to the sum (the three inputs left out), the expected
    word's rank among them (None when not in the list or not given), and the nearest row to c alone (the baseline:
    an offset that only lands next to c has learnt nothing)."""

    words: tuple[str, str, str]
    tokens: tuple[WordTokens, WordTokens, WordTokens]
    neighbours: tuple[Neighbour, ...]
    expected: WordTokens | None = None
    baseline: Neighbour | None = None

    @property
    def hit(self) -> bool:
        return self.expected is not None and self.neighbours[0].token_id == self.expected.ids[0]

    @property
    def baseline_hit(self) -> bool:
        return (
            self.expected is not None and self.baseline is not None and self.baseline.token_id == self.expected.ids[0]
        )

    @property
    def single_tokens(self) -> bool:
        words = self.tokens + ((self.expected,) if self.expected is not None else ())
        return all(t.single and not t.unknown for t in words)


@torch.inference_mode()
def analogy(
    lm: LoadedModel,
    a: str,
    b: str,
    c: str,
    k: int = 8,
    expected: str | None = None,
    how: str = "first",
    leading_space: bool = True,
    which: Matrix = "input",
) -> Analogy:
    """The ``k`` tokens nearest (cosine) to row(a) - row(b) + row(c), the three input tokens left out.

    king - man + woman: does the difference "king minus man" carry over to "woman"? Words of several tokens
    stand for their first token's row (``how="first"``) or their rows' mean (``"mean"``).
    """
    tokens = tuple(word_tokens(lm, w, leading_space) for w in (a, b, c))
    va, vb, vc = (token_vector(lm, t, how, which) for t in tokens)
    inputs = tuple(dict.fromkeys(i for t in tokens for i in t.used_ids(how)))
    want = word_tokens(lm, expected, leading_space) if expected else None
    cosine = cosine_to_rows(embedding_matrix(lm, which), torch.stack([va - vb + vc, vc]))  # (2, V)
    neighbours = _top(lm, cosine[0], k, inputs)
    baseline = _top(lm, cosine[1], 1, inputs)[0] if want else None
    return Analogy((a, b, c), tokens, tuple(neighbours), want, baseline)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AnalogyScore:
    """The classic analogies measured on one model: those whose four words are single tokens are tested."""

    tested: tuple[Analogy, ...]
    skipped: tuple[tuple[str, str, str, str], ...]

    @property
    def hits(self) -> int:
        return sum(a.hit for a in self.tested)

    @property
    def baseline_hits(self) -> int:
        return sum(a.baseline_hit for a in self.tested)

    @property
    def rate(self) -> float:
        return self.hits / len(self.tested) if self.tested else 0.0

    @property
    def works(self) -> bool:
        return bool(self.tested) and self.rate >= ANALOGY_WORKS


@torch.inference_mode()
def analogy_score(lm: LoadedModel, analogies=ANALOGIES, which: Matrix = "input") -> AnalogyScore:
    """Measure ``analogies`` (a, b, c, expected) on ``lm``: a hit is the expected token first among all others."""
    tested, skipped = [], []
    for a, b, c, want in analogies:
        result = analogy(lm, a, b, c, k=5, expected=want, which=which)
        if result.single_tokens:
            tested.append(result)
        else:  # a word of several tokens, or unknown to the vocabulary: no one row stands for it
            skipped.append((a, b, c, want))
    return AnalogyScore(tuple(tested), tuple(skipped))

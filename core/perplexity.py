"""Perplexity of a text under a causal LM: teacher-forced per-token losses, with a sliding window for long texts.

Seed 001: the input is the text shifted right, the target the text shifted left; each position's loss is
-ln p(true token); perplexity is exp(mean loss). Long texts use the Hugging Face "perplexity of fixed-length
models" sliding window: each window re-reads up to ``max_length - stride`` tokens of context that are not
scored again, and every token is scored exactly once (token-weighted average).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from core.models import LoadedModel, accepts_argument
from core.text import TextError, check_text, token_label

MAX_TEXT_CHARS = 4_000  # default cap: about 800 tokens, one window, a few seconds on one CPU thread
DEFAULT_MAX_LENGTH = 1024  # the guide's window
# Default cap on the tokens one run feeds the model, summed over its windows: a 4,000-character text of about 1,200
# tokens fits at the default window and stride (1,695 tokens); at 250-300 tokens per CPU-second (measured on a busy
# 2-core machine) that is several seconds, never minutes.
MAX_TOKENS_READ = 2_048
# Positions whose (positions, V) logits exist at once: 128 x 49,152 float32 is 25 MB for SmolLM2, whatever the window.
SCORE_CHUNK = 128
LN2 = math.log(2.0)

Progress = Callable[[float], None]


class PerplexityError(TextError):
    """A text the calculator will not score; the message says why, for the person who typed it."""


# ----------------------------------------------------------------------------------------------------------
# Seed 001's worked examples, as pure functions.


def teacher_forcing_shift(ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Inputs and targets of teacher forcing: inputs = ids[:-1] (shifted right), targets = ids[1:] (shifted left)."""
    ids = list(ids)
    return ids[:-1], ids[1:]


@dataclass(frozen=True)
class ProbabilityPerplexity:
    """Seed 001's perplexity by hand, from the probability given to each true token."""

    true_token_probs: np.ndarray  # (N,)
    per_position_loss: np.ndarray  # (N,) -ln p, in nats
    mean_loss: float
    perplexity: float
    geometric_mean: float  # of the true-token probabilities; perplexity == 1 / geometric_mean


def perplexity_from_probs(true_token_probs: Sequence[float]) -> ProbabilityPerplexity:
    """Perplexity from true-token probabilities, e.g. (0.5, 0.5, 0.5, 0.125) -> loss 1.0397, perplexity 2.8284."""
    p = np.asarray(true_token_probs, dtype=np.float64)
    if p.size == 0 or np.any(p <= 0) or np.any(p > 1):
        raise PerplexityError("Give at least one probability, each in (0, 1].")
    loss = -np.log(p)
    mean = float(loss.mean())
    geo = float(np.exp(np.log(p).mean()))
    return ProbabilityPerplexity(p, loss, mean, math.exp(mean), geo)


@dataclass(frozen=True)
class LogitsCrossEntropy:
    """Seed 001's cross-entropy of shifted targets, computed from logits."""

    probs: np.ndarray  # (N, V) softmax of each row
    true_token_probs: np.ndarray  # (N,)
    losses: np.ndarray  # (N,) -ln p(true token)
    mean_loss: float


def cross_entropy_from_logits(logits: Sequence[Sequence[float]], targets: Sequence[int]) -> LogitsCrossEntropy:
    """Stable softmax per row (subtract the row max), then -ln p of each target, as in seed 001.

    Args:
        logits: (N, V) one row of scores per position.
        targets: (N,) the true next token id at each position.
    """
    z = np.asarray(logits, dtype=np.float64)  # (N, V)
    t = np.asarray(targets, dtype=np.int64)  # (N,)
    shifted = z - z.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    true = probs[np.arange(len(t)), t]  # (N,)
    losses = -np.log(true)
    return LogitsCrossEntropy(probs, true, losses, float(losses.mean()))


# ----------------------------------------------------------------------------------------------------------
# The start token and the windows.


def start_token_id(tokenizer: Any) -> int | None:
    """The token a text is scored from when the start token is switched on, or None when there is none.

    The app's one start-token rule: the perplexity calculator and the n-gram page's neural score both use it.
    In order: the BOS the tokenizer adds by itself (Llama-style ``<s>``), else ``<|endoftext|>``, the
    separator in front of every document in GPT-2-style and SmolLM2 pretraining, else ``bos_token_id``, else
    ``eos_token_id``. For SmolLM2-Instruct the tokenizer adds no BOS and its ``bos_token`` is ``<|im_start|>``
    (id 1), the chat-turn marker that is normally followed by a role name, so we use ``<|endoftext|>`` (id 0).
    """
    bos = getattr(tokenizer, "bos_token_id", None)
    try:
        added = tokenizer("a", add_special_tokens=True)["input_ids"]
    except Exception:  # a tokenizer without special-token support
        added = []
    if bos is not None and added and added[0] == bos:
        return int(bos)
    end_of_text = _token_id(tokenizer, "<|endoftext|>")
    if end_of_text is not None:
        return end_of_text
    for candidate in (bos, getattr(tokenizer, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return None


def _token_id(tokenizer: Any, token: str) -> int | None:
    """``token``'s id in the vocabulary, or None; one lookup (``get_vocab`` would copy all 49,152 entries)."""
    if not hasattr(tokenizer, "convert_tokens_to_ids"):
        return (tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}).get(token)
    found = tokenizer.convert_tokens_to_ids(token)  # a missing token gives None or the unknown token's id
    if found is None or tokenizer.convert_ids_to_tokens(int(found)) != token:
        return None
    return int(found)


@dataclass(frozen=True)
class Window:
    """One forward pass of the sliding window over the full sequence (start token included when used).

    Tokens ``begin:end`` are read; the tokens ``score_from:end`` are scored (the rest is context only).
    """

    begin: int
    end: int
    score_from: int

    @property
    def scored(self) -> int:
        return self.end - self.score_from


def sliding_windows(seq_len: int, max_length: int, stride: int) -> list[Window]:
    """The Hugging Face guide's windows: begin at 0, stride, 2*stride, ...; each scores only what is new.

    Token 0 is never scored (nothing comes before it). With stride < max_length every other token is scored
    exactly once; with disjoint windows (stride == max_length) the first token of each window has no context
    inside its window and is skipped, exactly as in the guide's loop.
    """
    if max_length < 2:
        raise PerplexityError(f"The window must hold at least 2 tokens (got {max_length}).")
    if not 1 <= stride <= max_length:
        raise PerplexityError(f"The stride must be between 1 and the window length {max_length} (got {stride}).")
    windows, prev_end = [], 0
    for begin in range(0, max(seq_len, 1), stride):
        end = min(begin + max_length, seq_len)
        windows.append(Window(begin, end, max(prev_end, begin + 1)))
        prev_end = end
        if end == seq_len:
            break
    return [w for w in windows if w.scored > 0]


def tokens_read(seq_len: int, max_length: int, stride: int) -> int:
    """Tokens the model reads to score ``seq_len`` tokens (start token included) in ``sliding_windows``: the sum of
    the windows' lengths, known before any model call. The work of a run grows with it (the prefill of each window).

    Every window but the last is full (it ends before the sequence does); the last ends at the sequence's end. So
    with n windows: (n - 1) x max_length + (seq_len - (n - 1) x stride), less a last window of one token, which
    scores nothing and is skipped.
    """
    if max_length < 2 or not 1 <= stride <= max_length:
        sliding_windows(seq_len, max_length, stride)  # raises the calculator's own message
    if seq_len <= max_length:
        return max(seq_len, 0)
    full = -(-(seq_len - max_length) // stride)  # ceil: the windows that end before the sequence does
    last = seq_len - full * stride  # a last window of one token (disjoint windows) scores nothing and is not run
    return full * max_length + (last if last > 1 else 0)


def smallest_stride(seq_len: int, max_length: int, stride: int, max_tokens: int) -> int | None:
    """The smallest stride, at least ``stride``, whose run reads at most ``max_tokens`` tokens; None when even
    disjoint windows (stride = max_length) read more. ``tokens_read`` never grows with the stride (fewer windows,
    each re-reading less), so a binary search finds it."""
    if tokens_read(seq_len, max_length, stride) <= max_tokens:
        return stride
    if tokens_read(seq_len, max_length, max_length) > max_tokens:
        return None
    low, high = stride, max_length  # tokens_read(low) > max_tokens >= tokens_read(high)
    while high - low > 1:
        middle = (low + high) // 2
        if tokens_read(seq_len, max_length, middle) <= max_tokens:
            high = middle
        else:
            low = middle
    return high


# ----------------------------------------------------------------------------------------------------------
# The result.


@dataclass(frozen=True, eq=False)
class PerplexityResult:
    """Everything the calculator measured on one text.

    Attributes:
        token_ids: (N,) the text's token ids (without the start token).
        tokens: N readable token labels (whitespace visible).
        nll: (S,) float64 -ln p(token | everything before it) of each scored token, in nats.
        ranks: (S,) 1-based rank of the true token among all V next-token candidates.
        first_scored: index into ``token_ids`` of the first scored token (0 with the start token, else 1).
        top_ids / top_probs: (S, k) the model's k most likely tokens at each scored position, or None.
        n_bytes / n_words: UTF-8 bytes and whitespace-separated words of the scored part of the text.
        tokens_read: tokens the model read, summed over the windows (``tokens_read``).
        asked_stride: the stride asked for when it was raised to fit ``max_tokens_read``, else None.
    """

    model_name: str
    token_ids: np.ndarray
    tokens: list[str]
    nll: np.ndarray
    ranks: np.ndarray
    first_scored: int
    n_bytes: int
    n_words: int
    start_token: str | None
    max_length: int
    stride: int
    windows: int
    vocab_size: int
    top_ids: np.ndarray | None = None
    top_probs: np.ndarray | None = None
    top_labels: list[list[str]] | None = field(default=None, repr=False)
    tokens_read: int = 0
    asked_stride: int | None = None

    @property
    def scored_tokens(self) -> int:
        return int(self.nll.size)

    @cached_property
    def fingerprint(self) -> tuple:
        """Everything this result holds, as a hashable tuple: equal fingerprints, equal results (the key under
        which a class shares the views of one scoring, ui.charts.shared). Made once per result (a page run reads
        it for each of its views)."""

        def data(a: np.ndarray | None) -> tuple | None:
            return None if a is None else (str(a.dtype), a.shape, a.tobytes())

        labels = None if self.top_labels is None else tuple(tuple(row) for row in self.top_labels)
        return (
            self.model_name,
            data(self.token_ids),
            tuple(self.tokens),
            data(self.nll),
            data(self.ranks),
            self.first_scored,
            self.n_bytes,
            self.n_words,
            self.start_token,
            self.max_length,
            self.stride,
            self.windows,
            self.vocab_size,
            data(self.top_ids),
            data(self.top_probs),
            labels,
            self.tokens_read,
            self.asked_stride,
        )

    @property
    def add_bos(self) -> bool:
        return self.start_token is not None

    @property
    def scored_labels(self) -> list[str]:
        return self.tokens[self.first_scored :]

    @property
    def probs(self) -> np.ndarray:
        """(S,) probability the model gave each scored token."""
        return np.exp(-self.nll)

    @property
    def total_nll(self) -> float:
        return float(self.nll.sum())

    @property
    def mean_nll(self) -> float:
        """Mean negative log-likelihood in nats: the cross-entropy loss."""
        return float(self.nll.mean())

    @property
    def perplexity(self) -> float:
        """exp(mean NLL): the effective number of equally likely tokens per step."""
        return math.exp(self.mean_nll)

    @property
    def bits_per_token(self) -> float:
        return self.mean_nll / LN2

    @property
    def bits_per_byte(self) -> float | None:
        """Total NLL in bits over UTF-8 bytes: comparable across tokenizers."""
        return self.total_nll / LN2 / self.n_bytes if self.n_bytes else None

    @property
    def word_perplexity(self) -> float | None:
        """exp(total NLL / words): comparable across tokenizers (for languages that separate words by spaces)."""
        if not self.n_words:
            return None
        value = self.total_nll / self.n_words
        return math.exp(value) if value < 700 else math.inf

    def rows(self, scored: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One dict per scored token: the per-token table (and its CSV).

        Args:
            scored: which scored tokens (0 = the first scored), in this order; None for every one.
        """
        rows = []
        for j in range(self.scored_tokens) if scored is None else scored:
            i = self.first_scored + j
            row = {
                "position": i,
                "token": self.tokens[i],
                "token_id": int(self.token_ids[i]),
                "probability": float(np.exp(-self.nll[j])),
                "surprisal_nats": float(self.nll[j]),
                "surprisal_bits": float(self.nll[j] / LN2),
                "rank": int(self.ranks[j]),
            }
            if self.top_labels is not None and self.top_probs is not None:
                row["top_predictions"] = ", ".join(
                    f"{label} {p:.1%}" for label, p in zip(self.top_labels[j], self.top_probs[j])
                )
            rows.append(row)
        return rows


# ----------------------------------------------------------------------------------------------------------
# One window's model call and its scores (the hook a shared inference service replaces).


@dataclass(frozen=True, eq=False)
class WindowRequest:
    """One window to score: its L token ids, of which the last ``scored`` are scored.

    Attributes:
        ids: (L,) the window's token ids (context first, then the scored tokens).
        scored: S_w, how many of the last tokens are scored (1 <= S_w < L).
        top_k: also keep the k most likely tokens at each scored position (0 = none).
    """

    ids: torch.Tensor
    scored: int
    top_k: int = 0

    @property
    def keep(self) -> int:
        """Positions whose logits the window needs: the S_w before each scored token, plus the last one."""
        return self.scored + 1

    @property
    def targets(self) -> torch.Tensor:
        """(S_w,) the scored tokens."""
        return self.ids[len(self.ids) - self.scored :]

    @property
    def key(self) -> tuple:
        """What determines its score (two equal keys score equally): the ids, S_w and k."""
        return ("window", tuple(int(i) for i in self.ids), int(self.scored), int(self.top_k))


@dataclass(frozen=True, eq=False)
class WindowScore:
    """What one window measured (its (S_w, V) logits are already dropped).

    Attributes:
        nll: (S_w,) float64 -ln p(true token).
        ranks: (S_w,) int64 1-based rank of the true token.
        top_ids / top_probs: (S_w, k) the k most likely tokens and their probabilities, or None when k = 0.
    """

    nll: torch.Tensor
    ranks: torch.Tensor
    top_ids: torch.Tensor | None = None
    top_probs: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held by its tensors."""
        tensors = (self.nll, self.ranks, self.top_ids, self.top_probs)
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)


ScoreWindows = Callable[[LoadedModel, Sequence[WindowRequest]], Iterable[WindowScore]]
"""Runs every window's model call and yields one WindowScore per request, in order."""


# Models whose causal-LM head is exactly ``logits = output_embeddings(last_hidden_state)`` (no soft-capping or
# scaling after it): their logits can be built a chunk of positions at a time from the final hidden states.
PLAIN_HEAD_MODEL_TYPES = frozenset({"llama", "gpt2", "qwen2", "mistral"})

Project = Callable[[torch.Tensor, torch.Tensor], None]
"""Writes the (c, V) float32 logits of (c, D) final states (or of (c, V) logits, upcast) into ``out``; an empty
``out`` is first resized to (c, V)."""


def score_positions(
    states: torch.Tensor, project: Project, targets: torch.Tensor, top_k: int = 0, chunk: int = SCORE_CHUNK
) -> WindowScore:
    """Scores of S_w positions, building their logits ``chunk`` positions at a time into buffers made once.

    Only one (chunk, V) block of logits, its log-softmax and its rank mask exist, whatever S_w: a 1,024-token
    window of SmolLM2 would otherwise hold (1,024, 49,152) float32 logits (200 MB) and their log-softmax (200 MB
    more). The blocks are written in place (``out=``), so no large tensor is allocated per chunk and a heap
    fragmented by the small results cannot grow chunk after chunk. Each row's log-softmax, rank and top-k depend
    on that row alone, so the numbers are those of the whole block.

    Args:
        states: (S_w, D) final hidden states (or (S_w, V) logits), row j predicting ``targets[j]``.
        project: writes (c, D) states' (c, V) float32 logits into its ``out`` argument.
        targets: (S_w,) the true next tokens.
        top_k: also keep the k most likely tokens at each position (0 = none).
        chunk: positions per block.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 (got {chunk}).")
    S = len(targets)
    nll = torch.empty(S, dtype=torch.float64)  # (S_w,)
    ranks = torch.empty(S, dtype=torch.int64)  # (S_w,)
    top_probs = torch.empty(S, top_k, dtype=torch.float32) if top_k else None  # (S_w, k)
    top_ids = torch.empty(S, top_k, dtype=torch.int64) if top_k else None  # (S_w, k)
    logits = torch.empty(0, dtype=torch.float32)  # (chunk, V) once the first (largest) chunk has sized it
    logp = higher = None
    for a in range(0, S, chunk):
        b = min(a + chunk, S)
        n = b - a
        project(states[a:b], logits[:n] if a else logits)
        if logp is None:
            logp = torch.empty_like(logits)  # (chunk, V)
            higher = torch.empty(logits.shape, dtype=torch.bool)  # (chunk, V)
        # the same float32 log-softmax as the model's own loss, so the numbers agree with it
        torch.log_softmax(logits[:n], dim=-1, out=logp[:n])  # (c, V)
        true_logp = logp[:n].gather(1, targets[a:b, None])  # (c, 1)
        nll[a:b].copy_(true_logp[:, 0]).neg_()
        torch.gt(logp[:n], true_logp, out=higher[:n])  # (c, V) tokens the model found more likely
        torch.sum(higher[:n], dim=-1, out=ranks[a:b])
        ranks[a:b] += 1
        if top_k:
            torch.topk(logp[:n], top_k, dim=-1, out=(top_probs[a:b], top_ids[a:b]))  # (c, k) log-probabilities
            top_probs[a:b].exp_()
    return WindowScore(nll, ranks, top_ids, top_probs)


def _upcast(logits: torch.Tensor, out: torch.Tensor) -> None:
    """The Project of logits the model already built: float32 copies into ``out``."""
    if out.numel() == 0:
        out.resize_(logits.shape)
    out.copy_(logits)


def _head_projection(head: torch.nn.Linear) -> Project:
    """The Project of an output head: ``out = states @ W^T (+ b)``, as nn.Linear computes it, written in place."""

    def project(states: torch.Tensor, out: torch.Tensor) -> None:
        if out.numel() == 0:
            out.resize_(states.shape[0], head.out_features)
        if head.weight.dtype != torch.float32 or states.dtype != torch.float32:
            out.copy_(head(states))  # (c, V) upcast once
            return
        torch.matmul(states, head.weight.t(), out=out)  # (c, V)
        if head.bias is not None:
            out += head.bias

    return project


def score_window(logits: torch.Tensor, request: WindowRequest, chunk: int = SCORE_CHUNK) -> WindowScore:
    """Scores of one window from the logits of the S_w positions before its scored tokens.

    Args:
        logits: (S_w, V) row j predicting ``request.targets[j]``; upcast to float32 a chunk at a time.
        request: the window.
        chunk: positions per log-softmax block.
    """
    return score_positions(logits, _upcast, request.targets, request.top_k, chunk)


def final_states(lm: LoadedModel, input_ids: torch.Tensor, keep: int) -> tuple[torch.Tensor, Project]:
    """One model call over unpadded rows, keeping what the last ``keep`` positions' logits are built from.

    For a model whose head is a plain projection (``PLAIN_HEAD_MODEL_TYPES``, an nn.Linear head) it runs the base
    model only and returns its final (normed) hidden states with the head's projection, so no (keep, V) logits
    exist yet. Any other model returns its own logits of those positions (``logits_to_keep`` when it accepts it)
    with an upcast.

    Args:
        lm: a loaded causal LM.
        input_ids: (B, L) token ids, no padding.
        keep: positions to keep, counted from the end (1 <= keep <= L).
    Returns:
        (B, keep, D) hidden states or (B, keep, V) logits, and the Project that writes (c, V) float32 logits.
    """
    model = lm.model
    base = getattr(model, getattr(model, "base_model_prefix", "") or "", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    plain = getattr(model.config, "model_type", None) in PLAIN_HEAD_MODEL_TYPES
    if plain and isinstance(base, torch.nn.Module) and isinstance(head, torch.nn.Linear):
        hidden = base(input_ids=input_ids, use_cache=False)[0]  # (B, L, D) after the final norm
        return hidden[:, -keep:, :], _head_projection(head)
    kwargs = {"input_ids": input_ids, "use_cache": False}  # unpadded rows: no mask needed
    if accepts_argument(model, "logits_to_keep"):
        kwargs["logits_to_keep"] = keep
    return model(**kwargs).logits[:, -keep:, :], _upcast  # (B, keep, V)


def direct_score_windows(lm: LoadedModel, requests: Sequence[WindowRequest]) -> Iterator[WindowScore]:
    """The default ScoreWindows: one model call per window, in the calling thread.

    Each window runs the model once on (1, L) ids (``final_states``) and builds the logits of the positions it
    scores a chunk at a time (``score_positions``), so a window adds at most one (SCORE_CHUNK, V) block.
    """
    for request in requests:
        with torch.inference_mode():
            states, project = final_states(lm, request.ids[None, :], request.keep)  # (1, S_w + 1, D)
            score = score_positions(states[0, :-1], project, request.targets, request.top_k)
            del states
        yield score


# ----------------------------------------------------------------------------------------------------------
# The calculator.


class TextTooLong(PerplexityError):
    """The text is longer than the calculator's ``max_chars``; the message names the limit."""


class TooMuchWork(PerplexityError):
    """Even disjoint windows would feed the model more than ``max_tokens_read`` tokens; the message names both."""


def _checked_text(text: str | None, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text to score (``core.text.check_text`` with the calculator's words), or PerplexityError: empty, or
    over ``max_chars`` (TextTooLong). Lone surrogates become "?" and NUL bytes are dropped."""
    return check_text(
        text,
        max_chars=max_chars,
        error=PerplexityError,
        too_long_error=TextTooLong,
        empty="Type or upload a text first: there is nothing to score.",
        too_long="That text has {length:,} characters; the calculator here scores at most {limit:,}. "
        "Score a shorter excerpt.",
    )


def decode_text_file(data: bytes, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text of an uploaded .txt file, or PerplexityError for binary, non-UTF-8 or oversized files."""
    if len(data) > 4 * max_chars:  # UTF-8 needs at most 4 bytes a character
        size = f"{len(data) / 1e6:.1f} MB" if len(data) >= 100_000 else f"{len(data) / 1e3:.0f} kB"
        raise TextTooLong(
            f"That file is {size}; the calculator here scores texts up to {max_chars:,} characters. Upload an excerpt."
        )
    if b"\x00" in data[:8192]:
        raise PerplexityError("That file looks binary (it contains NUL bytes), not a plain-text .txt file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PerplexityError(
            f"That file is not UTF-8 text (byte {error.start:,} cannot be decoded). "
            "Save it as UTF-8 plain text and upload it again."
        ) from None
    return _checked_text(text, max_chars)


def _labeller(tokenizer: Any) -> Callable[[int], str]:
    memo: dict[int, str] = {}

    def label(token_id: int) -> str:
        if token_id not in memo:
            memo[token_id] = token_label(tokenizer, token_id)
        return memo[token_id]

    return label


def perplexity(
    lm: LoadedModel,
    text: str,
    *,
    stride: int | None = None,
    max_length: int | None = None,
    add_bos: bool = True,
    top_predictions: int = 0,
    progress: Progress | None = None,
    max_chars: int = MAX_TEXT_CHARS,
    max_tokens: int | None = None,
    max_tokens_read: int | None = None,
    score_windows: ScoreWindows | None = None,
) -> PerplexityResult:
    """Score every token of ``text`` with teacher forcing and return its perplexity.

    Each window runs the model once on (1, L) ids and keeps only the logits of the positions it scores
    (``logits_to_keep`` when the model accepts it); log-probabilities of the true tokens, their ranks and
    the top predictions are gathered inside the window and its (S_w, V) logits are dropped before the next one.

    Args:
        lm: a loaded causal LM.
        text: the text; at most ``max_chars`` characters.
        stride: tokens the window moves each step (default: half the window, as in the guide).
        max_length: window length in tokens, start token included (default min(1024, context length)).
        add_bos: score the first token too, from the start token ``start_token_id`` (else start at token 2).
        top_predictions: also keep the k most likely tokens at each scored position (0 = none).
        progress: called with the fraction of windows done.
        max_chars: the longest text accepted (a server's limit; default MAX_TEXT_CHARS).
        max_tokens: score only the first ``max_tokens`` tokens of the text (None: all of them).
        max_tokens_read: the most tokens the run may feed the model, summed over its windows (``tokens_read``,
            computed before any model call; None: no bound). A stride whose run reads more is raised to the
            smallest that fits (``result.asked_stride`` keeps the one asked for).
        score_windows: runs the windows' model calls (default ``direct_score_windows``: one call per window, in
            this thread); core.serving.inference's service passes its own, which queues each window as a job.

    Returns:
        PerplexityResult; ``nll`` has N scored entries with the start token, N - 1 without.

    Raises:
        PerplexityError: empty or oversized text, or nothing to score (one token without the start token).
        TooMuchWork: even disjoint windows would read more than ``max_tokens_read`` tokens.
    """
    text = _checked_text(text, max_chars)
    tokenizer = lm.tokenizer
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    cut = max_tokens is not None and len(ids) > max_tokens
    if cut:
        ids = ids[: max(0, int(max_tokens))]
    if not ids:
        raise PerplexityError("The tokenizer produced no tokens for that text.")
    start = start_token_id(tokenizer) if add_bos else None
    if add_bos and start is None:
        raise PerplexityError("This tokenizer has no start-of-text token; switch the start token off.")
    full = ([start] if start is not None else []) + ids
    if len(full) < 2:
        raise PerplexityError(
            "The text is a single token: without a start token nothing comes before it, so no token can be "
            "predicted and perplexity is undefined. Add text, or switch the start token on."
        )
    max_length = int(max_length or min(DEFAULT_MAX_LENGTH, lm.context_length))
    if max_length > lm.context_length:
        raise PerplexityError(
            f"The window ({max_length:,} tokens) is longer than the model's context ({lm.context_length:,} tokens)."
        )
    stride = asked = int(stride or max(1, max_length // 2))
    if max_tokens_read is not None:
        fitted = smallest_stride(len(full), max_length, stride, int(max_tokens_read))
        if fitted is None:
            least = tokens_read(len(full), max_length, max_length)  # windows that do not overlap
            raise TooMuchWork(
                f"Scoring these {len(full):,} tokens feeds the model at least {least:,} tokens, even with the stride "
                f"as long as the window; the calculator here feeds it at most {int(max_tokens_read):,} per scoring. "
                "Score a shorter excerpt."
            )
        stride = fitted
    windows = sliding_windows(len(full), max_length, stride)
    k = max(0, min(int(top_predictions), lm.facts.vocab_size))
    sequence = torch.tensor(full)  # (T,)
    requests = [WindowRequest(sequence[w.begin : w.end], w.scored, k) for w in windows]
    nll_parts, rank_parts, top_id_parts, top_p_parts = [], [], [], []
    for n, score in enumerate((score_windows or direct_score_windows)(lm, requests)):
        nll_parts.append(score.nll)
        rank_parts.append(score.ranks)
        if k:
            top_id_parts.append(score.top_ids)
            top_p_parts.append(score.top_probs)
        if progress is not None:
            progress((n + 1) / len(windows))
    if len(nll_parts) != len(windows):
        raise RuntimeError(f"score_windows returned {len(nll_parts)} scores for {len(windows)} windows")
    nll = torch.cat(nll_parts).numpy()
    first = 0 if start is not None else 1
    scored_text = text if first == 0 and not cut else tokenizer.decode(ids[first:])
    label = _labeller(tokenizer)
    top_ids = torch.cat(top_id_parts).numpy() if k else None
    return PerplexityResult(
        model_name=lm.name,
        token_ids=np.asarray(ids, dtype=np.int64),
        tokens=[label(int(i)) for i in ids],
        nll=nll,
        ranks=torch.cat(rank_parts).numpy().astype(np.int64),
        first_scored=first,
        n_bytes=len(scored_text.encode("utf-8")),
        n_words=len(scored_text.split()),
        start_token=label(start) if start is not None else None,
        max_length=max_length,
        stride=stride,
        windows=len(windows),
        vocab_size=lm.facts.vocab_size,
        top_ids=top_ids,
        top_probs=torch.cat(top_p_parts).numpy() if k else None,
        top_labels=[[label(int(i)) for i in row] for row in top_ids] if k else None,
        tokens_read=sum(w.end - w.begin for w in windows),
        asked_stride=asked if stride != asked else None,
    )


def teacher_forcing_rows(result: PerplexityResult, n: int = 12) -> list[dict[str, Any]]:
    """The first n teacher-forcing pairs of a scored text, as in seed 001's table: context -> target.

    The input column is the text shifted right (the start token first when used), the target column the
    text shifted left; each row also gives the probability of the target and its loss.
    """
    full = ([result.start_token] if result.start_token is not None else []) + list(result.tokens)
    inputs, targets = teacher_forcing_shift(full)
    rows = []
    for j in range(min(n, result.scored_tokens)):
        context = inputs[max(0, j - 5) : j + 1]
        rows.append(
            {
                "position": j,
                "input token (shifted right)": inputs[j],
                "context the model reads": ("… " if j > 5 else "") + " ".join(context),
                "target (shifted left)": targets[j],
                "p(target)": float(np.exp(-result.nll[j])),
                "loss -ln p": float(result.nll[j]),
            }
        )
    return rows

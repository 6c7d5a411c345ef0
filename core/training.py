"""Train a tiny GPT-2 on a small corpus, in chunks of steps, as seed 003's Mini-GPT notebook does.

The model is transformers' own GPT-2 built from a tiny config (eager attention), so every page works on it
unchanged. The loop is plain PyTorch: teacher forcing (inputs x[:-1], targets x[1:]), AdamW, linear warm-up
then cosine decay, gradient clipping. A ``Trainer`` runs a few steps at a time so a page can redraw the loss
curve between chunks and stop cleanly when asked.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from core.dispatch_mode import DispatchMode
from core.errors import InputError
from core.lessons import MINI_GPT_LESSON
from core.model_defaults import TEXTS_KEY, texts_from_corpus
from core.models import LoadedModel, wrap_model
from core.sampling import make_generator, sample_token, sampling_probs
from core.text import control_problem
from core.tiny_tokenizers import CHAR, KINDS, make_tokenizer

# Budgets per training run: absurd sizes are refused before any memory is allocated.
MAX_PARAMS = 3_000_000
MAX_SECONDS = 120.0
MAX_STEPS = 5_000
MAX_CORPUS_CHARS = 100_000
LIMITS = {"layers": (1, 6), "heads": (1, 8), "width": (8, 256), "context": (4, 256), "batch_size": (1, 64)}
MIN_LR, MAX_LR = 1e-5, 5e-2
# Held-out text: the last tenth of the corpus, when the corpus has at least this many tokens.
HELDOUT_FRACTION = 0.1
MIN_TOKENS_FOR_HELDOUT = 1_000
MAX_EVAL_TOKENS = 8_192  # evaluation reads at most this many tokens of each split


def _corpus_file(name: str) -> str:
    """A training corpus shipped in core/data/, exactly as written there."""
    return (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")


# Seed 003's Mini-GPT toy corpus: ten short lines, one a line.
MINI_GPT_CORPUS = tuple(_corpus_file("mini_gpt_corpus.txt").splitlines())
TOY_CORPUS = "\n".join(MINI_GPT_CORPUS)
# A second, larger corpus written for this project: short, regular sentences about a village, so a tiny
# model can learn its patterns and its held-out loss (on the last tenth, never trained on) visibly falls.
VILLAGE_CORPUS = _corpus_file("village_corpus.txt")

# The built-in corpora a learner can start from, by the label the Train page shows.
SOURCES = {
    f"The corpus of {MINI_GPT_LESSON} (10 short lines)": TOY_CORPUS,
    "A village (4 KB, written for this app; some held out)": VILLAGE_CORPUS,
}


class TrainingError(InputError):
    """Settings or a corpus the trainer will not use; the message says why and what to change."""


@dataclass(frozen=True)
class ModelSize:
    """The size controls of a tiny GPT-2: layers, attention heads, embedding width, context length."""

    layers: int = 2
    heads: int = 4
    width: int = 64
    context: int = 32


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and loop settings. The defaults reach < 1.0 nats/char on seed 003's corpus."""

    steps: int = 200
    batch_size: int = 16
    learning_rate: float = 5e-3
    seed: int = 0
    warmup_fraction: float = 0.05
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_every: int = 25
    sample_every: int = 50
    max_seconds: float = MAX_SECONDS
    one_thread: bool = True


@lru_cache(maxsize=1)
def _libgomp():
    """torch's own OpenMP runtime, when it is already loaded (None otherwise: then nothing is changed)."""
    if "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp.so.1")
    try:
        return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None


@contextmanager
def one_thread() -> Iterator[None]:
    """Run this thread's torch ops on one core; other threads (other sessions) keep their setting.

    ``omp_set_num_threads`` changes only the calling thread's OpenMP setting, unlike ``torch.set_num_threads``
    which is process-wide. On this shared 2-core machine a tiny model's steps measured 20-30x faster this way: two
    OpenMP threads spend their time waiting for each other when other processes hold the cores.
    """
    lib = _libgomp()
    if lib is None:
        yield
        return
    previous = torch.get_num_threads()  # also runs torch's per-thread OpenMP set-up first
    lib.omp_set_num_threads(1)
    try:
        yield
    finally:
        lib.omp_set_num_threads(previous)


def parameter_count(size: ModelSize, vocab_size: int) -> int:
    """Parameters of a GPT-2 with tied input/output embeddings, from its size alone (no model built).

    Token and position embeddings (V*d + P*d), per layer 12*d^2 + 13*d (attention 4*d^2 + 4*d, MLP
    8*d^2 + 5*d, two layer norms 4*d), and the final layer norm (2*d).
    """
    d = size.width
    return vocab_size * d + size.context * d + size.layers * (12 * d * d + 13 * d) + 2 * d


def check_size(size: ModelSize, vocab_size: int, max_params: int = MAX_PARAMS) -> None:
    """Raise TrainingError when a size is outside the limits, heads do not divide the width, or it is too big."""
    for name in ("layers", "heads", "width", "context"):
        low, high = LIMITS[name]
        value = getattr(size, name)
        if not low <= value <= high:
            raise TrainingError(f"{name.capitalize()} must be between {low} and {high} (got {value}).")
    if size.width % size.heads:
        raise TrainingError(
            f"The embedding width ({size.width}) must be a multiple of the number of heads "
            f"({size.heads}): each head gets width / heads dimensions."
        )
    count = parameter_count(size, vocab_size)
    if count > max_params:
        raise TrainingError(
            f"That model would have {count:,} parameters; the cap here is {max_params:,}. "
            "Use fewer layers or a narrower embedding."
        )


def check_settings(settings: TrainSettings) -> None:
    """Raise TrainingError when steps, batch size or learning rate are outside the limits."""
    if not 1 <= settings.steps <= MAX_STEPS:
        raise TrainingError(f"Steps must be between 1 and {MAX_STEPS:,} (got {settings.steps}).")
    low, high = LIMITS["batch_size"]
    if not low <= settings.batch_size <= high:
        raise TrainingError(f"Batch size must be between {low} and {high} (got {settings.batch_size}).")
    if not (MIN_LR <= settings.learning_rate <= MAX_LR):
        raise TrainingError(
            f"The learning rate must be between {MIN_LR:g} and {MAX_LR:g} (got {settings.learning_rate:g})."
        )


def learning_rate_at(step: int, settings: TrainSettings) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warm-up, then cosine decay to a floor."""
    peak = settings.learning_rate
    warmup = max(1, round(settings.steps * settings.warmup_fraction))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, settings.steps - warmup))
    floor = peak * settings.final_lr_fraction
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Corpus:
    """A tokenised corpus split for training.

    Attributes:
        train_ids: (N,) int64 token ids the model learns from.
        heldout_ids: (M,) int64 ids of the held-out end of the corpus, or None when the corpus is too small.
        note: one sentence for the page about the split (or why there is no held-out text).
        prompts: the first words of a few training lines, used to show samples.
    """

    train_ids: torch.Tensor
    heldout_ids: torch.Tensor | None
    note: str
    prompts: tuple[str, ...]


def _prompts(text: str, kind: str) -> tuple[str, ...]:
    lines = [line for line in text.splitlines() if len(line.split()) >= 3]
    cut = (lambda line: " ".join(line.split()[:2])) if kind != CHAR else (lambda line: line[:10])
    return tuple(dict.fromkeys(cut(line) for line in lines[:8])) or (text.split()[0],)


def split_corpus(text: str, tokenizer, context: int, kind: str = CHAR) -> Corpus:
    """Tokenise ``text`` and hold out its last tenth when there is enough of it.

    The split falls at a line break so the held-out text starts with a whole line.

    Raises:
        TrainingError: the corpus is empty or shorter than one context window plus one token.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < context + 1:
        raise TrainingError(
            f"The corpus is {len(ids):,} tokens long, shorter than the context length plus one "
            f"({context + 1}). Add text or lower the context length to at most {max(1, len(ids) - 1)}."
        )
    heldout = None
    note = (
        f"The corpus has {len(ids):,} tokens, too few to hold some out (at least {MIN_TOKENS_FOR_HELDOUT:,} "
        "needed): every token is used for training, so only the training loss is shown."
    )
    if len(ids) >= MIN_TOKENS_FOR_HELDOUT:
        cut = text.rfind("\n", 0, int(len(text) * (1 - HELDOUT_FRACTION))) + 1 or int(
            len(text) * (1 - HELDOUT_FRACTION)
        )
        train = tokenizer(text[:cut], add_special_tokens=False)["input_ids"]
        rest = tokenizer(text[cut:], add_special_tokens=False)["input_ids"]
        if len(rest) >= context + 1 and len(train) >= context + 1:
            ids, heldout = train, torch.tensor(rest, dtype=torch.long)
            note = (
                f"Training on the first {len(train):,} tokens; the last {len(rest):,} are held out, never "
                "trained on, to show how well the model does on text it has not seen."
            )
    return Corpus(torch.tensor(ids, dtype=torch.long), heldout, note, _prompts(text, kind))


class _DrawFrom(DispatchMode):
    """Inside the block, on this thread only, every random op given no generator draws from ``generator``.

    Dispatch modes are thread-local: another session's thread keeps drawing from the global RNG, which is never
    read, seeded or advanced here. (torch's dispatch mode is private API: core.dispatch_mode guards it.)
    """

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.generator = generator

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        names = [argument.name for argument in func._schema.arguments]
        if "generator" in names:
            at = names.index("generator")
            if at < len(args) and args[at] is None:
                args = (*args[:at], self.generator, *args[at + 1 :])
            elif at >= len(args) and kwargs.get("generator") is None:
                kwargs["generator"] = self.generator
        return func(*args, **kwargs)


def build_model(size: ModelSize, tokenizer, seed: int = 0):
    """A freshly initialised GPT-2 (eager attention, no dropout) sized by ``size``, seeded.

    The weights come from a generator of this call's own, so two sessions building at once never swap seeds and
    the process-wide RNG is left alone. A CPU generator seeded with ``seed`` yields the stream the global RNG
    yields after ``torch.manual_seed(seed)``, and every draw of GPT-2's initialisation comes from it in the same
    order: a seed gives exactly the weights it gave when this function seeded the global RNG.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_layer=size.layers,
        n_head=size.heads,
        n_embd=size.width,
        n_positions=size.context,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        attn_implementation="eager",
    )
    with _DrawFrom(torch.Generator().manual_seed(seed)):
        return GPT2LMHeadModel(config)


def _windows(ids: torch.Tensor, context: int) -> torch.Tensor:
    """Non-overlapping windows of context + 1 tokens over (at most MAX_EVAL_TOKENS of) ``ids``: (W, T+1)."""
    ids = ids[:MAX_EVAL_TOKENS]
    count = max(1, (len(ids) - 1) // context)
    return torch.stack(
        [
            ids[i * context : i * context + context + 1]
            for i in range(count)
            if len(ids[i * context : i * context + context + 1]) == context + 1
        ]
    )


def mean_loss(model, ids: torch.Tensor, context: int) -> float:
    """Mean next-token cross-entropy (nats per token) of ``model`` over ``ids``, teacher forcing."""
    batch = _windows(ids, context)  # (W, T+1)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=batch[:, :-1]).logits  # (W, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    model.train(was_training)
    return float(loss)


def sample_text(model, tokenizer, prompt: str, max_new_tokens: int, *, temperature: float = 1.0, seed: int = 0) -> str:
    """Continue ``prompt`` token by token (temperature 0 = greedy), keeping the last context-length tokens.

    Each token is drawn by the app's one sampler: ``core.sampling.sampling_probs`` (softmax(logits / T)) and
    ``sample_token`` with ``make_generator(seed)``.
    """
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] or [tokenizer.bos_token_id]
    generator = make_generator(seed)
    window = model.config.n_positions
    was_training = model.training
    model.eval()
    with torch.no_grad(), one_thread():
        for _ in range(max_new_tokens):
            logits = model(input_ids=torch.tensor([ids[-window:]])).logits[0, -1].float()  # (V,)
            probs = sampling_probs(logits, temperature=temperature)  # (V,) one-hot on the argmax at T = 0
            next_id = int(probs.argmax()) if temperature == 0 else sample_token(probs, generator)
            ids.append(next_id)
    model.train(was_training)
    return tokenizer.decode(ids)


@dataclass
class Trainer:
    """Trains one tiny GPT on one corpus, a chunk of steps at a time.

    Attributes (read by the page between chunks):
        losses: training loss of every step's batch, nats per token.
        evals: (step, training-text loss, held-out loss or None), measured every ``eval_every`` steps.
        samples: (step, prompt, greedy continuation, sampled continuation at temperature 1) every
            ``sample_every`` steps.
        status: "ready", "training", "done", "stopped", "time budget" or "nan".
    """

    text: str
    kind: str = CHAR
    size: ModelSize = ModelSize()
    settings: TrainSettings = TrainSettings()
    losses: list[float] = field(default_factory=list)
    evals: list[tuple[int, float, float | None]] = field(default_factory=list)
    samples: list[tuple[int, str, str, str]] = field(default_factory=list)
    status: str = "ready"
    message: str = ""
    step: int = 0
    elapsed: float = 0.0
    tokens_seen: int = 0

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise TrainingError("The corpus is empty: paste or upload some text to train on.")
        if problem := control_problem(self.text[:MAX_CORPUS_CHARS], "corpus"):
            raise TrainingError(problem)
        if self.kind not in KINDS:
            raise TrainingError(f"Unknown tokenizer '{self.kind}'.")
        self.truncated = len(self.text) > MAX_CORPUS_CHARS
        self.text = self.text[:MAX_CORPUS_CHARS]
        check_settings(self.settings)
        self.tokenizer = make_tokenizer(self.text, self.kind)
        check_size(self.size, len(self.tokenizer))
        self.corpus = split_corpus(self.text, self.tokenizer, self.size.context, self.kind)
        self.model = build_model(self.size, self.tokenizer, self.settings.seed)
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=self.settings.learning_rate,
            betas=(0.9, 0.95),
            weight_decay=self.settings.weight_decay,
        )
        self.generator = torch.Generator().manual_seed(self.settings.seed)
        self._stop_requested = False
        # Streamlit may start a session's next script run before the interrupted one has returned: one chunk at a time.
        self._lock = threading.RLock()
        with one_thread():
            self._evaluate()

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def starting_loss(self) -> float:
        """ln(vocabulary size): the loss of a model that spreads probability evenly over every token."""
        return math.log(self.vocab_size)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "time budget", "nan")

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_seen / self.elapsed if self.elapsed > 0 else 0.0

    def stop(self) -> None:
        """Ask the trainer to stop before its next step (the model keeps what it has learnt)."""
        self._stop_requested = True

    def get_batch(self) -> torch.Tensor:
        """A batch of random windows of context + 1 tokens from the training ids: (B, T+1)."""
        ids, T = self.corpus.train_ids, self.size.context
        starts = torch.randint(0, len(ids) - T, (self.settings.batch_size,), generator=self.generator)  # (B,)
        return torch.stack([ids[s : s + T + 1] for s in starts.tolist()])  # (B, T+1)

    def train_steps(self, k: int) -> None:
        """Run up to ``k`` optimiser steps; stop early when asked, out of steps or time, or the loss is NaN."""
        with self._lock:
            if self.finished:
                return
            if self.settings.one_thread:
                with one_thread():
                    return self._train_steps(k)
            return self._train_steps(k)

    def _train_steps(self, k: int) -> None:
        self.status = "training"
        self.model.train()
        for _ in range(k):
            if self._stop_requested:
                return self._finish("stopped", f"Stopped at step {self.step:,} of {self.settings.steps:,}.")
            if self.step >= self.settings.steps:
                return self._finish("done", f"Trained {self.step:,} steps.")
            if self.elapsed >= self.settings.max_seconds:
                return self._finish(
                    "time budget",
                    f"Stopped at step {self.step:,}: the time budget of "
                    f"{self.settings.max_seconds:.0f} s per run was used up.",
                )
            started = time.perf_counter()
            lr = learning_rate_at(self.step, self.settings)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            batch = self.get_batch()  # (B, T+1)
            x, y = batch[:, :-1], batch[:, 1:]  # teacher forcing: predict token t+1 from tokens <= t
            logits = self.model(input_ids=x).logits  # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            if not torch.isfinite(loss):
                return self._finish(
                    "nan",
                    f"The loss became NaN (not a number) at step {self.step + 1:,}: the "
                    f"updates blew up. Try a lower learning rate (e.g. {lr / 10:.0e}).",
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
            self.optimizer.step()
            self.step += 1
            self.tokens_seen += x.numel()
            self.elapsed += time.perf_counter() - started
            self.losses.append(float(loss.detach()))
            if self.step % self.settings.eval_every == 0 or self.step == self.settings.steps:
                self._evaluate()
            if self.step % self.settings.sample_every == 0 or self.step == self.settings.steps:
                self._sample()
        if self.step >= self.settings.steps:
            self._finish("done", f"Trained {self.step:,} steps.")

    def _evaluate(self) -> None:
        train = mean_loss(self.model, self.corpus.train_ids, self.size.context)
        heldout = None
        if self.corpus.heldout_ids is not None:
            heldout = mean_loss(self.model, self.corpus.heldout_ids, self.size.context)
        self.evals.append((self.step, train, heldout))

    def _sample(self) -> None:
        prompts = self.corpus.prompts
        prompt = prompts[(self.step // max(1, self.settings.sample_every)) % len(prompts)]
        new = 60 if self.kind == CHAR else 16
        greedy = sample_text(self.model, self.tokenizer, prompt, new, temperature=0.0)
        sampled = sample_text(
            self.model, self.tokenizer, prompt, new, temperature=1.0, seed=self.settings.seed + self.step
        )
        self.samples.append((self.step, prompt, greedy, sampled))

    def _finish(self, status: str, message: str) -> None:
        if self.evals and self.evals[-1][0] != self.step and status != "nan":
            self._evaluate()
        if self.step and (not self.samples or self.samples[-1][0] != self.step) and status != "nan":
            self._sample()
        self.status, self.message = status, message
        self.optimizer = None  # its moment estimates (twice the model's size) are not needed any more
        self.model.eval()

    def final_loss(self) -> float:
        """Training-text loss at the last evaluation (nats per token)."""
        return self.evals[-1][1]

    def loaded_model(self, name: str) -> LoadedModel:
        """The trained model as a LoadedModel (eval mode, no grads) for every page; ends training."""
        with self._lock:
            if not self.finished:
                self._finish("stopped", f"Stopped at step {self.step:,} of {self.settings.steps:,}.")
        lm = wrap_model(self.model, self.tokenizer, name, "trained in this session")
        lm.extras.update(tokenizer_kind=self.kind, steps=self.step, final_loss=self.final_loss())
        lm.extras[TEXTS_KEY] = self.default_texts().as_dict()  # every page's prompt comes from its own corpus
        return lm

    def default_texts(self):
        """The default prompt and example texts for this model: lines of its corpus (``core.model_defaults``)."""
        heldout = self.corpus.heldout_ids
        held = self.tokenizer.decode(heldout[:1_000].tolist()) if heldout is not None else None
        return texts_from_corpus(self.text, self.kind, held, tokenizer=self.tokenizer)


def corpus_from_bytes(data: bytes) -> tuple[str, str]:
    """Text of an uploaded .txt file and a note ("" or why it was cut). Raises TrainingError for non-text.

    Windows line ends become newlines; text beyond MAX_CORPUS_CHARS is cut off.
    """
    if b"\x00" in data[:4096]:
        raise TrainingError("That file looks binary, not text. Upload a plain .txt file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TrainingError("That file is not UTF-8 text. Save it as UTF-8 and upload it again.") from error
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise TrainingError("That file is empty.")
    if len(text) > MAX_CORPUS_CHARS:
        return text[:MAX_CORPUS_CHARS], (
            f"The file has {len(text):,} characters; only the first {MAX_CORPUS_CHARS:,} are used."
        )
    return text, ""

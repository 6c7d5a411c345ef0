"""Autoregressive generation one token at a time, with the KV cache in plain sight: the ``Stepper``.

The loop is written out (no ``model.generate``): prefill the prompt once into a ``DynamicCache``, then feed
only the newly chosen token with an attention mask grown by one; rewind by cropping the cache.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import transformers
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from core.errors import InputError
from core.kv_cache import measured_cache_bytes
from core.models import LoadedModel, accepts_argument
from core.next_token import NextTokenDistribution, distribution_from_logits, next_token_probs
from core.prompt import MAX_PROMPT_TOKENS, encode_prompt
from core.sampling import check_sampling_args, make_generator, sample_token, sampling_probs
from core.serving.prefix_cache import Prefix, SharedSteps
from core.text import PromptError, control_problem, token_label

TOP_CANDIDATES = 20  # candidates remembered per step (for the per-step bars)
MAX_STOP_STRINGS = 8
MAX_STOP_STRING_CHARS = 100

GREEDY, SAMPLED, USER = "greedy", "sampled", "you"
EOS, STOP_STRING, MAX_NEW_TOKENS, CONTEXT_FULL = (
    "end-of-sequence token",
    "stop string",
    "max new tokens",
    "context window full",
)


Runner = Callable[[Callable[[], torch.Tensor]], torch.Tensor]
"""Runs a zero-argument model call (somewhere: this thread, a shared worker) and returns what it returned. A runner
that also has ``shared_steps(lm) -> SharedSteps | None`` (``core.serving.inference.StepRunner``) lets the Stepper
reuse steps other generations on the server computed."""


class GenerationFinished(RuntimeError):
    """``step`` was called after a stop condition ended the generation."""


class StepError(InputError):
    """A pick, rewind or branch the generation cannot take (a token outside the vocabulary, a step or branch
    that no longer exists, e.g. from a second click on a button already acted on); the message says why."""


@dataclass(frozen=True)
class Candidate:
    """One of the top candidates at a step (probabilities from the full-vocabulary softmax)."""

    token_id: int
    token: str
    model_probability: float
    sampling_probability: float


@dataclass(frozen=True)
class Step:
    """What happened at one generation step.

    Attributes:
        index: 1 for the first generated token.
        token_id / token / text: the chosen token, its label (whitespace visible) and its raw decoded text.
        chosen_by: "greedy", "sampled" or "you" (the person picked it).
        model_probability: the model's probability of the token (softmax over the whole vocabulary).
        sampling_probability: its probability after temperature/top-k/top-p (what the sampler drew from).
        rank: its rank in the model's distribution (1 = most likely).
        entropy_bits: entropy of the model's distribution at this step.
        top: the TOP_CANDIDATES most likely tokens at this step.
        cache_length: tokens whose keys/values the cache holds after the step (0 without the cache).
        cache_bytes: bytes of those key/value tensors, read from the cache object itself.
        seconds: wall time of the step (choose the token, then one forward pass for the next distribution).
        used_cache: whether the step's forward pass reused the KV cache (False: whole sequence recomputed).
        temperature, top_k, top_p, seed: the sampling settings in force at this step.
        stop_reason: the stop condition this step triggered, or None.
        reused: the step's next distribution and cache came from the server's store of shared steps (another
            identical generation computed them): no forward pass ran, so ``seconds`` is not the model's time.
    """

    index: int
    token_id: int
    token: str
    text: str
    chosen_by: str
    model_probability: float
    sampling_probability: float
    rank: int
    entropy_bits: float
    top: tuple[Candidate, ...]
    cache_length: int
    cache_bytes: int
    seconds: float
    used_cache: bool
    temperature: float
    top_k: int
    top_p: float
    seed: int
    stop_reason: str | None = None
    reused: bool = False

    @property
    def model_seconds(self) -> float | None:
        """The model's time for this step, or None for a reused step (no forward pass ran for it)."""
        return None if self.reused else self.seconds


@dataclass(frozen=True)
class Branch:
    """A continuation abandoned by a rewind: the steps that followed step ``after_step``."""

    after_step: int
    steps: tuple[Step, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.steps)


def step_seed(seed: int, index: int) -> int:
    """The generator seed of step ``index``: a hash of (seed, index), so each step's draw depends only on them.

    This is what makes rewinding reproducible: stepping again from step k draws with the same generators.
    """
    digest = hashlib.sha256(f"{int(seed)}:{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


def clean_stop_strings(stop_strings: Sequence[str] | str | None) -> tuple[tuple[str, ...], list[str]]:
    """Keep the usable stop strings; return (kept, notes about what was dropped).

    Empty or whitespace-only strings are dropped (they would stop before the first token); so are repeats.
    A string may be given with comma or newline separators already split by the caller.
    """
    if stop_strings is None:
        return (), []
    if isinstance(stop_strings, str):
        stop_strings = [stop_strings]
    kept: list[str] = []
    notes: list[str] = []
    blanks = 0
    for s in stop_strings:
        if not isinstance(s, str) or not s.strip():
            blanks += 1
            continue
        if problem := control_problem(s, "stop string"):
            notes.append(f"Ignored a stop string. {problem}")
            continue
        s = s[:MAX_STOP_STRING_CHARS]
        if s not in kept:
            kept.append(s)
    if blanks:
        notes.append(f"Ignored {blanks} empty or whitespace-only stop string(s): they would match before any text.")
    if len(kept) > MAX_STOP_STRINGS:
        notes.append(f"Only the first {MAX_STOP_STRINGS} stop strings are used.")
        kept = kept[:MAX_STOP_STRINGS]
    return tuple(kept), notes


def parse_stop_strings(text: str | None) -> list[str]:
    """Split a one-line stop-string field on "|"; a typed backslash-n means a newline ("\\n\\nUser:")."""
    if not text:
        return []
    return [part.replace("\\n", "\n").replace("\\t", "\t") for part in text.split("|")]


def eos_token_ids(lm: LoadedModel) -> frozenset[int]:
    """End-of-sequence ids: the generation config's (as ``generate`` uses), else the tokenizer's."""
    eos = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        eos = getattr(lm.tokenizer, "eos_token_id", None)
    if eos is None:
        return frozenset()
    return frozenset(int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]))


class Stepper:
    """Generate one token per ``step()``, owning one ``DynamicCache`` for the whole generation.

    Sampling is reproducible per (seed, step index): step i draws with ``make_generator(step_seed(seed, i))``,
    so the same seed and settings give the same sequence, and rewinding to step k then stepping again
    reproduces steps k+1, k+2, ... exactly (the cache after a rewind holds exactly the kept tokens).

    Attributes:
        all_ids: prompt ids followed by generated ids.
        prompt_len: number of prompt ids at the start of ``all_ids``.
        steps: one ``Step`` per generated token.
        branches: continuations abandoned by rewinds (newest last).
        dropped_tokens: prompt tokens cut from the start to fit the window.
        notes: plain-language notes about capped or ignored settings.
        runner: None (the model runs in the calling thread) or a ``Runner`` that runs each model call for this
            stepper, e.g. ``core.serving.inference.InferenceService.runner(owner)``: one decode step per job. Given
            to the constructor, it runs the prefill too; may be replaced between steps (a page sets it on every run).
    """

    def __init__(
        self,
        lm: LoadedModel,
        prompt: str,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        max_new_tokens: int = 64,
        stop_strings: Sequence[str] = (),
        chat: bool = False,
        use_cache: bool = True,
        max_prompt_tokens: int = MAX_PROMPT_TOKENS,
        runner: Runner | None = None,
        prompt_ids: Sequence[int] | None = None,
    ) -> None:
        """Encode the prompt and prefill the cache (through ``runner`` when given).

        Args:
            prompt_ids: token ids to start from instead of encoding ``prompt`` (a caller that already chose the
                window, such as the attention page's greedy continuation); all of them are kept.

        Raises:
            PromptError: the prompt is empty or unreadable, or ``prompt_ids`` is empty.
        """
        self.lm = lm
        self.runner = runner
        self.model_name = lm.name
        self.prompt = prompt
        self.chat = bool(chat)
        self.context_length = int(lm.context_length)
        if prompt_ids is None:
            ids, self.dropped_tokens = encode_prompt(lm, prompt, max(1, int(max_prompt_tokens)), chat=chat)
        elif not prompt_ids:
            raise PromptError("There are no tokens to start generating from.")
        else:
            ids, self.dropped_tokens = [int(i) for i in prompt_ids], 0
        self.all_ids: list[int] = ids
        self.prompt_len = len(self.all_ids)
        self.steps: list[Step] = []
        self.branches: list[Branch] = []
        self.eos_ids = eos_token_ids(lm)
        self.notes: list[str] = []
        self.temperature, self.top_k, self.top_p, self.seed = 1.0, 0, 1.0, 0
        self.max_new_tokens = 1
        self.stop_strings: tuple[str, ...] = ()
        self.use_cache = bool(use_cache)
        self.configure(
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            max_new_tokens=max_new_tokens,
            stop_strings=stop_strings,
            use_cache=use_cache,
        )
        self._lock = threading.RLock()
        self.cache = DynamicCache(config=lm.model.config)  # one cache for the whole generation
        self._logits: torch.Tensor | None = None  # (V,) float32: distribution of the token after all_ids
        self._logits_len = 0  # len(all_ids) those logits belong to
        started = time.perf_counter()
        self._keep_last = accepts_argument(lm.model, "logits_to_keep")  # skip the lm_head on all but the last position
        self._running = False  # a model call of this stepper is running in the runner's thread
        self._reused = False  # the last forward was served from the server's shared steps
        self._prefill_logits = self._forward()  # (V,) kept so that rewinding to step 0 is exact
        self.prefill_seconds = time.perf_counter() - started
        self.prefill_reused = self._reused

    # ----- settings -------------------------------------------------------------------------------
    def configure(
        self,
        *,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        max_new_tokens: int | None = None,
        stop_strings: Sequence[str] | None = None,
        use_cache: bool | None = None,
    ) -> None:
        """Change settings for the steps to come (earlier steps keep the settings they used).

        Raises:
            ValueError: a sampling setting or seed out of range (the message names the value).
        """
        t = self.temperature if temperature is None else float(temperature)
        k = self.top_k if top_k is None else int(top_k)
        p = self.top_p if top_p is None else float(top_p)
        check_sampling_args(t, k, p)
        s = self.seed if seed is None else int(seed)
        make_generator(s)  # validates the seed
        self.temperature, self.top_k, self.top_p, self.seed = t, k, p, s
        notes = []
        if max_new_tokens is not None:
            room = self.context_length - self.prompt_len
            wanted = max(1, int(max_new_tokens))
            self.max_new_tokens = max(0, min(wanted, room))
            if wanted > room:
                notes.append(
                    f"Max new tokens capped at {max(room, 0):,}: the prompt's {self.prompt_len:,} tokens "
                    f"leave that much room in the {self.context_length:,}-token context window."
                )
        if stop_strings is not None:
            self.stop_strings, dropped = clean_stop_strings(stop_strings)
            notes += dropped
        if max_new_tokens is not None or stop_strings is not None:
            self.notes = notes
        if use_cache is not None:
            self.use_cache = bool(use_cache)

    # ----- what the page reads --------------------------------------------------------------------
    @property
    def generated_ids(self) -> list[int]:
        return self.all_ids[self.prompt_len :]

    @property
    def prompt_text(self) -> str:
        return self.lm.tokenizer.decode(self.all_ids[: self.prompt_len])

    @property
    def text(self) -> str:
        """The generated text so far (special tokens included, as the model produced them)."""
        return "".join(s.text for s in self.steps)

    @property
    def cache_length(self) -> int:
        return int(self.cache.get_seq_length())

    @property
    def cache_bytes(self) -> int:
        return measured_cache_bytes(self.cache)

    @property
    def cache_bytes_per_value(self) -> int:
        """Bytes of one cached number (4 for float32), read from the cache, else from the weights."""
        for layer in getattr(self.cache, "layers", []):
            keys = getattr(layer, "keys", None)
            if keys is not None and hasattr(keys, "element_size") and keys.numel():
                return int(keys.element_size())
        return int(next(self.lm.model.parameters()).element_size())

    @property
    def stop_reason(self) -> str | None:
        """Which stop condition ends the generation now, or None while it may go on."""
        if self.steps and self.steps[-1].token_id in self.eos_ids:
            return EOS
        if self.matched_stop_string() is not None:
            return STOP_STRING
        if len(self.all_ids) >= self.context_length:
            return CONTEXT_FULL
        if len(self.steps) >= self.max_new_tokens:
            return MAX_NEW_TOKENS
        return None

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None

    def matched_stop_string(self) -> str | None:
        """The first stop string found in the generated text, or None."""
        text = self.text
        return next((s for s in self.stop_strings if s in text), None)

    def next_distribution(self) -> NextTokenDistribution:
        """The model's distribution over the next token given everything so far."""
        with self._lock:
            logits = self._current_logits()
        return distribution_from_logits(logits, self.lm.tokenizer, self.all_ids)

    def next_sampling_probs(self) -> torch.Tensor:
        """(V,) what the sampler would draw the next token from, with the current settings."""
        with self._lock:
            logits = self._current_logits()
        return sampling_probs(logits, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)

    # ----- the loop -------------------------------------------------------------------------------
    def step(self, choose: int | None = None) -> Step:
        """Choose the next token (greedy, sampled, or ``choose`` when the person picked it) and run the model once.

        Args:
            choose: a token id picked by the person, or None to let the sampler choose.

        Returns:
            The new Step. State changes only when the step completes (an interrupted step leaves no trace).

        Raises:
            GenerationFinished: a stop condition has already ended the generation.
            StepError: ``choose`` is not a token id of this vocabulary.
        """
        with self._lock:
            reason = self.stop_reason
            if reason is not None:
                raise GenerationFinished(f"Generation has ended ({reason}). Rewind or reset to continue.")
            started = time.perf_counter()
            logits = self._current_logits()  # (V,) float32
            log_probs = torch.log_softmax(logits, dim=-1)  # (V,) full-vocabulary, never renormalised
            probs = next_token_probs(logits)  # (V,) the model's belief
            vocab = probs.shape[-1]
            greedy_id = int(torch.argmax(logits))
            # Temperature 0 is greedy: the sampler's distribution is one-hot on the argmax (as sampling_probs gives);
            # skipping the full-vocabulary filter keeps the instrumented loop as fast as generate's.
            sampling = (
                None
                if self.temperature == 0
                else sampling_probs(logits, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)
            )  # (V,)
            index = len(self.steps) + 1
            if choose is not None:
                token_id = int(choose)
                if not 0 <= token_id < vocab:
                    raise StepError(f"token id {choose!r} is not in this model's vocabulary of {vocab:,}")
                chosen_by = USER
            elif sampling is None:
                token_id, chosen_by = greedy_id, GREEDY
            else:
                token_id = sample_token(sampling, make_generator(step_seed(self.seed, index)))
                chosen_by = SAMPLED

            def sampled_p(i: int) -> float:
                return (1.0 if i == greedy_id else 0.0) if sampling is None else float(sampling[i])

            top_p_, top_i = torch.topk(probs, min(TOP_CANDIDATES, vocab))  # (K,) most likely first
            top_probs, top_ids = top_p_.tolist(), top_i.tolist()
            top = tuple(
                Candidate(i, token_label(self.lm.tokenizer, i), p, sampled_p(i)) for p, i in zip(top_probs, top_ids)
            )
            chosen_p = float(probs[token_id])
            if token_id in top_ids:  # every token more likely than a top-K token is itself in the top K
                rank = 1 + sum(p > chosen_p for p in top_probs)
            else:
                rank = int((probs > probs[token_id]).sum()) + 1
            # Entropy in bits, -sum p log2 p, as core.next_token.entropy_bits; numpy's single-threaded dot avoids
            # waking torch's thread pool for one small reduction per step (several ms on a busy machine).
            entropy = max(0.0, -float(np.dot(probs.numpy(), log_probs.numpy())) / math.log(2))
            ids = self.all_ids + [token_id]
            text = self.lm.tokenizer.decode([token_id])
            draft = Step(
                index=index,
                token_id=token_id,
                token=token_label(self.lm.tokenizer, token_id),
                text=text,
                chosen_by=chosen_by,
                model_probability=chosen_p,
                sampling_probability=sampled_p(token_id),
                rank=rank,
                entropy_bits=entropy,
                top=top,
                cache_length=0,
                cache_bytes=0,
                seconds=0.0,
                used_cache=self.use_cache,
                temperature=self.temperature,
                top_k=self.top_k,
                top_p=self.top_p,
                seed=self.seed,
            )
            # Commit: the new token and its step, in one assignment each (nothing half-done survives).
            self.all_ids = ids
            self.steps = self.steps + [draft]
            reason = self.stop_reason
            if reason is None:
                self._forward()  # the next distribution; feeds only the new token when the cache is on
            final = replace(
                draft,
                cache_length=self.cache_length if self.use_cache else 0,
                cache_bytes=self.cache_bytes if self.use_cache else 0,
                seconds=time.perf_counter() - started,
                stop_reason=reason,
                reused=reason is None and self._reused,
            )
            self.steps = self.steps[:-1] + [final]
            return final

    def run(self, n: int) -> list[Step]:
        """Take up to ``n`` steps, stopping early at a stop condition."""
        taken = []
        for _ in range(max(0, int(n))):
            if self.finished:
                break
            taken.append(self.step())
        return taken

    def rewind(self, to_step: int) -> None:
        """Go back to just after step ``to_step`` (0 = back to the prompt); the cache is cropped to match.

        The abandoned steps are kept as a Branch in ``branches``.
        """
        with self._lock:
            to_step = int(to_step)
            if not 0 <= to_step <= len(self.steps):
                raise StepError(f"to_step must be between 0 and {len(self.steps)}, got {to_step}")
            if to_step == len(self.steps):
                return
            self.branches = self.branches + [Branch(to_step, tuple(self.steps[to_step:]))]
            self._truncate(to_step)

    def restore_branch(self, number: int) -> None:
        """Return to an abandoned branch; what it replaces becomes a branch in turn."""
        with self._lock:
            if not 0 <= number < len(self.branches):
                raise StepError(f"There is no branch {number} to return to (there are {len(self.branches)}).")
            branch = self.branches[number]
            rest = [b for i, b in enumerate(self.branches) if i != number]
            if branch.after_step > len(self.steps):
                raise StepError("That branch starts after the current text; it cannot be restored here.")
            replaced = tuple(self.steps[branch.after_step :])
            self._truncate(branch.after_step)
            self.all_ids = self.all_ids + [s.token_id for s in branch.steps]
            self.steps = self.steps + list(branch.steps)
            self.branches = rest + ([Branch(branch.after_step, replaced)] if replaced else [])
            if not self.finished:
                self._forward()  # catch the cache up with the restored tokens in one call

    # ----- internals ------------------------------------------------------------------------------
    def _truncate(self, to_step: int) -> None:
        """Keep the prompt and the first ``to_step`` generated tokens; crop the cache to exactly those."""
        keep = self.prompt_len + to_step
        self.all_ids = self.all_ids[:keep]
        self.steps = self.steps[:to_step]
        if to_step == 0:
            self._crop_cache(keep)
            self._logits, self._logits_len = self._prefill_logits, keep
        else:
            self._crop_cache(keep - 1)  # then feed the last kept token again: same input, same logits
            self._forward()

    def _crop_cache(self, length: int) -> None:
        extra = self.cache_length - length
        if extra > 0:
            self.cache.crop(-extra)  # 5.x accepts only negative counts

    def _current_logits(self) -> torch.Tensor:
        if self._logits is None or self._logits_len != len(self.all_ids):
            self._forward()
        return self._logits

    def _shared_steps(self) -> SharedSteps | None:
        """The server's shared generation steps for this model, when this forward may use them: the runner offers
        them (a shared inference service's), the KV cache is on (the cache-off mode is a speed comparison: it always
        runs the model) and this transformers' cache hands out its tensors safely (``shares_cache_tensors``)."""
        offer = getattr(getattr(self, "runner", None), "shared_steps", None)
        if offer is None or not self.use_cache or not shares_cache_tensors(self.cache):
            return None
        return offer(self.lm)

    @torch.inference_mode()
    def _forward(self) -> torch.Tensor:
        """Run the model so that ``_logits`` is the distribution after ``all_ids``; returns it, (V,) float32.

        With the cache: feed only the tokens the cache does not hold yet (the whole prompt at prefill, one
        token per step) with an all-ones mask as long as the sequence. Without: recompute the whole sequence.
        When ``runner`` is set (a shared inference service's ``runner``), the model call and everything that
        reads or grows the cache run inside it, in the service's worker thread, so two calls on one cache
        never overlap even when a rerun abandons a wait.

        When the runner offers shared steps, the logits and cache after exactly these ids are first looked up
        there (before queueing, and again in the worker: students queued behind the first one find its result);
        found, they are adopted and no forward runs (``_reused``); computed, they are stored for the next student.
        """
        total = len(self.all_ids)
        shared = self._shared_steps()
        ids = tuple(self.all_ids)  # the script thread may not change all_ids while the call runs elsewhere
        call = ModelCall(self, ids, shared)
        runner = getattr(self, "runner", None)  # a stepper made before a code reload added the hook lacks it
        if shared is not None and not self._running:  # no call of ours in flight: the cache is ours to replace
            logits = call.adopt()
            if logits is not None:
                shared.tally(hits=1)
                self._logits, self._logits_len = logits, total
                return logits
        self._logits = call() if runner is None else runner(call)
        self._logits_len = total
        self._reused = call.reused
        return self._logits


def shares_cache_tensors(cache: DynamicCache) -> bool:
    """Whether ``cache``'s tensors may be handed to other caches by reference (the shared steps, a batched step).

    True for transformers 5's ``DynamicLayer`` (every layer of the models here): ``update`` grows a layer with
    ``torch.cat`` (a new tensor) and ``crop`` slices (a view), so a tensor, once made, is never written into.
    Another major version or layer type is not trusted (its steps are simply not shared);
    ``tests/core/test_shared_steps.py`` fails if the 5.x behaviour changes.
    """
    return _TRANSFORMERS_MAJOR == 5 and all(type(layer) is DynamicLayer for layer in cache.layers)


_TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])


def cache_layers(cache: DynamicCache) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Per layer (keys, values) of ``cache``, each (batch, kv_heads, T, head_dim): references, not copies."""
    return tuple((layer.keys, layer.values) for layer in cache.layers)


def cache_from_layers(config: Any, layers: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> DynamicCache:
    """A ``DynamicCache`` holding ``layers`` (per layer (keys, values), each (batch, kv_heads, T, head_dim)) by
    reference: what ``update`` would give after its first call, without copying.

    Sets the layer's ``keys`` / ``values`` after its own ``lazy_initialization`` (which records the device and
    dtype); only for caches ``shares_cache_tensors`` accepts.
    """
    cache = DynamicCache(config=config)
    if len(cache.layers) != len(layers) or not shares_cache_tensors(cache):
        raise ValueError(f"A cache of {len(cache.layers)} layers cannot take {len(layers)} layers by reference.")
    for layer, (keys, values) in zip(cache.layers, layers):
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
    return cache


class ModelCall:
    """One model call of a ``Stepper`` (prefill, decode step or catch-up), run where its runner runs it.

    Calling it runs the call alone; a shared inference service may instead run several decode steps of different
    steppers, each one token past a cache of the same length, as one forward (``run_together``): its queue reads
    ``batch_key`` (None: never batched) and ``tokens``.
    """

    def __init__(self, stepper: Stepper, ids: tuple[int, ...], shared: SharedSteps | None) -> None:
        self.stepper, self.ids, self.shared = stepper, ids, shared
        self.reused = False
        held = stepper.cache_length
        one_step = stepper.use_cache and held >= 1 and held == len(ids) - 1
        self.batch_key = ("decode step", id(stepper.lm.model), held) if one_step else None
        self.tokens = len(ids)

    def __call__(self) -> torch.Tensor:
        """Adopt the shared result, or run the model; returns the (V,) float32 logits after ``ids``."""
        self.stepper._running = True
        try:
            logits = self.adopt()
            if logits is not None:
                self.shared.tally(hits=1)
                return logits
            return self.compute()
        finally:
            self.stepper._running = False

    def adopt(self) -> torch.Tensor | None:
        """Take the shared logits and a cache of exactly ``ids`` when the store has them (marks ``reused``)."""
        found = None if self.shared is None else self.shared.get(self.ids)
        if found is None:
            return None
        self.stepper.cache = cache_from_layers(self.stepper.lm.model.config, found.layers)
        self.reused = self.stepper._reused = True
        return found.logits

    def compute(self) -> torch.Tensor:
        """Run the model for this call alone (as before there were shared steps); store the result when shared."""
        s, ids, total = self.stepper, self.ids, len(self.ids)
        extra = {"logits_to_keep": 1} if s._keep_last else {}
        mask = torch.ones(1, total, dtype=torch.long)  # (1, T) every token is real; no padding
        if s.use_cache:
            if s.cache_length >= total:  # cannot happen in normal use; realign after an interruption
                s._crop_cache(total - 1)
            new = torch.tensor([ids[s.cache_length :]])  # (1, T_new)
            out = s.lm.model(input_ids=new, attention_mask=mask, cache=s.cache, use_cache=True, **extra)
        else:
            full = torch.tensor([ids])  # (1, T) the whole sequence, every step
            out = s.lm.model(input_ids=full, attention_mask=mask, use_cache=False, **extra)
        logits = out.logits[0, -1, :].float()  # (V,) upcast once
        self._keep(logits)
        return logits

    def _keep(self, logits: torch.Tensor) -> None:
        """Store a computed result for the next stepper at these ids (when shared and the cache holds exactly them)."""
        self.reused = self.stepper._reused = False
        if self.shared is not None:
            self.shared.tally(misses=1)
            if self.stepper.cache_length == len(self.ids):
                self.shared.put(self.ids, Prefix(logits, cache_layers(self.stepper.cache)))

    @staticmethod
    @torch.inference_mode()
    def run_together(calls: Sequence[ModelCall]) -> list[torch.Tensor]:
        """Run the calls (equal ``batch_key``s) of different steppers as one forward; returns each one's (V,) logits.

        Each call first looks for its shared result; calls with equal ids are computed once (the others then find
        the stored result); the rest, each one token past a cache of the same length T, run as one forward over the
        caches stacked along the batch dimension (B, kv_heads, T, head_dim), no padding needed; each stepper then
        gets its own row of the grown cache and of the logits. Falls back to one call at a time when the calls no
        longer line up (a cache changed after queueing).
        """
        for call in calls:
            call.stepper._running = True
        try:
            results: list[torch.Tensor | None] = [None] * len(calls)
            rows: list[int] = []
            repeats: list[int] = []
            firsts: set[tuple[int, ...]] = set()
            for i, call in enumerate(calls):
                results[i] = call.adopt()
                if results[i] is not None:
                    call.shared.tally(hits=1)
                elif call.shared is not None and call.ids in firsts:
                    repeats.append(i)
                else:
                    firsts.add(call.ids)
                    rows.append(i)
            group = [calls[i] for i in rows]
            if len(group) > 1 and _line_up(group):
                for i, logits in zip(rows, _decode_rows(group)):
                    results[i] = logits
            else:
                for i in rows:
                    results[i] = calls[i].compute()
            for i in repeats:
                results[i] = calls[i].adopt()
                if results[i] is None:  # evicted already, or too big for the store: compute it
                    results[i] = calls[i].compute()
                else:
                    calls[i].shared.tally(hits=1)
            return results
        finally:
            for call in calls:
                call.stepper._running = False


def _line_up(calls: Sequence[ModelCall]) -> bool:
    """Whether the calls can share one forward: one model, distinct steppers with the cache on, each cache one token
    short of its ids and all of one length."""
    first = calls[0].stepper
    held = first.cache_length
    return (
        len({id(c.stepper) for c in calls}) == len(calls)
        and all(c.stepper.lm.model is first.lm.model and c.stepper.use_cache for c in calls)
        and all(c.stepper.cache_length == held == len(c.ids) - 1 for c in calls)
        and all(shares_cache_tensors(c.stepper.cache) for c in calls)
    )


def _decode_rows(calls: Sequence[ModelCall]) -> list[torch.Tensor]:
    """One forward for B decode steps: stack the B caches (each (1, kv_heads, T, head_dim)) into (B, kv_heads, T,
    head_dim), feed each row its new token, then split the grown cache and the logits back per stepper."""
    lm = calls[0].stepper.lm
    config = lm.model.config
    held = calls[0].stepper.cache_length
    per_layer = zip(*(cache_layers(c.stepper.cache) for c in calls))  # per layer: B (keys, values) pairs
    stacked = tuple(
        (torch.cat([k for k, _ in pairs], dim=0), torch.cat([v for _, v in pairs], dim=0))  # (B, H, T, D) each
        for pairs in per_layer
    )
    cache = cache_from_layers(config, stacked)
    new = torch.tensor([[c.ids[-1]] for c in calls])  # (B, 1) each row's new token
    mask = torch.ones(len(calls), held + 1, dtype=torch.long)  # (B, T + 1) no padding: every cache is T long
    extra = {"logits_to_keep": 1} if calls[0].stepper._keep_last else {}
    out = lm.model(input_ids=new, attention_mask=mask, cache=cache, use_cache=True, **extra)
    logits = out.logits[:, -1, :].float()  # (B, V)
    grown = cache_layers(cache)  # per layer (B, H, T + 1, D)
    results = []
    for b, call in enumerate(calls):
        own = tuple((k[b : b + 1].clone(), v[b : b + 1].clone()) for k, v in grown)  # (1, H, T + 1, D) each
        call.stepper.cache = cache_from_layers(config, own)
        row = logits[b].clone()  # (V,)
        call._keep(row)
        results.append(row)
    return results

"""The Stepper against model.generate (greedy, 64 new tokens), the KV cache's speed-up at 256 new tokens, and the
generation tree's beam step cost as the beam grows (one cache row per beam path, beside feeding the whole paths)."""

from __future__ import annotations

import statistics
import time

import torch

from benchmarks.common import Row, alternate
from core.generation import Stepper
from core.generation_tree import MAX_DEPTH, GenerationTree
from core.models import load_model

PROMPT = "The package left the regional hub this morning, and the carrier scan says the parcel was"
SHORT_TOKENS = 64
LONG_TOKENS = 256
BEAM_WIDTH = 3
BEAM_ROUNDS = 3


def _generate(lm, ids: list[int], n: int) -> list[int]:
    x = torch.tensor([ids])  # (1, T)
    with torch.inference_mode():
        out = lm.model.generate(
            x,
            attention_mask=torch.ones_like(x),
            do_sample=False,
            max_new_tokens=n,
            min_new_tokens=n,
            pad_token_id=lm.tokenizer.eos_token_id,
        )
    return out[0, len(ids) :].tolist()


def _stepper(lm, n: int, use_cache: bool = True) -> list[int]:
    stepper = Stepper(lm, PROMPT, temperature=0, max_new_tokens=n, use_cache=use_cache)
    stepper.eos_ids = frozenset()  # run the full n tokens, as min_new_tokens makes generate do
    stepper.run(n)
    return stepper.generated_ids


def _beam_step_seconds(lm, cached: bool) -> list[float]:
    """Wall seconds of each of MAX_DEPTH beam steps of a fresh tree (the first takes the prefill's children)."""
    tree = GenerationTree(lm, PROMPT, children=4, beam_width=BEAM_WIDTH)
    tree.beam_cache_enabled = cached  # False: each step feeds every beam path whole after the prompt's cache
    seconds = []
    for _ in range(MAX_DEPTH):
        started = time.perf_counter()
        tree.beam_step()
        seconds.append(time.perf_counter() - started)
    return seconds


def _beam_growth(lm) -> tuple[float, float, float, float]:
    """(last step / second step) with one cache row per beam and with whole paths, and their last steps' seconds;
    medians over BEAM_ROUNDS alternating rounds."""
    cached, whole = [], []
    _beam_step_seconds(lm, True)  # warm-up
    for _ in range(BEAM_ROUNDS):
        cached.append(_beam_step_seconds(lm, True))
        whole.append(_beam_step_seconds(lm, False))
    return (
        statistics.median(s[-1] / s[1] for s in cached),
        statistics.median(s[-1] / s[1] for s in whole),
        statistics.median(s[-1] for s in cached),
        statistics.median(s[-1] for s in whole),
    )


def run() -> list[Row]:
    # One torch thread while timing: on a shared two-core machine, two OpenMP threads competing with other
    # processes make every forward pass up to 10x slower and the ratios meaningless. Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _measure()
    finally:
        torch.set_num_threads(threads)


def _measure() -> list[Row]:
    lm = load_model()
    prompt_ids = Stepper(lm, PROMPT, temperature=0, max_new_tokens=1).all_ids
    same = _stepper(lm, SHORT_TOKENS) == _generate(lm, prompt_ids, SHORT_TOKENS)
    ours, reference = alternate(
        lambda: _stepper(lm, SHORT_TOKENS), lambda: _generate(lm, prompt_ids, SHORT_TOKENS), rounds=3
    )
    ratio = reference / ours  # (tokens/s of the stepper) / (tokens/s of generate) with the same token count
    # One run each (already warm): the no-cache run alone recomputes ~90k token positions.
    started = time.perf_counter()
    with_cache = _stepper(lm, LONG_TOKENS)
    cached = time.perf_counter() - started
    started = time.perf_counter()
    without_cache = _stepper(lm, LONG_TOKENS, use_cache=False)
    uncached = time.perf_counter() - started
    beam_growth, whole_growth, beam_last, whole_last = _beam_growth(lm)
    return [
        Row(
            f"stepper tok/s / generate tok/s (greedy, {SHORT_TOKENS} new tokens)",
            ratio,
            "x",
            ">= 0.9",
            ratio >= 0.9,
            f"stepper {SHORT_TOKENS / ours:.1f} tok/s, generate {SHORT_TOKENS / reference:.1f} tok/s (1 thread); "
            f"same tokens: {same}",
        ),
        Row(
            f"KV cache speed-up over no cache ({LONG_TOKENS} new tokens)",
            uncached / cached,
            "x",
            "report",
            None,
            f"cache {LONG_TOKENS / cached:.1f} tok/s, no cache {LONG_TOKENS / uncached:.1f} tok/s; "
            f"same tokens: {with_cache == without_cache}",
        ),
        Row(
            f"beam step cost, step {MAX_DEPTH} / step 2 (width {BEAM_WIDTH}, one cache row per beam path)",
            beam_growth,
            "x",
            "<= 1.25",
            beam_growth <= 1.25,
            f"last step {beam_last * 1000:.0f} ms; feeding the whole paths instead: {whole_growth:.2f}x, last step "
            f"{whole_last * 1000:.0f} ms (1 thread, medians of {BEAM_ROUNDS} alternating rounds)",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

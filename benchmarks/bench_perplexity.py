"""Perplexity: tokens per second of core.perplexity against a plain copy of the Hugging Face guide's loop.

Both score the same ~3,000-token text with the bundled model, window 1,024 and stride 512, without a start
token, alternating in one process. The guide's loop computes logits and the loss over every position of
every window; core.perplexity asks the model only for the logits of the positions each window scores. Both
call the same model object, so both get the same attention kernel (sdpa: neither asks for attention weights).
Three timed rounds each, alternating, best of three (about 2.5 minutes on 2 cores); NTE_BENCH_ROUNDS=N changes N.
"""

from __future__ import annotations

import math
import os
import time

import torch

from benchmarks.common import Row

MAX_LENGTH = 1024
STRIDE = 512
TARGET_TOKENS = 3000


def bench_text(tokenizer) -> str:
    """About 3,000 tokens from the example texts: fluent prose, code, French and shuffled words."""
    from core.perplexity_examples import CODE_SNIPPET, FLUENT, NON_ENGLISH, shuffled_words

    parts, seed = [], 0
    while len(tokenizer("\n\n".join(parts), add_special_tokens=False)["input_ids"]) < TARGET_TOKENS:
        parts += [FLUENT, CODE_SNIPPET, NON_ENGLISH, shuffled_words(FLUENT, seed)]
        seed += 1
    return "\n\n".join(parts)


def guide_loop(model, input_ids: torch.Tensor) -> float:
    """The guide's loop as published ("Perplexity of fixed-length models"), on the CPU."""
    seq_len = input_ids.size(1)
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    for begin_loc in range(0, seq_len, STRIDE):
        end_loc = min(begin_loc + MAX_LENGTH, seq_len)
        trg_len = end_loc - prev_end_loc
        ids = input_ids[:, begin_loc:end_loc]
        target_ids = ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            neg_log_likelihood = model(ids, labels=target_ids).loss
        num_valid_tokens = (target_ids != -100).sum().item()
        num_loss_tokens = num_valid_tokens - target_ids.size(0)
        nll_sum += float(neg_log_likelihood) * num_loss_tokens
        n_tokens += num_loss_tokens
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return math.exp(nll_sum / n_tokens)


def run() -> list[Row]:
    from core.models import load_model, set_torch_threads
    from core.perplexity import perplexity
    from ui.settings import torch_threads

    set_torch_threads(torch_threads())  # as app.py does: one intra-op thread unless NTE_TORCH_THREADS says otherwise
    lm = load_model()
    text = bench_text(lm.tokenizer)
    input_ids = torch.tensor([lm.tokenizer(text, add_special_tokens=False)["input_ids"]])
    n = input_ids.size(1)
    # warm up both on a short prefix, then time each once per round, alternating
    perplexity(lm, text[:400], max_length=MAX_LENGTH, stride=STRIDE, add_bos=False)
    guide_loop(lm.model, input_ids[:, :100])
    # CPU seconds of this process (all its threads) as well as wall time: on a machine shared by several
    # busy processes, wall time mostly measures the neighbours; CPU time measures the work each side does.
    ours_s, guide_s, ours_wall, guide_wall, ours_ppl, guide_ppl = [], [], [], [], 0.0, 0.0
    for _ in range(int(os.environ.get("NTE_BENCH_ROUNDS", "3"))):
        wall, cpu = time.perf_counter(), time.process_time()
        ours_ppl = perplexity(
            lm, text, max_length=MAX_LENGTH, stride=STRIDE, add_bos=False, max_chars=len(text)
        ).perplexity  # the guide's whole text, past the page's 4,000-character cap
        ours_s.append(time.process_time() - cpu)
        ours_wall.append(time.perf_counter() - wall)
        wall, cpu = time.perf_counter(), time.process_time()
        guide_ppl = guide_loop(lm.model, input_ids)
        guide_s.append(time.process_time() - cpu)
        guide_wall.append(time.perf_counter() - wall)
    ours_tps, guide_tps = n / min(ours_s), n / min(guide_s)
    ratio = ours_tps / guide_tps
    wall_ratio = min(guide_wall) / min(ours_wall)
    return [
        Row(
            f"tokens/s ratio (CPU time), core.perplexity / guide loop ({n:,} tok)",
            ratio,
            "x",
            ">= 1.0",
            ratio >= 1.0,
            f"ours {ours_tps:,.0f}, guide {guide_tps:,.0f} tok/s per CPU-s; window {MAX_LENGTH}, stride {STRIDE}",
        ),
        Row(
            "tokens/s ratio (wall clock), core.perplexity / guide loop",
            wall_ratio,
            "x",
            note=f"ours {n / min(ours_wall):,.0f} tok/s, guide {n / min(guide_wall):,.0f} tok/s (noisy when shared)",
        ),
        Row(
            "perplexity, core.perplexity vs guide loop (relative difference)",
            abs(ours_ppl / guide_ppl - 1),
            "",
            note=f"{ours_ppl:.3f} vs {guide_ppl:.3f}; the guide weights later windows by scored - 1 tokens",
        ),
        Row(
            "full-vocabulary logits held per window, ours vs guide",
            (STRIDE + 1) / MAX_LENGTH,
            "x",
            note=f"{(STRIDE + 1) * lm.facts.vocab_size * 4 / 2**20:.0f} MB vs "
            f"{MAX_LENGTH * lm.facts.vocab_size * 4 / 2**20:.0f} MB of float32 logits",
        ),
    ]

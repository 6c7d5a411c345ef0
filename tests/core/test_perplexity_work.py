"""core.perplexity's bounds on work and memory: the tokens a run feeds the model are known before it runs and can be
capped (the stride is raised to fit, or the run is refused), and logits exist a chunk of positions at a time."""

from __future__ import annotations

import functools

import pytest
import torch

from core.perplexity import (
    SCORE_CHUNK,
    PerplexityError,
    TooMuchWork,
    WindowRequest,
    direct_score_windows,
    final_states,
    perplexity,
    score_positions,
    sliding_windows,
    smallest_stride,
    tokens_read,
)
from core.perplexity_examples import EXAMPLES, FLUENT
from core.serving.inference import window_scores
from tests.core.vocab_blocks import positions, vocab_blocks

LONG_TEXT = " ".join([FLUENT, EXAMPLES["Code snippet"], EXAMPLES["Non-English sentence (French)"]])


# ------------------------------------------------------------------------------------------- the cost of a run


@pytest.mark.parametrize("seq_len", [2, 3, 5, 17, 64, 65, 200, 1183])
@pytest.mark.parametrize("max_length", [2, 3, 16, 64, 256, 1024])
def test_tokens_read_is_the_sum_of_the_windows_lengths(seq_len, max_length):
    for stride in sorted(
        {1, 2, 3, max_length // 3, max_length // 2, max_length - 1, max_length} & set(range(1, max_length + 1))
    ):
        windows = sliding_windows(seq_len, max_length, stride)
        assert tokens_read(seq_len, max_length, stride) == sum(w.end - w.begin for w in windows)


def test_stride_one_reads_a_window_per_token():
    # the link: window 256, stride 1 over a 1,183-token text reads 928 windows of 256 tokens
    assert tokens_read(1183, 256, 1) == 928 * 256
    assert tokens_read(1183, 1024, 512) == 1024 + 1183 - 512  # the defaults: two windows


@pytest.mark.parametrize("seq_len, max_length", [(40, 8), (200, 16), (1183, 256), (1183, 1024), (9, 9)])
def test_smallest_stride_is_the_smallest_that_fits(seq_len, max_length):
    for budget in (1, seq_len - 1, seq_len, seq_len + 5, 2 * seq_len, 5 * seq_len, 10**9):
        fits = [s for s in range(1, max_length + 1) if tokens_read(seq_len, max_length, s) <= budget]
        assert smallest_stride(seq_len, max_length, 1, budget) == (min(fits) if fits else None)
    assert smallest_stride(seq_len, max_length, max_length, 10**9) == max_length  # never lowered


def count_tokens_fed(lm, monkeypatch) -> list[int]:
    """Spy on the model's base (or whole model): the number of tokens each call reads."""
    fed = []
    base = getattr(lm.model, lm.model.base_model_prefix)
    forward = base.forward

    @functools.wraps(forward)
    def spy(*args, **kwargs):
        fed.append(int(kwargs["input_ids"].numel()))
        return forward(*args, **kwargs)

    monkeypatch.setattr(base, "forward", spy)
    return fed


def test_a_run_over_the_budget_raises_its_stride_to_the_smallest_that_fits(tiny_gpt2_lm, monkeypatch):
    fed = count_tokens_fed(tiny_gpt2_lm, monkeypatch)
    result = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=1, max_tokens_read=1_000)
    n = len(result.token_ids) + 1  # with the start token
    assert tokens_read(n, 64, 1) > 1_000  # stride 1 would read far more
    assert result.stride == smallest_stride(n, 64, 1, 1_000) and result.asked_stride == 1
    assert sum(fed) == result.tokens_read == tokens_read(n, 64, result.stride) <= 1_000
    assert result.scored_tokens == n - 1  # every token is still scored once
    fed.clear()
    asked = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=result.stride, max_tokens_read=1_000)
    assert asked.asked_stride is None and asked.stride == result.stride
    assert asked.perplexity == pytest.approx(result.perplexity, rel=1e-9)


def test_a_run_within_the_budget_is_unchanged(tiny_gpt2_lm):
    free = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=16)
    bounded = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=16, max_tokens_read=free.tokens_read)
    assert bounded.stride == 16 and bounded.asked_stride is None
    assert bounded.perplexity == free.perplexity


def test_a_text_longer_than_the_budget_is_refused_before_any_model_call(tiny_gpt2_lm, monkeypatch):
    fed = count_tokens_fed(tiny_gpt2_lm, monkeypatch)
    n = len(tiny_gpt2_lm.tokenizer(LONG_TEXT, add_special_tokens=False)["input_ids"]) + 1
    with pytest.raises(TooMuchWork, match=f"at most {n - 1:,} per scoring") as refused:
        perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=8, max_tokens_read=n - 1)
    assert isinstance(refused.value, PerplexityError) and f"{n:,} tokens" in str(refused.value)
    assert fed == []


# --------------------------------------------------------------------------------- logits a chunk at a time


@pytest.mark.parametrize(
    "fixture",
    ["tiny_gpt2_lm", "tiny_llama_lm", pytest.param("bundled_lm", marks=pytest.mark.slow)],  # slow: make test only
)
def test_a_long_window_builds_at_most_a_chunk_of_logits_at_a_time(fixture, request):
    lm = request.getfixturevalue(fixture)
    with vocab_blocks(lm.model.config.vocab_size) as shapes:
        result = perplexity(lm, LONG_TEXT * 2, max_length=256, stride=128, top_predictions=3)
    assert result.windows >= 2 and result.scored_tokens > SCORE_CHUNK
    assert shapes and max(positions(s) for s in shapes) <= SCORE_CHUNK


def test_the_inference_services_batched_windows_build_a_chunk_at_a_time(tiny_gpt2_lm):
    ids = torch.tensor(tiny_gpt2_lm.tokenizer(LONG_TEXT * 3, add_special_tokens=False)["input_ids"])
    requests = [WindowRequest(ids[i : i + 256], 200, 2) for i in (0, 60, 140)]
    assert {len(r.ids) for r in requests} == {256}
    with vocab_blocks(tiny_gpt2_lm.model.config.vocab_size) as shapes:
        batched = window_scores(tiny_gpt2_lm, requests)
    assert shapes and max(positions(s) for s in shapes) <= SCORE_CHUNK
    alone = list(direct_score_windows(tiny_gpt2_lm, requests))
    for a, b in zip(batched, alone):
        assert torch.allclose(a.nll, b.nll, atol=1e-5) and torch.equal(a.top_ids, b.top_ids)


@pytest.mark.parametrize("chunk", [1, 7, 128, 10_000])
def test_chunked_scores_equal_one_whole_block(bundled_lm, chunk):
    """Log-softmax, rank and top-k are per position, so any chunk size gives the whole block's numbers."""
    ids = torch.tensor(bundled_lm.tokenizer(FLUENT, add_special_tokens=False)["input_ids"])  # (T,)
    with torch.inference_mode():
        logits = bundled_lm.model(ids[None, :]).logits[0, :-1].float()  # (T - 1, V)
        targets = ids[1:]
        logp = torch.log_softmax(logits, dim=-1)  # (T - 1, V) the whole block, as before chunking
        true = logp.gather(1, targets[:, None])
        score = score_positions(logits, lambda rows, out: out.resize_(rows.shape).copy_(rows), targets, 4, chunk)
    assert torch.equal(score.nll, -true[:, 0].double())
    assert torch.equal(score.ranks, (logp > true).sum(-1) + 1)
    top = torch.topk(logp, 4, dim=-1)
    assert torch.equal(score.top_ids, top.indices) and torch.equal(score.top_probs, torch.exp(top.values))


def test_hidden_states_through_the_head_equal_the_models_logits(bundled_lm, tiny_gpt2_lm, tiny_llama_lm):
    for lm in (bundled_lm, tiny_gpt2_lm, tiny_llama_lm):
        ids = torch.tensor([lm.tokenizer(FLUENT, add_special_tokens=False)["input_ids"]])  # (1, T)
        with torch.inference_mode():
            states, project = final_states(lm, ids, 20)  # (1, 20, D)
            assert states.shape == (1, 20, lm.model.config.hidden_size)  # hidden states, not logits
            built = torch.empty(0)
            project(states[0], built)  # (20, V)
            own = lm.model(ids).logits[0, -20:].float()  # (20, V)
        assert torch.allclose(built, own, atol=1e-4, rtol=1e-5), lm.name

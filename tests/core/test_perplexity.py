"""core.perplexity: agrees with the model's own loss, with an independent copy of the Hugging Face guide's
sliding-window loop, with a uniform model (ln V), and with seed 001's worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core import seed_examples as seed
from core.perplexity import (
    MAX_TEXT_CHARS,
    PerplexityError,
    cross_entropy_from_logits,
    perplexity,
    perplexity_from_probs,
    sliding_windows,
    start_token_id,
    teacher_forcing_rows,
    teacher_forcing_shift,
)
from core.perplexity_examples import EXAMPLES, FLUENT, SHUFFLED
from tests.core.vocab_blocks import positions, vocab_blocks

LONG_TEXT = " ".join([FLUENT, EXAMPLES["Code snippet"], EXAMPLES["Non-English sentence (French)"]])


def guide_loop(lm, text: str, max_length: int, stride: int) -> float:
    """The guide's loop, written out independently: mask context labels with -100, weight by scored tokens."""
    input_ids = torch.tensor([lm.tokenizer(text, add_special_tokens=False)["input_ids"]])
    seq_len = input_ids.size(1)
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + max_length, seq_len)
        trg_len = end_loc - prev_end_loc
        ids = input_ids[:, begin_loc:end_loc]
        target_ids = ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.inference_mode():
            loss = lm.model(ids, labels=target_ids).loss
        # labels are shifted inside the model: the scored tokens are the valid labels after the first
        num_loss_tokens = int((target_ids[:, 1:] != -100).sum())
        nll_sum += float(loss) * num_loss_tokens
        n_tokens += num_loss_tokens
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return math.exp(nll_sum / n_tokens)


# ---------------------------------------------------------------------------------------------- must-holds


@pytest.mark.parametrize("text", [FLUENT, EXAMPLES["Code snippet"]])
def test_one_window_equals_exp_of_model_loss(bundled_lm, text):
    result = perplexity(bundled_lm, text, add_bos=False)
    ids = torch.tensor([bundled_lm.tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        expected = math.exp(float(bundled_lm.model(ids, labels=ids).loss))
    assert result.windows == 1
    assert result.scored_tokens == ids.shape[1] - 1
    assert result.perplexity == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("max_length,stride", [(48, 16), (64, 40), (32, 32)])
def test_strided_equals_independent_guide_loop(tiny_gpt2_lm, max_length, stride):
    n = len(tiny_gpt2_lm.tokenizer(LONG_TEXT, add_special_tokens=False)["input_ids"])
    assert n > 2 * max_length
    result = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=max_length, stride=stride, add_bos=False)
    assert result.windows > 2
    assert result.perplexity == pytest.approx(guide_loop(tiny_gpt2_lm, LONG_TEXT, max_length, stride), rel=1e-5)


def test_strided_equals_guide_loop_on_the_real_model(bundled_lm):
    result = perplexity(bundled_lm, LONG_TEXT, max_length=64, stride=32, add_bos=False)
    assert result.windows > 3
    assert result.perplexity == pytest.approx(guide_loop(bundled_lm, LONG_TEXT, 64, 32), rel=1e-5)


def test_grouped_query_model_strided_equals_guide_loop(tiny_llama_lm):
    result = perplexity(tiny_llama_lm, LONG_TEXT, max_length=50, stride=20, add_bos=False)
    assert result.perplexity == pytest.approx(guide_loop(tiny_llama_lm, LONG_TEXT, 50, 20), rel=1e-5)


def test_all_equal_logits_give_ln_v_and_perplexity_v(bundled_lm):
    from transformers import GPT2Config, GPT2LMHeadModel

    from core.models import wrap_model

    vocab = len(bundled_lm.tokenizer)
    config = GPT2Config(
        n_layer=1,
        n_head=2,
        n_embd=16,
        n_positions=128,
        vocab_size=vocab,
        tie_word_embeddings=False,
        attn_implementation="eager",
    )
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every logit is 0 at every position: a uniform next-token guess
    lm = wrap_model(model, bundled_lm.tokenizer, "uniform-gpt2", "zero lm_head (test)")
    result = perplexity(lm, FLUENT, max_length=32, stride=16, add_bos=True)
    assert np.allclose(result.nll, math.log(vocab), rtol=1e-6)
    assert result.perplexity == pytest.approx(vocab, rel=1e-5)
    assert result.bits_per_token == pytest.approx(math.log2(vocab), rel=1e-6)
    assert np.all(result.ranks == 1)  # nothing is strictly more likely than the true token


def test_seed_perplexity_example():
    worked = perplexity_from_probs(seed.PERPLEXITY_TRUE_TOKEN_PROBS)
    assert np.round(worked.per_position_loss, 4).tolist() == [0.6931, 0.6931, 0.6931, 2.0794]
    assert round(worked.mean_loss, 4) == seed.PERPLEXITY_EXPECTED_MEAN_LOSS
    assert round(worked.perplexity, 4) == seed.PERPLEXITY_EXPECTED
    assert round(1 / worked.geometric_mean, 4) == seed.PERPLEXITY_EXPECTED


def test_seed_teacher_forcing_example():
    inputs, targets = teacher_forcing_shift(range(len(seed.TEACHER_FORCING_VOCAB)))
    assert inputs == [0, 1, 2, 3] and targets == list(seed.TEACHER_FORCING_TARGETS)
    ce = cross_entropy_from_logits(seed.TEACHER_FORCING_LOGITS, targets)
    assert np.round(ce.true_token_probs, 3).tolist() == list(seed.TEACHER_FORCING_EXPECTED_PROBS)
    assert round(ce.mean_loss, 3) == seed.TEACHER_FORCING_EXPECTED_MEAN_LOSS
    assert np.allclose(ce.probs.sum(axis=1), 1.0)


def test_perplexity_from_probs_rejects_impossible_probabilities():
    with pytest.raises(PerplexityError):
        perplexity_from_probs([0.5, 0.0])
    with pytest.raises(PerplexityError):
        perplexity_from_probs([])


# --------------------------------------------------------------------------------------- windows and BOS


@pytest.mark.parametrize("seq_len,max_length,stride", [(100, 30, 10), (7, 30, 10), (65, 16, 15), (31, 30, 29)])
def test_overlapping_windows_score_every_token_but_the_first_exactly_once(seq_len, max_length, stride):
    windows = sliding_windows(seq_len, max_length, stride)
    scored = [t for w in windows for t in range(w.score_from, w.end)]
    assert sorted(scored) == list(range(1, seq_len))
    assert all(w.end - w.begin <= max_length and w.begin < w.score_from for w in windows)


def test_window_arguments_are_checked():
    with pytest.raises(PerplexityError, match="stride"):
        sliding_windows(100, 16, 17)
    with pytest.raises(PerplexityError, match="at least 2"):
        sliding_windows(100, 1, 1)


def test_start_token_is_endoftext_for_the_bundled_model(bundled_lm):
    tok = bundled_lm.tokenizer
    assert tok("Hello")["input_ids"][0] != tok.bos_token_id  # the tokenizer adds no BOS by itself
    assert start_token_id(tok) == tok.convert_tokens_to_ids("<|endoftext|>") == 0


def test_start_token_prefers_a_bos_the_tokenizer_adds_itself():
    class AddsBos:
        bos_token_id, eos_token_id = 7, 8

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": [7, 42] if add_special_tokens else [42]}

        def get_vocab(self):
            return {"<|endoftext|>": 3}

    assert start_token_id(AddsBos()) == 7


def test_start_token_looks_up_one_token_not_the_whole_vocabulary(bundled_lm, monkeypatch):
    """Perplexity asks for the start token on every text: copying the 49,152-entry vocabulary each time was waste."""
    tok = bundled_lm.tokenizer
    copies = []
    whole = tok.get_vocab
    monkeypatch.setattr(tok, "get_vocab", lambda: copies.append(1) or whole())
    assert [start_token_id(tok) for _ in range(3)] == [0, 0, 0]
    assert copies == []


def test_start_token_of_a_vocabulary_without_endoftext_is_its_bos():
    from core.tiny_tokenizers import make_tokenizer

    tok = make_tokenizer("hello world")  # a missing token converts to <unk>: that must not count as found
    assert "<|endoftext|>" not in tok.get_vocab() and start_token_id(tok) == tok.bos_token_id


def test_start_token_scores_the_first_token(bundled_lm):
    text = "Paris is the capital of France."
    with_bos = perplexity(bundled_lm, text, add_bos=True)
    without = perplexity(bundled_lm, text, add_bos=False)
    assert with_bos.scored_tokens == without.scored_tokens + 1 == len(with_bos.tokens)
    assert with_bos.start_token == "<|endoftext|>" and without.start_token is None
    ids = bundled_lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logp = torch.log_softmax(bundled_lm.model(torch.tensor([[0] + ids])).logits[0, 0].float(), -1)
    assert with_bos.nll[0] == pytest.approx(-float(logp[ids[0]]), rel=1e-5)


def test_teacher_forcing_rows_pair_each_input_with_the_next_token(bundled_lm):
    result = perplexity(bundled_lm, "The package left the hub.", add_bos=True)
    rows = teacher_forcing_rows(result, 4)
    assert rows[0]["input token (shifted right)"] == "<|endoftext|>"
    assert [r["target (shifted left)"] for r in rows] == result.tokens[:4]
    assert [r["input token (shifted right)"] for r in rows[1:]] == result.tokens[:3]
    assert rows[2]["loss -ln p"] == pytest.approx(result.nll[2])


# ----------------------------------------------------------------------------------- result contents


def test_ranks_top_predictions_and_derived_measures(tiny_llama_lm):
    result = perplexity(tiny_llama_lm, FLUENT, top_predictions=5, max_length=40, stride=20)
    s = result.scored_tokens
    assert result.top_ids.shape == (s, 5) and result.top_probs.shape == (s, 5)
    assert np.all(np.diff(result.top_probs, axis=1) <= 1e-7)  # most likely first
    true_ids = result.token_ids[result.first_scored :]
    is_top = result.top_ids[:, 0] == true_ids
    assert np.array_equal(is_top, result.ranks == 1)
    assert np.all(result.top_probs[:, 0] >= result.probs - 1e-6)
    assert result.bits_per_byte == pytest.approx(result.total_nll / math.log(2) / len(FLUENT.encode()))
    assert result.word_perplexity == pytest.approx(math.exp(result.total_nll / len(FLUENT.split())))
    rows = result.rows()
    assert len(rows) == s and rows[3]["surprisal_nats"] == pytest.approx(result.nll[3])
    assert rows[0]["top_predictions"].count("%") == 5


def test_progress_reports_each_window(tiny_gpt2_lm):
    seen = []
    result = perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=32, progress=seen.append)
    assert len(seen) == result.windows and seen == sorted(seen) and seen[-1] == 1.0


def test_never_more_than_one_window_of_logits(tiny_gpt2_lm):
    """Logits are built only for the positions a window scores (at most stride rows after the first window)."""
    with vocab_blocks(tiny_gpt2_lm.model.config.vocab_size) as shapes:
        perplexity(tiny_gpt2_lm, LONG_TEXT, max_length=64, stride=16, add_bos=False)
    assert len(shapes) > 3
    assert max(positions(s) for s in shapes) <= 63  # the first window scores 63 tokens, the others 16 each


def test_more_overlap_gives_lower_perplexity_on_the_real_model(bundled_lm):
    disjoint = perplexity(bundled_lm, LONG_TEXT, max_length=48, stride=48, add_bos=False)
    overlapping = perplexity(bundled_lm, LONG_TEXT, max_length=48, stride=16, add_bos=False)
    assert overlapping.perplexity < disjoint.perplexity


def test_fluent_text_is_less_surprising_than_its_shuffled_words(bundled_lm):
    assert sorted(FLUENT.split()) == sorted(SHUFFLED.split()) and FLUENT != SHUFFLED
    fluent = perplexity(bundled_lm, FLUENT)
    shuffled = perplexity(bundled_lm, SHUFFLED)
    noise = perplexity(bundled_lm, EXAMPLES["Random characters"])
    assert fluent.perplexity < shuffled.perplexity
    assert fluent.bits_per_byte < noise.bits_per_byte


# ------------------------------------------------------------------------------------------- bad input


def test_bad_input_gives_clear_errors(tiny_gpt2_lm):
    with pytest.raises(PerplexityError, match="nothing to score"):
        perplexity(tiny_gpt2_lm, "   \n ")
    with pytest.raises(PerplexityError, match="undefined"):
        perplexity(tiny_gpt2_lm, "Hello", add_bos=False)
    assert perplexity(tiny_gpt2_lm, "Hello", add_bos=True).scored_tokens == 1
    with pytest.raises(PerplexityError, match=f"{MAX_TEXT_CHARS:,}"):
        perplexity(tiny_gpt2_lm, "a" * 1_000_000)
    with pytest.raises(PerplexityError, match="context"):
        perplexity(tiny_gpt2_lm, FLUENT, max_length=10_000)


def test_uploads_must_be_utf8_text():
    from core.perplexity import decode_text_file

    assert decode_text_file("Le colis est arrivé.".encode()) == "Le colis est arrivé."
    assert decode_text_file(b"\xef\xbb\xbfwith a BOM") == "with a BOM"
    with pytest.raises(PerplexityError, match="binary"):
        decode_text_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(PerplexityError, match="not UTF-8"):
        decode_text_file("café".encode("latin-1"))
    with pytest.raises(PerplexityError, match="MB"):
        decode_text_file(b"a" * 1_000_000)
    with pytest.raises(PerplexityError, match="nothing to score"):
        decode_text_file(b"  \n")

"""next_token_distribution on a tiny random GPT-2 and on the real bundled model."""

import math

import pytest
import torch

from core.entropy import entropy_bits
from core.next_token import next_token_distribution
from core.prompt import MAX_PROMPT_TOKENS
from core.text import PromptError, clean_prompt, visible_text


def test_distribution_is_the_full_vocabulary_softmax_of_the_last_position(tiny_gpt2_lm):
    text = "Hello there, general"
    dist = next_token_distribution(tiny_gpt2_lm, text)
    ids = tiny_gpt2_lm.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.inference_mode():
        expected = tiny_gpt2_lm.model(ids).logits[0, -1].float()
    assert torch.allclose(dist.logits, expected, atol=1e-5)
    assert dist.probs.shape == (len(tiny_gpt2_lm.tokenizer),)
    assert abs(float(dist.probs.sum()) - 1.0) < 1e-5
    rows = dist.top_rows(10)
    assert [r.rank for r in rows] == list(range(1, 11))
    assert all(a.probability >= b.probability for a, b in zip(rows, rows[1:]))
    assert abs(sum(r.probability for r in rows) + dist.other_mass(10) - 1.0) < 1e-5
    assert dist.rank_of(rows[3].token_id) == 4


def test_entropy_and_effective_choices():
    assert entropy_bits(torch.tensor([0.5, 0.5])) == pytest.approx(1.0)
    assert entropy_bits(torch.tensor([1.0, 0.0, 0.0])) == 0.0
    uniform = torch.full((1024,), 1 / 1024)
    assert entropy_bits(uniform) == pytest.approx(10.0)


def test_real_model_says_paris(bundled_lm):
    dist = next_token_distribution(bundled_lm, "The capital of France is")
    top = dist.top_rows(1)[0]
    assert dist.raw_text(top.token_id) == " Paris"
    assert top.token == "␣Paris"
    assert 0.6 < top.probability < 0.9  # about 77% for the bundled Q4_1 weights
    assert dist.vocab_size == 49152


def test_long_prompt_keeps_the_end(tiny_gpt2_lm):
    text = "word " * (MAX_PROMPT_TOKENS + 500)
    dist = next_token_distribution(tiny_gpt2_lm, text, max_tokens=100)
    assert len(dist.prompt_ids) == 100 and dist.dropped_tokens > 0
    full = tiny_gpt2_lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert dist.prompt_ids == full[-100:]


@pytest.mark.parametrize("text", ["", "   \n\t ", None])
def test_empty_prompts_are_refused_with_a_message(text, tiny_gpt2_lm):
    with pytest.raises(PromptError, match="Type a prompt"):
        next_token_distribution(tiny_gpt2_lm, text)


@pytest.mark.parametrize(
    "text",
    [
        "emoji 🎉🦜",
        "東京は日本の首都",
        "مرحبا بالعالم",
        "zero\u200bwidth",
        "<script>alert(1)</script>",
        "lone \ud800 surrogate",
    ],
)
def test_odd_unicode_gives_a_distribution(text, tiny_gpt2_lm):
    dist = next_token_distribution(tiny_gpt2_lm, text)
    assert math.isfinite(dist.entropy_bits)
    assert all(isinstance(r.token, str) and r.token for r in dist.top_rows(5))


@pytest.mark.parametrize("text", ["ctrl\x07\x1b[31m", "nul\x00byte", "\u202eevil"])
def test_control_characters_are_refused_with_a_message(text, tiny_gpt2_lm):
    with pytest.raises(PromptError, match="control"):
        next_token_distribution(tiny_gpt2_lm, text)


def test_clean_prompt_and_visible_text():
    assert clean_prompt("a\u200bb") == "a\u200bb"
    with pytest.raises(PromptError, match="limit"):
        clean_prompt("x" * 20_001)
    assert visible_text(" a\nb\t\u200b") == "␣a↵b⇥<U+200B>"

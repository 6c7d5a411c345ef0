"""The count-based n-gram model: seed 001's bigram numbers, smoothing, generation, perplexity, bad corpora."""

import math

import numpy as np
import pytest

from core.ngram import (
    BOS,
    EOS,
    UNK,
    CorpusError,
    corpus_notes,
    count_ngrams,
    generate,
    neural_perplexity,
    pad,
    score_sentence,
    split_corpus,
    split_sentence,
)
from core.seed_examples import BIGRAM_EXPECTED, PERPLEXITY_EXPECTED, TRACKING_MESSAGES

CORPUS = "\n".join(TRACKING_MESSAGES)


@pytest.fixture
def bigram():
    return count_ngrams(split_corpus(CORPUS), 2)


def test_seed_bigram_numbers(bigram):
    dist = bigram.distribution(("left",))
    for word, expected in BIGRAM_EXPECTED.items():
        assert round(dist.prob(word), 3) == round(expected, 3), word
    assert dist.prob("depot") == 0.0  # unseen destination, as the seed prints
    assert dist.total == 6
    assert [t for t, _, _ in dist.ranked()] == ["warehouse", "hub", "carrier"]


def test_padding_matches_the_seed():
    assert pad(["package", "left", "hub"], 2) == [BOS, "package", "left", "hub", EOS]
    assert pad(["a"], 4) == [BOS, BOS, BOS, "a", EOS]
    assert pad(["a"], 1) == ["a", EOS]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [0.01, 0.5, 1.0, 3.0])
def test_smoothed_distributions_sum_to_one(n, k):
    model = count_ngrams(split_corpus(CORPUS), n)
    for context, _ in model.contexts():
        assert model.distribution(context, k).probs.sum() == pytest.approx(1.0, abs=1e-12)
    if n == 1:
        return  # a unigram has one context, always seen
    unseen = tuple(["nowhere"] * (n - 1))
    dist = model.distribution(unseen, k)
    assert dist.probs.sum() == pytest.approx(1.0) and not dist.seen
    assert np.allclose(dist.probs, 1 / len(model.vocab))  # no evidence: smoothing alone -> uniform


def test_unsmoothed_rows_sum_to_one_and_unseen_context_is_undefined(bigram):
    for context, _ in bigram.contexts():
        assert bigram.distribution(context).probs.sum() == pytest.approx(1.0)
    dist = bigram.distribution(("depot",))
    assert not dist.defined and dist.probs.sum() == 0.0


def test_smoothing_moves_mass_to_unseen_pairs(bigram):
    raw, smooth = bigram.distribution(("left",)), bigram.distribution(("left",), 1.0)
    v = len(bigram.vocab)
    assert smooth.prob("warehouse") == pytest.approx((3 + 1) / (6 + v))
    assert smooth.prob("depot") == pytest.approx(1 / (6 + v)) and raw.prob("depot") == 0.0
    assert smooth.prob("warehouse") < raw.prob("warehouse")
    assert UNK in bigram.vocab and BOS not in bigram.vocab


def test_context_of_pads_and_cuts():
    model = count_ngrams(split_corpus(CORPUS), 3)
    assert model.context_of([]) == (BOS, BOS)
    assert model.context_of(["package"]) == (BOS, "package")
    assert model.context_of(["a", "b", "c"]) == ("b", "c")
    with pytest.raises(ValueError, match="2 words"):
        model.distribution(("left",))


def test_table_counts_every_event(bigram):
    rows = bigram.table()
    assert sum(r[2] for r in rows) == bigram.events == sum(len(s) + 1 for s in split_corpus(CORPUS))
    assert ((BOS,), "package", 2, pytest.approx(2 / 6)) in [(r[0], r[1], r[2], r[3]) for r in rows]


def test_generation_greedy_and_seeded(bigram):
    assert generate(bigram) == ["package", "left", "warehouse", EOS]  # the most frequent path
    a = generate(bigram, greedy=False, seed=7, max_words=30)
    assert a == generate(bigram, greedy=False, seed=7, max_words=30)
    draws = {tuple(generate(bigram, greedy=False, seed=s)) for s in range(30)}
    assert len(draws) > 1
    for words in draws:  # unsmoothed: every generated pair was seen in the corpus
        tokens = [BOS, *words]
        for prev, cur in zip(tokens, tokens[1:]):
            assert bigram.distribution((prev,)).prob(cur) > 0
    assert UNK not in generate(bigram, greedy=False, seed=3, k=5.0, max_words=50)
    assert len(generate(bigram, greedy=False, seed=3, k=5.0, max_words=5)) <= 5


def test_perplexity_by_hand_and_unseen(bigram):
    score = score_sentence(bigram, ["order", "left", "warehouse"])
    expected = np.array([2 / 6, 1.0, 3 / 6, 1.0])
    assert np.allclose(score.probs, expected)
    assert score.perplexity == pytest.approx(math.exp(-np.log(expected).mean()))
    unseen = score_sentence(bigram, ["order", "left", "depot"])
    assert unseen.perplexity == math.inf and unseen.zero_tokens == ["depot", EOS]
    assert math.isfinite(score_sentence(bigram, ["order", "left", "depot"], k=0.5).perplexity)


def test_perplexity_matches_seed_formula():
    # Seed 001: true-token probabilities 0.5, 0.5, 0.5, 0.125 -> perplexity 2.8284. Build a corpus that gives them.
    model = count_ngrams([["a", "b"], ["a", "c"], ["d"], ["d"], ["d"], ["d"], ["d"], ["d"], ["b"], ["b"]], 1)
    # unigram counts: a2 b3 c1 d6 eos10 = 22; pick a sentence whose probs are checkable by hand
    score = score_sentence(model, ["d"], include_eos=False)
    assert score.probs[0] == pytest.approx(6 / 22)
    fake = type(score)(("x",) * 4, ((),) * 4, np.array([0.5, 0.5, 0.5, 0.125]))
    assert round(fake.perplexity, 4) == PERPLEXITY_EXPECTED


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 60_000, "limit"),
        ("\u200b\u200d", "invisible"),
        ("a <bos> b", "reserves"),
    ],
)
def test_bad_corpora_have_clear_messages(text, match):
    with pytest.raises(CorpusError, match=match):
        split_corpus(text)


def test_odd_unicode_corpus_works():
    text = "📦 left 倉庫\nمرحبا left 倉庫\nze\u200bro left hub\n\ud800 left hub"
    model = count_ngrams(split_corpus(text), 2)
    assert "zero" in model.vocab  # zero-width space dropped, not a separate invisible word
    "".join(model.vocab).encode("utf-8")  # the lone surrogate was replaced: everything is valid UTF-8
    assert model.distribution(("left",)).prob("倉庫") == pytest.approx(0.5)


def test_one_word_corpus_and_n_longer_than_sentences():
    model = count_ngrams(split_corpus("hello"), 4)
    notes = " ".join(corpus_notes(model))
    assert "single distinct word" in notes and "longer" in notes
    assert generate(model) == ["hello", EOS]
    assert "longer" not in " ".join(corpus_notes(count_ngrams(split_corpus(CORPUS), 2)))


def test_bad_n_and_k(bigram):
    with pytest.raises(ValueError, match="1 to 4"):
        count_ngrams([["a"]], 5)
    with pytest.raises(ValueError, match="k must"):
        bigram.distribution(("left",), -1)
    with pytest.raises(CorpusError):
        split_sentence("  ")


def test_neural_perplexity_matches_a_direct_computation(tiny_gpt2_lm):
    import torch

    score = neural_perplexity(tiny_gpt2_lm, "package  left\nwarehouse")
    ids = tiny_gpt2_lm.tokenizer.encode("package left warehouse", add_special_tokens=False)
    assert score.token_ids == ids and score.words == 3
    start = tiny_gpt2_lm.tokenizer.get_vocab()["<|endoftext|>"]
    with torch.inference_mode():
        out = tiny_gpt2_lm.model(torch.tensor([[start] + ids]), labels=torch.tensor([[start] + ids]))
    assert score.perplexity == pytest.approx(math.exp(float(out.loss)), rel=1e-4)
    assert score.word_perplexity == pytest.approx(math.exp(float(out.loss) * len(ids) / 3), rel=1e-4)

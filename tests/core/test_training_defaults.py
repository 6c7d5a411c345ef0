"""A trained tiny GPT's default prompt and example texts come from its own corpus (no <unk>), and a character
model's word perplexity is written readably."""

from __future__ import annotations

import io
import json
import math
import zipfile

import pytest

from components.perplexity import metric_rows, power_of_ten, word_perplexity_note, word_perplexity_text
from core.model_defaults import (
    LESSON_TEXTS,
    TEXTS_KEY,
    closed_vocabulary,
    in_vocabulary,
    model_texts,
    texts_from_corpus,
    unknown_symbols,
)
from core.model_io import load_model_zip, save_model_zip
from core.perplexity import perplexity
from core.perplexity_examples import EXAMPLES
from core.seed_examples import CAPITAL_PROMPT
from core.tiny_tokenizers import CHAR, WORD, make_tokenizer
from core.training import TOY_CORPUS, VILLAGE_CORPUS, ModelSize, Trainer, TrainSettings


def every_text(texts) -> list[str]:
    return [texts.prompt, texts.line, *texts.compare, *texts.examples.values()]


@pytest.fixture(scope="module")
def char_lm():
    """Seed 003's corpus, a small character model, 40 steps."""
    trainer = Trainer(TOY_CORPUS, CHAR, ModelSize(layers=1, heads=2, width=32, context=32), TrainSettings(steps=40))
    trainer.train_steps(40)
    return trainer.loaded_model("tiny char model")


def test_the_lessons_prompt_is_outside_a_character_models_vocabulary():
    tokenizer = make_tokenizer(TOY_CORPUS, CHAR)  # seed 003's corpus: lower-case letters, spaces, newlines
    assert closed_vocabulary(tokenizer)
    assert unknown_symbols(tokenizer, CAPITAL_PROMPT) == ["T", "F"]
    assert tokenizer.convert_ids_to_tokens(tokenizer(CAPITAL_PROMPT)["input_ids"]).count("<unk>") == 2
    assert in_vocabulary(tokenizer, CAPITAL_PROMPT) == "the capital of france is"
    assert unknown_symbols(tokenizer, "the cat sat on the mat") == []


def test_a_byte_level_tokenizer_knows_every_text(bundled_lm):
    assert not closed_vocabulary(bundled_lm.tokenizer)
    assert all(unknown_symbols(bundled_lm.tokenizer, text) == [] for text in EXAMPLES.values())
    assert model_texts(bundled_lm) is LESSON_TEXTS


@pytest.mark.parametrize("corpus", [TOY_CORPUS, VILLAGE_CORPUS])
@pytest.mark.parametrize("kind", [CHAR, WORD])
def test_corpus_texts_stay_inside_the_vocabulary(corpus, kind):
    tokenizer = make_tokenizer(corpus, kind)
    texts = texts_from_corpus(corpus, kind, tokenizer=tokenizer)
    assert texts.source == "corpus" and len(texts.examples) >= 3
    for text in every_text(texts):
        assert text and unknown_symbols(tokenizer, text) == [], text


def test_seed_003s_corpus_gives_its_own_sentence():
    texts = texts_from_corpus(TOY_CORPUS, CHAR)
    assert texts.line == "the cat sat on the mat"  # the sentence seed 003 inspects attention on
    assert texts.prompt == "the cat sat on the"  # the model finishes the line
    assert list(texts.examples)[:3] == [
        "A passage of its training text",
        "Same words, shuffled",
        "Random symbols of its vocabulary",
    ]
    assert sorted(texts.examples["Same words, shuffled"].split()) == sorted(
        texts.examples["A passage of its training text"].split()
    )


def test_the_trained_model_carries_its_texts_and_the_zip_keeps_them_readable(char_lm):
    texts = model_texts(char_lm)
    assert texts.source == "corpus" and texts.prompt == "the cat sat on the"
    assert all(unknown_symbols(char_lm.tokenizer, t) == [] for t in every_text(texts))
    data = save_model_zip(char_lm, dict(char_lm.extras))
    info = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("training.json"))
    assert info[TEXTS_KEY]["prompt"] == "the cat sat on the"  # plain JSON, not a Python repr
    uploaded = load_model_zip(data, "uploaded")
    fitted = model_texts(uploaded)  # the zip keeps the corpus texts: an uploaded model starts from its own corpus
    assert fitted == texts
    assert all(t and unknown_symbols(uploaded.tokenizer, t) == [] for t in every_text(fitted))


@pytest.mark.parametrize("bad", ["a string", {"prompt": "x"}, {**LESSON_TEXTS.as_dict(), "line": "x" * 5000}])
def test_an_uploaded_zip_with_malformed_corpus_texts_falls_back_to_the_vocabulary_texts(char_lm, bad):
    data = save_model_zip(char_lm, {**char_lm.extras, TEXTS_KEY: bad})
    uploaded = load_model_zip(data, "uploaded")
    assert TEXTS_KEY not in uploaded.extras
    assert model_texts(uploaded).source == "vocabulary"


@pytest.mark.parametrize(
    ("log10", "shown"),
    [
        (math.log10(577.8), "577.8"),
        (math.log10(32_884.1), "32,884.1"),
        (math.log10(1.26e15), "1.3 × 10¹⁵"),
        (math.log10(9.97e15), "1.0 × 10¹⁶"),
        (800.3, "2.0 × 10⁸⁰⁰"),  # beyond a float: exp() would overflow to inf
    ],
)
def test_big_numbers_are_written_with_a_power_of_ten(log10, shown):
    assert power_of_ten(log10) == shown


def test_a_character_models_perplexity_leads_with_characters(char_lm):
    text = "sphinx of black quartz judge my vow"
    result = perplexity(char_lm, text, max_length=32, stride=16)
    rows = {label: value for label, value, _ in metric_rows(result, per_character=True)}
    assert list(rows)[0] == "Perplexity per character"
    assert rows["Perplexity per character"] == f"{result.perplexity:,.2f}"
    bits_word = result.total_nll / math.log(2) / 7
    assert rows["Bits per word"] == f"{bits_word:.1f}"
    assert rows["Word perplexity"] == word_perplexity_text(result) == power_of_ten(bits_word * math.log10(2))
    assert "e+" not in rows["Word perplexity"] and "inf" not in rows["Word perplexity"]
    note = word_perplexity_note(result)
    assert f"{result.scored_tokens / 7:.1f} tokens" in note and f"{bits_word:.1f} bits per word" in note
    assert [label for label, _, _ in metric_rows(result)][0] == "Perplexity"  # other models keep per-token labels

"""Every lesson preset (core.lessons) reproduces the numbers its lesson prints, through the app's own core functions.

The expected numbers are literals quoted from the lessons (the seed documents), not read back from core, so a
preset that drifted from its lesson fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import lessons
from core.kv_cache import GIB, KV_DTYPES, KVSpec, kv_dtype
from core.ngram import count_ngrams, split_corpus
from core.perplexity import cross_entropy_from_logits, perplexity_from_probs
from core.sampling import sampling_probs
from core.seed_examples import TEACHER_FORCING_LOGITS, TEACHER_FORCING_TARGETS, TEACHER_FORCING_VOCAB
from core.temperature import probs_at_temperatures
from core.tiny_tokenizers import KINDS, make_tokenizer
from core.toy import numpy_samples, parse_toy, toy_distribution
from core.training import TOY_CORPUS

ROOT = Path(__file__).resolve().parents[2]


def preset(page: str, index: int = 0) -> lessons.LessonPreset:
    return lessons.presets_for(page)[index]


def test_every_preset_names_a_page_and_its_lesson_without_file_names():
    pages = {p.stem for p in (ROOT / "app_pages").glob("*.py")}
    names = {lesson.name for lesson in lessons.LESSONS}
    labels = [p.label for p in lessons.PRESETS]
    assert len(labels) == len(set(labels))
    for p in lessons.PRESETS:
        assert p.page in pages, p.page
        assert p.lesson in names
        for text in (p.label, p.note):
            assert "seed" not in text.lower() and ".txt" not in text, text
    # one preset page for each worked example the brief lists
    assert {"generation", "temperature", "next_token", "ngram", "perplexity", "kv_cache"} <= {
        p.page for p in lessons.PRESETS
    }
    assert lessons.presets_for("attention") == ()


def test_first_lessons_greedy_loop():
    # The first lesson: prompt = "Artificial intelligence is"; for step in range(20): argmax (greedy).
    loop = preset("generation")
    assert loop.inputs["prompt"] == "Artificial intelligence is"
    assert loop.inputs["temperature"] == 0.0  # the app's greedy
    assert loop.inputs["run"] == 20 and loop.inputs["max_new_tokens"] == 20 and loop.expected["steps"] == 20
    assert loop.inputs["mode"] == "plain"  # tokenizer.encode(prompt), no chat template


def test_five_word_vocabulary_at_the_lessons_temperatures():
    # The next-token lesson, "The support bot answered": correctly 3.0, slowly 1.5, angrily -1.0, the -2.0, </s> -3.0.
    printed = {
        0.5: [0.952, 0.047, 0.000, 0.000, 0.000],
        1.0: [0.800, 0.178, 0.015, 0.005, 0.002],
        2.0: [0.575, 0.272, 0.078, 0.047, 0.029],
    }
    temp = preset("temperature", 0)
    tokens, logits = parse_toy(temp.inputs["tokens"], temp.inputs["logits"])
    assert tokens == ["correctly", "slowly", "angrily", "the", "</s>"]
    assert logits == [3.0, 1.5, -1.0, -2.0, -3.0]
    dist = toy_distribution(tokens, logits)
    table = probs_at_temperatures(dist.logits, temp.inputs["panels"], range(5))
    for row, t in zip(table, temp.inputs["panels"]):
        assert np.round(row, 3).tolist() == printed[t]
    assert temp.inputs["temperature"] == 0.5
    at_half = sampling_probs(dist.logits, temperature=temp.inputs["temperature"]).double().numpy()
    assert np.round(at_half, 3).tolist() == printed[0.5]

    nt = preset("next_token")
    dist = toy_distribution(*parse_toy(nt.inputs["tokens"], nt.inputs["logits"]))
    probs = sampling_probs(dist.logits, temperature=nt.inputs["temperature"]).double().numpy()
    assert np.round(probs, 3).tolist() == printed[1.0]


def test_warehouse_sampler_at_temperature_1_4():
    # The next-token lesson: logits warehouse 2.4, hub 1.7, carrier 0.2; default_rng(4); temperature 1.4.
    sampler = preset("temperature", 1)
    tokens, logits = parse_toy(sampler.inputs["tokens"], sampler.inputs["logits"])
    dist = toy_distribution(tokens, logits)
    probs = sampling_probs(dist.logits, temperature=sampler.inputs["draw_temperature"]).double().numpy()
    assert np.round(probs, 3).tolist() == [0.551, 0.334, 0.115]
    drawn = numpy_samples(tokens, probs, sampler.inputs["draw_seed"], sampler.inputs["draw_n"])
    assert drawn == ["carrier", "warehouse", "carrier", "warehouse", "hub", "warehouse", "hub", "warehouse"]


def test_warehouse_example_bigram_counts():
    # The next-token lesson: P(warehouse | left) = 3/6 = 0.500, hub 2/6 = 0.333, carrier 1/6 = 0.167, depot 0.0.
    example = preset("ngram")
    model = count_ngrams(split_corpus(example.inputs["corpus"]), example.inputs["n"])
    row = model.distribution(("left",))
    ranked = [(token, count, round(p, 3)) for token, count, p in row.ranked()]
    assert ranked == [("warehouse", 3, 0.5), ("hub", 2, 0.333), ("carrier", 1, 0.167)]
    assert row.total == 6 and row.prob("depot") == 0.0
    assert example.inputs["context"] == "left" and example.inputs["smoothing"] is False


def test_perplexity_example():
    # The next-token lesson: <bos> package left hub <eos> -> true-token probabilities [0.864, 0.824, 0.724, 0.839],
    # mean cross-entropy 0.209; by hand 0.5, 0.5, 0.5, 0.125 -> average loss 1.0397, perplexity 2.8284.
    example = preset("perplexity")
    assert example.inputs["text"] == "package left hub"
    assert ["<bos>", *example.inputs["text"].split(), "<eos>"] == list(TEACHER_FORCING_VOCAB)
    forced = cross_entropy_from_logits(TEACHER_FORCING_LOGITS, TEACHER_FORCING_TARGETS)
    assert np.round(forced.true_token_probs, 3).tolist() == [0.864, 0.824, 0.724, 0.839]
    assert round(forced.mean_loss, 3) == 0.209 == example.expected["mean_loss"]
    by_hand = perplexity_from_probs([0.5, 0.5, 0.5, 0.125])
    assert round(by_hand.mean_loss, 4) == 1.0397
    assert round(by_hand.perplexity, 4) == 2.8284 == example.expected["perplexity"]
    assert example.inputs["tab"] == "Teacher forcing"


def test_kv_cache_estimate():
    # The next-token lesson: batch 4, layers 32, kv_heads 8, head_dim 128, 2 bytes -> 1.00 GiB at 2,048 tokens and
    # 16.00 GiB at 32,768 tokens.
    estimate = preset("kv_cache")
    i = estimate.inputs
    assert (i["batch"], i["layers"], i["kv_heads"], i["head_dim"]) == (4, 32, 8, 128)
    assert i["dtype"] in KV_DTYPES and kv_dtype(i["dtype"]).bits == 16
    spec = KVSpec("lesson", i["layers"], i["heads"], i["kv_heads"], i["head_dim"], sliding_window=i["window"] or None)
    fmt = kv_dtype(i["dtype"])
    assert f"{spec.cache_bytes(i['seq_len'], i['batch'], dtype=fmt) / GIB:.2f}" == "1.00"
    assert f"{spec.cache_bytes(32_768, i['batch'], dtype=fmt) / GIB:.2f}" == "16.00"
    assert i["seq_len"] == 2_048
    assert lessons.kv_dtype_name(2) == i["dtype"]
    with pytest.raises(ValueError, match="3 bytes"):
        lessons.kv_dtype_name(3)


def test_mini_gpt_notebook_settings():
    # The Mini-GPT lesson: MiniGPT(vocab_size, embed_dim=64, n_layers=2, num_heads=4), seq_len = 32,
    # batch_size = 16, AdamW(lr=5e-3), character-level tokenizer, ten sentences from "hello world" to "... my vow".
    notebook = preset("train")
    i = notebook.inputs
    assert (i["width"], i["layers"], i["heads"], i["context"], i["batch_size"], i["learning_rate"]) == (
        64,
        2,
        4,
        32,
        16,
        5e-3,
    )
    assert i["tokenizer"] in KINDS and KINDS[i["tokenizer"]] == "character-level"
    lines = TOY_CORPUS.split("\n")
    assert len(lines) == 10 == notebook.expected["lines"]
    assert lines[0] == "hello world" and lines[-1] == "sphinx of black quartz judge my vow"
    # the notebook's vocabulary is the corpus's distinct characters ("\n" included); ours adds four special tokens
    assert len(make_tokenizer(TOY_CORPUS, i["tokenizer"])) == len(set(TOY_CORPUS)) + 4


def test_hello_world_example():
    # The tokens-to-tokens lesson: "Hello, world!" (13 chars) ≈ 4 tokens: "Hello", ",", " world", "!".
    example = preset("tokenizer")
    assert example.inputs["prompt"] == "Hello, world!" and len(example.inputs["prompt"]) == 13
    assert example.expected["characters"] == 13 and example.expected["gpt3_tokens"] == 4

"""Training a tiny GPT on seed 003's corpus: tokenizers, loop, held-out split, limits, save/load round trip."""

from __future__ import annotations

import io
import json
import math
import sys
import threading
import zipfile

import pytest
import torch

from core.attention_kernel import WEIGHTS_ON_DEMAND
from core.model_io import ModelFileError, load_model_zip, save_model_zip
from core.next_token import next_token_distribution
from core.tiny_tokenizers import CHAR, SPECIAL_TOKENS, WORD, TokenizerError, make_tokenizer, tokenizer_kind
from core.training import (
    MAX_PARAMS,
    MINI_GPT_CORPUS,
    TOY_CORPUS,
    VILLAGE_CORPUS,
    ModelSize,
    Trainer,
    TrainingError,
    TrainSettings,
    build_model,
    learning_rate_at,
    one_thread,
    parameter_count,
    sample_text,
    split_corpus,
)


@pytest.fixture(scope="module")
def trained():
    """Seed 003's corpus, the default settings, seed 0: trained once for the whole module."""
    trainer = Trainer(TOY_CORPUS)
    while not trainer.finished:
        trainer.train_steps(50)
    return trainer


@pytest.fixture(scope="module")
def trained_lm(trained):
    return trained.loaded_model("your trained model #1 (test)")


# Tokenizers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [CHAR, WORD])
def test_tokenizer_round_trip_and_hf_api(kind):
    tok = make_tokenizer(TOY_CORPUS, kind)
    ids = tok(TOY_CORPUS, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == TOY_CORPUS
    assert tok.convert_ids_to_tokens(list(range(4))) == list(SPECIAL_TOKENS)
    assert (tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2, 3)
    assert tokenizer_kind(tok) == kind
    assert len(tok) == max(ids) + 1  # every symbol of the corpus is used, nothing else beyond the specials


def test_char_tokenizer_vocabulary_is_the_corpus_characters():
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    assert len(tok) == len(set(TOY_CORPUS)) + len(SPECIAL_TOKENS)
    assert tok.convert_ids_to_tokens(tok("the cat", add_special_tokens=False)["input_ids"]) == list("the cat")
    assert tok("Q!", add_special_tokens=False)["input_ids"] == [tok.unk_token_id] * 2  # unseen characters


def test_word_tokenizer_keeps_leading_spaces_like_gpt2():
    tok = make_tokenizer(TOY_CORPUS, WORD)
    pieces = tok.convert_ids_to_tokens(tok("the cat sat\nhello", add_special_tokens=False)["input_ids"])
    assert pieces == ["the", " cat", " sat", "\n", "hello"]


def test_empty_corpus_has_no_tokenizer():
    with pytest.raises(TokenizerError):
        make_tokenizer("  \n ", CHAR)


# Model size and schedule ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [ModelSize(), ModelSize(1, 1, 8, 4), ModelSize(3, 2, 48, 100)])
def test_parameter_count_formula_matches_the_real_model(size):
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    model = build_model(size, tok)
    assert parameter_count(size, len(tok)) == sum(p.numel() for p in model.parameters())
    assert model.config._attn_implementation == "eager"


def test_learning_rate_warms_up_then_decays_to_the_floor():
    settings = TrainSettings(steps=200, learning_rate=1e-3, warmup_fraction=0.05, final_lr_fraction=0.1)
    rates = [learning_rate_at(s, settings) for s in range(200)]
    assert rates[0] < rates[5] and rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))  # cosine decay never rises
    assert rates[-1] == pytest.approx(1e-4, rel=0.01)


# Training on seed 003's corpus -------------------------------------------------------------------------------


def test_starting_loss_is_about_ln_vocabulary_size(trained):
    step, loss, heldout = trained.evals[0]
    assert step == 0 and heldout is None
    assert abs(loss - math.log(trained.vocab_size)) < 0.3
    assert trained.starting_loss == pytest.approx(math.log(trained.vocab_size))


def test_default_training_gets_below_one_nat_per_character(trained):
    assert trained.status == "done" and trained.step == TrainSettings().steps
    assert trained.final_loss() < 1.0
    assert trained.losses[-1] < 1.0 < trained.losses[0]
    assert trained.tokens_seen == trained.step * TrainSettings().batch_size * ModelSize().context
    assert trained.tokens_per_second > 0 and trained.elapsed > 0
    assert [s[0] for s in trained.samples] == [50, 100, 150, 200]


@pytest.mark.parametrize("line", [MINI_GPT_CORPUS[5], MINI_GPT_CORPUS[8], MINI_GPT_CORPUS[9]])
def test_greedy_sampling_completes_a_corpus_sentence_from_its_first_words(trained, line):
    prompt = " ".join(line.split()[:2])
    text = sample_text(trained.model, trained.tokenizer, prompt, len(line) - len(prompt), temperature=0.0)
    assert text == line


def test_trained_model_works_as_a_loaded_model(trained_lm):
    assert trained_lm.name.startswith("your trained model")
    assert trained_lm.facts.source == "trained in this session"
    assert not trained_lm.model.training and not any(p.requires_grad for p in trained_lm.model.parameters())
    dist = next_token_distribution(trained_lm, "the cat sat on the ma")
    assert float(dist.probs.sum()) == pytest.approx(1.0, abs=1e-5)
    assert dist.token_text(dist.top_ids(1)[0]) == "t"


def test_same_seed_same_losses_and_another_seed_differs():
    def losses(seed):
        trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=8, seed=seed))
        trainer.train_steps(8)
        return trainer.losses

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_word_level_training_runs():
    trainer = Trainer(TOY_CORPUS, WORD, ModelSize(context=16), TrainSettings(steps=30))
    trainer.train_steps(30)
    assert trainer.status == "done" and trainer.final_loss() < trainer.evals[0][1]


# Held-out text ------------------------------------------------------------------------------------------------


def test_toy_corpus_is_too_small_to_hold_text_out():
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    corpus = split_corpus(TOY_CORPUS, tok, 32)
    assert corpus.heldout_ids is None and "too few" in corpus.note
    assert len(corpus.train_ids) == len(TOY_CORPUS)


def test_village_corpus_holds_out_its_last_lines_and_heldout_loss_falls():
    assert len(VILLAGE_CORPUS) > 4_000
    trainer = Trainer(VILLAGE_CORPUS, settings=TrainSettings(steps=120, eval_every=40))
    corpus = trainer.corpus
    assert corpus.heldout_ids is not None and "held out" in corpus.note
    heldout_text = trainer.tokenizer.decode(corpus.heldout_ids.tolist())
    assert VILLAGE_CORPUS.endswith(heldout_text) and heldout_text.startswith("the ")  # whole lines, at the end
    trainer.train_steps(120)
    first, last = trainer.evals[0], trainer.evals[-1]
    assert last[2] is not None and last[2] < first[2] - 1.0  # held-out loss visibly falls


# Bad input and budgets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, size, match",
    [
        ("", ModelSize(), "empty"),
        ("hello there", ModelSize(context=32), "shorter than the context"),
        (TOY_CORPUS, ModelSize(layers=50), "Layers must be"),
        (TOY_CORPUS, ModelSize(heads=3, width=64), "multiple of the number of heads"),
        (TOY_CORPUS, ModelSize(layers=6, heads=8, width=256, context=256), "cap"),
    ],
)
def test_bad_corpus_or_size_gives_a_clear_error(text, size, match):
    with pytest.raises(TrainingError, match=match):
        Trainer(text, size=size)


@pytest.mark.parametrize(
    "settings, match",
    [
        (TrainSettings(steps=0), "Steps"),
        (TrainSettings(batch_size=1000), "Batch size"),
        (TrainSettings(learning_rate=5.0), "learning rate"),
    ],
)
def test_bad_settings_give_a_clear_error(settings, match):
    with pytest.raises(TrainingError, match=match):
        Trainer(TOY_CORPUS, settings=settings)


def test_parameter_cap_is_checked_before_building():
    size = ModelSize(layers=6, heads=8, width=256, context=256)
    assert parameter_count(size, 40) > MAX_PARAMS


def test_nan_loss_stops_training_and_suggests_a_lower_learning_rate():
    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=20))
    with torch.no_grad():
        trainer.model.transformer.wte.weight.fill_(float("nan"))
    trainer.train_steps(20)
    assert trainer.status == "nan" and trainer.finished and trainer.step == 0
    assert "lower learning rate" in trainer.message


def test_stop_and_time_budget_end_training_cleanly():
    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=100))
    trainer.train_steps(5)
    trainer.stop()
    trainer.train_steps(5)
    assert trainer.status == "stopped" and trainer.step == 5 and "step 5" in trainer.message
    trainer.train_steps(5)
    assert trainer.step == 5
    out_of_time = Trainer(TOY_CORPUS, settings=TrainSettings(steps=100, max_seconds=0.0))
    out_of_time.train_steps(5)
    assert out_of_time.status == "time budget" and out_of_time.step == 0


def test_one_thread_limits_only_the_calling_thread():
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # the app may have set 1 already in this process (AppTests); test from 2
    before = torch.get_num_threads()
    seen = {}

    def worker():
        with one_thread():
            seen["inside"] = torch.get_num_threads()
            seen["main"] = before
        seen["after"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    torch.set_num_threads(original)
    assert before == 2 and seen["inside"] == 1
    assert seen["after"] == before  # neither this thread nor the worker keeps it


# Save and load ------------------------------------------------------------------------------------------------


def test_save_then_load_gives_identical_logits(trained_lm):
    data = save_model_zip(trained_lm, {"steps": 200})
    loaded = load_model_zip(data, "uploaded model #1")
    ids = torch.tensor([trained_lm.tokenizer("the dog lay on", add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        assert torch.equal(trained_lm.model(ids).logits, loaded.model(ids).logits)
    assert loaded.model.config._attn_implementation == WEIGHTS_ON_DEMAND  # attention maps still work on it
    assert loaded.tokenizer.decode(ids[0].tolist()) == "the dog lay on"
    assert loaded.extras["steps"] == 200 and loaded.facts.parameters == trained_lm.facts.parameters


def _rezip(data: bytes, change) -> bytes:
    members = {
        i.filename: zipfile.ZipFile(io.BytesIO(data)).read(i) for i in zipfile.ZipFile(io.BytesIO(data)).infolist()
    }
    change(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def _config_edit(**changes):
    def change(members):
        config = json.loads(members["config.json"])
        config.update(changes)
        members["config.json"] = json.dumps(config).encode()

    return change


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: b"", "empty"),
        (lambda d: b"this is not a zip at all", "not a zip"),
        (lambda d: d[: len(d) // 2], "not a zip|damaged"),
        (lambda d: _rezip(d, lambda m: m.update({"pytorch_model.bin": b"\x80\x04pickle"})), "never pickle"),
        (lambda d: _rezip(d, lambda m: m.update({"../evil.json": b"{}"})), "does not load"),
        (lambda d: _rezip(d, lambda m: m.pop("model.safetensors")), "no model.safetensors"),
        (lambda d: _rezip(d, lambda m: m.update({"model.safetensors": b"garbage"})), "damaged"),
        (lambda d: _rezip(d, lambda m: m.update({"config.json": b"{not json"})), "not valid JSON"),
        (lambda d: _rezip(d, _config_edit(model_type="llama")), "only tiny GPT-2"),
        (lambda d: _rezip(d, _config_edit(n_layer=400)), "Layers must be"),
        (lambda d: _rezip(d, _config_edit(n_embd=128)), "does not match|shape"),
        (lambda d: _rezip(d, _config_edit(vocab_size=40)), "tokens but the model expects"),
        (lambda d: _rezip(d, lambda m: m.update({"tokenizer.json": b"[1, 2]"})), "not a valid tokenizer"),
    ],
)
def test_malformed_model_zip_is_rejected_with_a_clear_message(trained_lm, make, match):
    with pytest.raises(ModelFileError, match=match):
        load_model_zip(make(save_model_zip(trained_lm)), "uploaded")


def test_two_threads_training_one_trainer_take_turns():
    """Streamlit can start a session's next run before the interrupted one returns: chunks must not interleave."""
    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=30, sample_every=10, eval_every=10))
    threads = [threading.Thread(target=trainer.train_steps, args=(20,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trainer.step == 30 and len(trainer.losses) == 30 and trainer.status == "done"
    assert [s[0] for s in trainer.samples] == [10, 20, 30]
    assert [e[0] for e in trainer.evals] == [0, 10, 20, 30]


# Seeding is per call ----------------------------------------------------------------------------------


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_as_a_globally_seeded_build_and_another_seed_differs():
    """A seed still gives the weights it gave when build_model seeded the global RNG (trained numbers unchanged)."""
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    model = build_model(ModelSize(), tok, 7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        globally_seeded = type(model)(model.config)
    assert _same_weights(model.state_dict(), globally_seeded.state_dict())
    assert _same_weights(model.state_dict(), build_model(ModelSize(), tok, 7).state_dict())
    assert model.lm_head.weight is model.transformer.wte.weight
    assert not torch.equal(
        build_model(ModelSize(), tok, 7).transformer.wte.weight, build_model(ModelSize(), tok, 8).transformer.wte.weight
    )


def test_two_threads_building_with_different_seeds_each_get_their_own_weights():
    """Two students pressing Train together: each model is exactly the one its seed builds alone."""
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    size = ModelSize(1, 1, 8, 4)
    expected = {seed: build_model(size, tok, seed).state_dict() for seed in (1, 2)}
    barrier, wrong = threading.Barrier(2), []

    def builder(seed):
        for _ in range(60):
            barrier.wait()
            if not _same_weights(build_model(size, tok, seed).state_dict(), expected[seed]):
                wrong.append(seed)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible: interleave the two builds
    try:
        threads = [threading.Thread(target=builder, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert not wrong, f"{len(wrong)} of 120 builds got another seed's weights"


def test_build_model_never_touches_the_global_rng():
    """Neither the state after a build nor another thread's draws from the global RNG change."""
    tok = make_tokenizer(TOY_CORPUS, CHAR)
    before = torch.get_rng_state()
    build_model(ModelSize(), tok, 5)
    assert torch.equal(torch.get_rng_state(), before)

    torch.manual_seed(123)
    reference = [torch.rand(4) for _ in range(400)]
    torch.manual_seed(123)
    stop, seen = threading.Event(), []

    def keep_building():
        while not stop.is_set():
            build_model(ModelSize(1, 1, 8, 4), tok, 5)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=keep_building)
    thread.start()
    try:
        for _ in range(400):
            seen.append(torch.rand(4))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert all(torch.equal(a, b) for a, b in zip(seen, reference))

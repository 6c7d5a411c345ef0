"""AppTest: the training page trains a tiny GPT, the model joins the picker, and every other page runs on it."""

from __future__ import annotations

import math

import pytest

from core.training import TOY_CORPUS, VILLAGE_CORPUS, ModelSize, Trainer, TrainSettings, parameter_count
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, sampler_payloads, values
from ui import state
from ui.model_picker import TRAINED_LABEL
from ui.navigation import available_pages

PAGE = "app_pages/train.py"


def in_use(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption if "In use" in c.value).replace("\\", "")


def train(at, steps: int):
    at.number_input(key=state.TRAIN_STEPS).set_value(steps).run()
    at.button(key="train.start").click().run()
    assert_clean(at)
    return at


@pytest.fixture(scope="module")
def trained_at():
    """One session that trained for 60 steps on seed 003's corpus."""
    return train(open_page(PAGE), 60)


def test_page_opens_with_seed_003_corpus_and_a_live_parameter_count():
    at = open_page(PAGE)
    assert at.title[0].value == "Train a tiny GPT"
    assert at.text_area(key=state.TRAIN_CORPUS).value == TOY_CORPUS
    metrics = {m.label: m.value for m in at.metric}
    vocab = len(set(TOY_CORPUS)) + 4
    assert metrics["Vocabulary"] == f"{vocab:,} tokens"
    assert metrics["Parameters"] == f"{parameter_count(ModelSize(), vocab):,}"
    at.select_slider(key=state.TRAIN_WIDTH).set_value(128).run()
    assert {m.label: m.value for m in at.metric}["Parameters"] == f"{parameter_count(ModelSize(width=128), vocab):,}"
    assert "3,000,000 parameters" in all_text(at)


def test_training_draws_the_loss_curve_and_joins_the_model_picker(trained_at):
    at = trained_at
    text = all_text(at)
    assert "Trained 60 steps" in text and "your trained model" in text
    assert "too few to hold some out" in text  # the toy corpus has no held-out text, and the page says so
    lm = at.session_state[state.TRAINED_MODEL]
    assert at.session_state[state.MODEL_NAME] == TRAINED_LABEL
    assert lm.name.startswith("your trained model") and lm.name in in_use(at)
    assert at.sidebar.selectbox(key=state.MODEL_CHOICE).value == TRAINED_LABEL
    spec = plotly_specs(at)[0]
    names = [trace.get("name") for trace in spec["data"]]
    assert names == ["batch loss", "training text"]
    batch = values(spec["data"][0]["y"])
    assert len(batch) == 60 and batch[-1] < batch[0]
    start = [s for s in spec["layout"]["shapes"] if s.get("y0") is not None][0]["y0"]
    assert start == pytest.approx(math.log(lm.facts.vocab_size))
    assert {m.label for m in at.metric} >= {"Elapsed", "Tokens per second", "Training-text loss"}
    assert len(at.dataframe) == 1 and list(at.dataframe[0].value["step"]) == [60, 50]
    assert at.get("download_button")


def _explore_pages():
    wanted = (
        "next_token",
        "temperature",
        "generation",
        "attention",
        "logit_lens",
        "perplexity",
        "kv_cache",
        "tokenizer",
        "ngram",
        "home",
    )
    return [p.path for p in available_pages() if any(p.path == f"app_pages/{w}.py" for w in wanted)]


@pytest.mark.parametrize("page", _explore_pages())
def test_every_page_runs_on_the_trained_model(trained_at, page):
    at = trained_at
    name = at.session_state[state.TRAINED_MODEL].name
    at.switch_page(page).run()
    assert_clean(at)
    assert name in in_use(at), page
    assert at.title, page


def test_next_token_and_temperature_show_the_trained_models_characters(trained_at):
    at = trained_at
    at.switch_page("app_pages/next_token.py").run()
    at.text_area(key="next_token.prompt").set_value("the cat sat on the m").run()
    assert_clean(at)
    vocab = set(TOY_CORPUS) | {"␣", "↵", "<unk>", "<pad>", "<bos>", "<eos>"}
    tokens = [row["label"] for row in sampler_payloads(at)[0]["rows"]]  # the bars the browser draws
    assert tokens and all(t in vocab for t in tokens)
    assert len(tokens) == 10  # the default number of candidates, all characters of the trained vocabulary
    at.switch_page("app_pages/temperature.py").run()
    assert_clean(at)
    assert plotly_specs(at) and sampler_payloads(at)


def test_bad_input_gets_messages_not_tracebacks():
    at = open_page(PAGE)
    at.text_area(key=state.TRAIN_CORPUS).set_value("   ").run()
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert "empty" in " ".join(e.value for e in list(at.error) + list(at.warning))
    at.text_area(key=state.TRAIN_CORPUS).set_value("hello there").run()
    at.button(key="train.start").click().run()
    assert "shorter than the context length" in " ".join(e.value for e in at.error)
    at.text_area(key=state.TRAIN_CORPUS).set_value(TOY_CORPUS).run()
    for key, value in ((state.TRAIN_LAYERS, 6), (state.TRAIN_WIDTH, 256), (state.TRAIN_CONTEXT, 256)):
        at.select_slider(key=key).set_value(value) if key != state.TRAIN_LAYERS else at.slider(key=key).set_value(value)
    at.run()
    assert "the cap here is 3,000,000" in " ".join(w.value for w in at.warning)
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert "the cap here" in " ".join(e.value for e in at.error)
    assert state.TRAINED_MODEL not in at.session_state


def test_nan_loss_is_reported_and_no_model_joins_the_picker():
    import torch

    at = open_page(PAGE)
    trainer = Trainer(TOY_CORPUS, settings=TrainSettings(steps=20))
    with torch.no_grad():
        trainer.model.transformer.wte.weight.fill_(float("nan"))
    at.session_state[state.TRAIN_TRAINER] = trainer
    at.run()
    assert_clean(at)
    assert "NaN" in " ".join(e.value for e in at.error) and "lower learning rate" in all_text(at)
    assert state.TRAINED_MODEL not in at.session_state


def test_village_corpus_shows_held_out_loss():
    at = open_page(PAGE)
    at.radio(key=state.TRAIN_SOURCE).set_value(at.radio(key=state.TRAIN_SOURCE).options[1]).run()
    assert at.text_area(key=state.TRAIN_CORPUS).value == VILLAGE_CORPUS
    train(at, 25)
    assert "held out" in all_text(at)
    spec = plotly_specs(at)[0]
    assert [t.get("name") for t in spec["data"]] == ["batch loss", "training text", "held-out text"]
    heldout = values(spec["data"][2]["y"])
    assert len(heldout) == 2 and heldout[1] < heldout[0]


def test_session_training_budget_is_enforced():
    at = open_page(PAGE)
    at.session_state[state.TRAIN_SECONDS_USED] = 600.0
    at.run()
    assert "(600 s used)" in all_text(at)
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert "used its 10 minutes of training" in " ".join(e.value for e in at.error)
    assert state.TRAIN_TRAINER not in at.session_state


# Plain words for a link's bad numbers; an uploaded tokenizer with a custom regex is refused ------------


def test_a_link_with_hex_or_unreadable_numbers_gets_plain_notes():
    from streamlit.testing.v1 import AppTest

    from tests.app.helpers import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"steps": "0x10", "batch": "1_0x", "seed": "ten", "lr": "0x10"})
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    notes = [c.value for c in at.caption if "Ignored the link's" in c.value]
    assert "Ignored the link's 'steps' value (not a number)." in notes
    assert "Ignored the link's 'batch' value (not a number)." in notes
    assert "Ignored the link's 'seed' value (not a number)." in notes
    assert "Ignored the link's 'lr' value (not one of the choices)." in notes
    text = all_text(at)
    assert "could not convert" not in text and "invalid literal" not in text and "0x10" not in text
    assert at.number_input(key=state.TRAIN_STEPS).value == 200  # the page keeps its defaults


def _model_zip(change_tokenizer=None, extra_member=None) -> bytes:
    import io
    import json
    import zipfile

    from core.model_io import save_model_zip
    from core.models import wrap_model
    from core.tiny_tokenizers import make_tokenizer
    from core.training import build_model

    tokenizer = make_tokenizer(TOY_CORPUS + "ab", "char")
    data = save_model_zip(wrap_model(build_model(ModelSize(1, 1, 8, 8), tokenizer), tokenizer, "tiny", "test"))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    if change_tokenizer:
        spec = json.loads(members["tokenizer.json"])
        change_tokenizer(spec)
        members["tokenizer.json"] = json.dumps(spec).encode()
    if extra_member:
        members[extra_member] = b"{}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def test_a_model_zip_whose_tokenizer_has_a_custom_regex_is_refused_in_plain_words():
    def hostile(spec):
        spec["pre_tokenizer"]["pattern"]["Regex"] = "(a|a)+$"

    at = open_page(PAGE)
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(("tiny-gpt.zip", _model_zip(hostile), "application/zip"))
    at.run()
    assert_clean(at)
    errors = " ".join(e.value for e in at.error)
    assert "custom pre-tokenizer (Split with a regex)" in errors and "Nothing was loaded" in errors
    assert state.TRAINED_MODEL not in at.session_state
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(("tiny-gpt.zip", _model_zip(), "application/zip")).run()
    assert_clean(at)
    assert "Loaded" in " ".join(s.value for s in at.success) and state.TRAINED_MODEL in at.session_state


def test_a_refusal_quoting_a_zips_member_name_shows_it_as_typed():
    at = open_page(PAGE)
    payload = "[PHISH](https://evil.example/p)"
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(
        ("tiny-gpt.zip", _model_zip(extra_member=payload), "application/zip")
    ).run()
    assert_clean(at)
    error = " ".join(e.value for e in at.error)
    assert "which this app does not load" in error and "Nothing was loaded" in error
    assert payload not in error and "\\[PHISH\\]" in error  # escaped: no link is made

"""AppTest: each "Lesson examples" button puts its page in the lesson's state and the page shows the lesson's
numbers; no page calls a lesson by its file name ("seed 001")."""

from __future__ import annotations

import re

import pytest
import torch

from core.lessons import GREEDY_LOOP_PROMPT, presets_for
from core.prompt import encode_prompt
from core.training import TOY_CORPUS
from tests.app.helpers import all_text, assert_clean, html_blocks, open_page, sampler_payloads
from ui import state
from ui.navigation import available_pages

pytestmark = pytest.mark.slow  # make test only: every lesson's preset on every page, and a 20-step replay

FILE_NAME = re.compile(r"\bseeds? 0\d\d", re.IGNORECASE)


def click(at, page: str, index: int = 0):
    assert at.button(key=f"{state.LESSON_BUTTON}.{page}.{index}").label == presets_for(page)[index].label
    at.button(key=f"{state.LESSON_BUTTON}.{page}.{index}").click().run()
    assert_clean(at)
    return at


def note_shown(at, page: str, index: int = 0) -> bool:
    first_words = presets_for(page)[index].note.split(":")[0][:30]
    return any(first_words in str(i.value) for i in at.info)


def test_greedy_loop_replays_20_steps_equal_to_generate():
    at = click(open_page("app_pages/generation.py"), "generation")
    stepper = at.session_state[state.GEN_STEPPER]
    assert stepper.prompt == GREEDY_LOOP_PROMPT and not stepper.chat
    assert stepper.temperature == 0.0
    assert len(stepper.steps) == 20 and stepper.finished
    ids, _ = encode_prompt(stepper.lm, GREEDY_LOOP_PROMPT)
    with torch.inference_mode():
        out = stepper.lm.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=20,
            min_new_tokens=20,
            pad_token_id=stepper.lm.tokenizer.eos_token_id,
        )
    expected = out[0, len(ids) :].tolist()
    assert [s.token_id for s in stepper.steps] == expected
    text = stepper.lm.tokenizer.decode(expected)
    assert any("Stopped:" in s.value for s in at.success)
    shown = "".join(html_blocks(at))
    assert all(word in shown for word in text.split()[:5])  # the chips show the generated words
    assert note_shown(at, "generation")
    assert at.number_input(key=state.GEN_MAX_NEW).value == 20 and at.slider(key=state.GEN_TEMPERATURE).value == 0.0


def test_five_word_vocabulary_and_warehouse_sampler_on_the_temperature_page():
    at = click(open_page("app_pages/temperature.py"), "temperature", 0)
    assert at.radio(key=state.TEMP_SOURCE).value == "Toy vocabulary"
    assert at.session_state[state.TEMP_VALUE] == 0.5 == sampler_payloads(at)[0]["settings"]["temperature"]
    frame = at.dataframe[0].value
    row = frame[frame["token"] == "correctly"].iloc[0]
    assert [round(row[f"T = {t:g}"], 3) for t in (0.5, 1.0, 2.0)] == [0.952, 0.800, 0.575]
    slowly = frame[frame["token"] == "slowly"].iloc[0]
    assert [round(slowly[f"T = {t:g}"], 3) for t in (0.5, 1.0, 2.0)] == [0.047, 0.178, 0.272]
    assert note_shown(at, "temperature", 0)

    click(at, "temperature", 1)
    texts = "\n".join(t.value for t in at.text)
    assert "probabilities: [0.551, 0.334, 0.115]" in texts
    assert "sampled: ['carrier', 'warehouse', 'carrier', 'warehouse', 'hub', 'warehouse', 'hub', 'warehouse']" in texts


def test_five_word_vocabulary_on_the_next_token_page():
    at = click(open_page("app_pages/next_token.py"), "next_token")
    assert at.radio(key=state.NT_MODE).value == "Toy vocabulary"
    (data,) = sampler_payloads(at)  # the bars are drawn in the browser from this
    numbers = [round(row["model"], 3) for row in data["rows"]]
    assert {0.8, 0.178, 0.015} <= set(numbers), numbers
    assert note_shown(at, "next_token")


def test_warehouse_example_on_the_ngram_page():
    at = open_page("app_pages/ngram.py")
    at.text_area(key=state.NGRAM_CORPUS).set_value("a b c\nd e f").run()
    assert "3/6" not in all_text(at)
    click(at, "ngram")
    text = all_text(at)
    assert "= 3/6 = 0.500" in text and "= 2/6 = 0.333" in text and "= 1/6 = 0.167" in text
    assert "P(warehouse | left)" in text
    assert note_shown(at, "ngram")


def test_perplexity_example():
    at = click(open_page("app_pages/perplexity.py"), "perplexity")
    assert at.text_area(key=state.PPL_TEXT).value == "package left hub"
    assert at.session_state[state.PPL_TABS] == "Teacher forcing"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Perplexity exp(loss)"] == "2.8284" and metrics["Average loss"] == "1.0397"
    assert "0.209" in all_text(at)
    assert note_shown(at, "perplexity")


def test_kv_cache_estimate_shows_1_and_16_gib():
    at = open_page("app_pages/kv_cache.py")
    at.number_input(key=state.KV_BATCH).set_value(1).run()
    assert "1.00 GiB at 2,048 tokens" not in all_text(at)
    click(at, "kv_cache")
    text = all_text(at)
    assert "**1.00 GiB at 2,048 tokens**" in text and "**16.00 GiB at 32,768 tokens**" in text
    assert at.number_input(key=state.KV_BATCH).value == 4
    assert note_shown(at, "kv_cache")


def test_mini_gpt_and_hello_world_presets():
    at = click(open_page("app_pages/train.py"), "train")
    assert at.text_area(key=state.TRAIN_CORPUS).value == TOY_CORPUS
    assert at.radio(key=state.TRAIN_KIND).value == "char"
    assert at.slider(key=state.TRAIN_LAYERS).value == 2 and at.slider(key=state.TRAIN_BATCH).value == 16
    assert note_shown(at, "train")

    at.switch_page("app_pages/tokenizer.py").run()
    click(at, "tokenizer")
    assert at.text_area(key=state.TOK_PROMPT).value == "Hello, world!"
    assert note_shown(at, "tokenizer")


def proto_text(node) -> str:
    """Every field of every element under ``node`` (labels, options, help, values), as protobuf text."""
    parts = [str(getattr(node, "proto", ""))]
    for child in getattr(node, "children", {}).values():
        parts.append(proto_text(child))
    return "\n".join(parts)


@pytest.mark.parametrize("path", [info.path for info in available_pages()])
def test_no_page_names_a_lesson_by_its_file(path):
    at = open_page(path)
    tables = "\n".join(frame.value.to_string() for frame in at.dataframe)
    found = FILE_NAME.findall("\n".join([proto_text(at._tree), all_text(at), tables]))
    assert not found, (path, found)

"""AppTest: a tiny trained GPT is first-class. Every page starts from its own corpus (no <unk>), the perplexity
page leads with perplexity per character and a half-window stride, and the Train page shows its attention and says
that the model lasts for the session only."""

from __future__ import annotations

import pytest

from core.model_defaults import unknown_symbols
from core.models import DEFAULT_MODEL
from core.seed_examples import CAPITAL_PROMPT
from tests.app.helpers import all_text, assert_clean, html_blocks, matrix, open_page, plotly_specs
from ui import state
from ui.lessons import TRAINED_MODEL_NOTE
from ui.model_picker import TRAINED_LABEL

PAGE = "app_pages/train.py"


def swap_notes(at) -> list[str]:
    return [i.value for i in at.info if "knows only the" in i.value]


@pytest.fixture(scope="module")
def at():
    """One session that trained the smallest useful model (1 layer, width 32) for 30 steps on seed 003's corpus."""
    at = open_page(PAGE)
    at.slider(key=state.TRAIN_LAYERS).set_value(1).run()
    at.select_slider(key=state.TRAIN_WIDTH).set_value(32).run()
    at.number_input(key=state.TRAIN_STEPS).set_value(30).run()
    at.button(key=state.TRAIN_START_BUTTON).click().run()
    assert_clean(at)
    assert at.session_state[state.MODEL_NAME] == TRAINED_LABEL
    return at


def test_training_swaps_the_lessons_prompts_for_its_corpus_and_says_so_once(at):
    lm = at.session_state[state.TRAINED_MODEL]
    notes = swap_notes(at)
    assert len(notes) == 1 and "'T'" in notes[0] and "<unk>" in notes[0].replace("\\", "")
    assert at.session_state[state.PROMPT] == "the cat sat on the"
    for key in state.NT_COMPARE:
        assert unknown_symbols(lm.tokenizer, at.session_state[key]) == []
    at.run()
    assert swap_notes(at) == []  # once: the next run does not repeat it


def test_the_train_page_shows_attention_and_that_the_model_is_for_this_session(at):
    at.switch_page(PAGE).run()
    assert_clean(at)
    heatmaps = [s for s in plotly_specs(at) if s["data"][0]["type"] == "heatmap"]
    assert len(heatmaps) == 1 and heatmaps[0]["layout"]["title"]["text"] == "Layer 1, heads averaged"
    weights = matrix(heatmaps[0]["data"][0]["z"])  # (T, T), NaN above the diagonal (the causal mask)
    assert weights.shape == (22, 22)  # "the cat sat on the mat", one token a character
    assert abs(float(weights[5][:6].sum()) - 1.0) < 1e-4  # each row of a head average sums to 1
    at.selectbox(key=state.TRAIN_ATT_HEAD).set_value(1).run()
    title = [s for s in plotly_specs(at) if s["data"][0]["type"] == "heatmap"][0]["layout"]["title"]["text"]
    assert title == "Layer 1, head 1"
    text = all_text(at)
    assert "lives only in this browser session" in text and "upload that zip" in text
    assert at.get("download_button") and "download it (below) to keep it" in text


def test_next_token_page_starts_from_the_corpus(at):
    at.switch_page("app_pages/next_token.py").run()
    assert_clean(at)
    lm = at.session_state[state.TRAINED_MODEL]
    prompt = at.text_area(key=state.NT_PROMPT).value
    assert prompt == "the cat sat on the" and unknown_symbols(lm.tokenizer, prompt) == []
    at.switch_page("app_pages/tokenizer.py").run()  # the same prompt as chips: one a character, none unknown
    assert_clean(at)
    assert at.text_area(key=state.TOK_PROMPT).value == prompt
    chips = html_blocks(at)[0]  # the model in use first (other tokenizers follow for comparison)
    assert chips.count('class="nte-chip"') == len(prompt) and "&lt;unk&gt;" not in chips


def test_perplexity_page_reads_characters_and_strides_half_a_window(at):
    at.switch_page("app_pages/perplexity.py").run()
    assert_clean(at)
    lm = at.session_state[state.TRAINED_MODEL]
    text = at.text_area(key=state.PPL_TEXT).value
    assert text.startswith("hello world\nhello there") and unknown_symbols(lm.tokenizer, text) == []
    assert at.selectbox(key=state.PPL_EXAMPLE).options[0] == "A passage of its training text"
    metrics = {m.label: m.value for m in at.metric}
    assert "Perplexity per character" in metrics and "Bits per character" in metrics and "Bits per word" in metrics
    assert "e+" not in metrics["Word perplexity"] and "inf" not in metrics["Word perplexity"]
    assert at.number_input(key=state.PPL_WINDOW).value == 32 and at.number_input(key=state.PPL_STRIDE).value == 16
    captions = " ".join(c.value for c in at.caption)
    assert "stride starts at half the window (16)" in captions
    assert "Word perplexity = exp(total loss / words)" in captions
    at.selectbox(key=state.PPL_EXAMPLE).set_value("Random symbols of its vocabulary").run()
    random_text = at.text_area(key=state.PPL_TEXT).value
    assert len(random_text) == 120 and unknown_symbols(lm.tokenizer, random_text) == []
    assert float(next(m.value for m in at.metric if m.label == "Perplexity per character")) > 5


def test_the_pipeline_diagram_draws_the_trained_gpt_with_learned_positions(at):
    at.switch_page("app_pages/pipeline.py").run()
    assert_clean(at)
    diagram = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "Your prompt through the model")
    texts = " ".join(a["text"] for a in diagram["layout"]["annotations"])
    assert "Positions: a learned row added" in texts and "Norm (LayerNorm)" in texts
    assert "Block × 1" in texts  # the trained model's one layer
    at.selectbox(key=state.PIPE_PART).set_value("positions").run()
    assert any("learned position embeddings" in m.value for m in at.markdown)


def test_a_real_model_lesson_says_its_numbers_are_smollm2s_while_the_trained_model_is_in_use(at):
    at.switch_page("app_pages/perplexity.py").run()
    at.button(key=f"{state.LESSON_BUTTON}.perplexity.0").click().run()
    assert_clean(at)
    assert any(c.value == TRAINED_MODEL_NOTE for c in at.caption)
    at.switch_page("app_pages/temperature.py").run()
    at.button(key=f"{state.LESSON_BUTTON}.temperature.0").click().run()  # a toy-vocabulary lesson: no model in it
    assert_clean(at)
    assert not any(c.value == TRAINED_MODEL_NOTE for c in at.caption)


def test_picking_another_model_puts_the_prompts_back_and_picking_it_again_swaps_them(at):
    at.switch_page("app_pages/next_token.py").run()
    at.sidebar.selectbox(key=state.MODEL_CHOICE).set_value(DEFAULT_MODEL).run()
    assert_clean(at)
    assert at.session_state[state.PROMPT] == CAPITAL_PROMPT
    assert at.text_area(key=state.NT_PROMPT).value == CAPITAL_PROMPT
    assert swap_notes(at) == []
    at.text_area(key=state.NT_PROMPT).set_value("Hello World").run()  # typed for SmolLM2: capitals
    at.sidebar.selectbox(key=state.MODEL_CHOICE).set_value(TRAINED_LABEL).run()
    assert_clean(at)
    assert len(swap_notes(at)) == 1
    assert at.text_area(key=state.NT_PROMPT).value == "the cat sat on the"
    at.text_area(key=state.NT_PROMPT).set_value("The cat").run()  # typed while the trained model is in use: kept
    assert at.text_area(key=state.NT_PROMPT).value == "The cat" and swap_notes(at) == []
    at.switch_page("app_pages/tokenizer.py").run()
    assert "&lt;unk&gt;" in html_blocks(at)[0]  # as the model reads what was typed


def test_the_model_picker_says_the_trained_model_is_offered_too(at):
    captions = [c.value for c in at.sidebar.caption]
    assert any(
        "other pretrained models are not offered" in c and "Your trained tiny GPT is offered too" in c for c in captions
    )

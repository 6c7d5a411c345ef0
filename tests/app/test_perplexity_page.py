"""AppTest: the perplexity page through app.py, its examples, upload, controls, bad input and comparisons."""

from __future__ import annotations

import re

import pytest

from core.perplexity import MAX_TEXT_CHARS
from core.perplexity_examples import EXAMPLES, FLUENT
from tests.app.helpers import all_text, assert_clean, html_blocks, open_page, plotly_specs, values
from ui import state
from ui.model_picker import TRAINED_LABEL

PAGE = "app_pages/perplexity.py"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.eE+-]", "", text.split()[0]))


def chips_html(at) -> str:
    return next(b for b in html_blocks(at) if 'class="nte-tokens"' in b)


def test_page_scores_the_default_text_with_coloured_tokens_and_seed_numbers():
    at = open_page(PAGE)
    assert at.text_area(key=state.PPL_TEXT).value == FLUENT
    scored = int(number(metric(at, "Scored tokens")))
    assert scored > 20 and number(metric(at, "Perplexity")) > 1
    assert "nats" in metric(at, "Mean loss (NLL)")
    chips = chips_html(at)
    assert chips.count('class="nte-chip"') == scored and "rank" in chips and "top predictions" in chips
    bars = next(s for s in plotly_specs(at) if "Per-token loss" in s["layout"]["title"]["text"])
    assert len(values(bars["data"][0]["y"])) == scored
    assert [b.key for b in at.get("download_button")].count("perplexity.csv") == 1
    # teacher forcing on the user's text and seed 001's worked examples
    text = all_text(at)
    assert "0.209" in text and "shifted right" in text
    assert metric(at, "Average loss") == "1.0397" and metric(at, "Perplexity exp(loss)") == "2.8284"
    assert metric(at, "1 / geometric mean of p") == "2.8284"
    tables = [d.value for d in at.dataframe]
    assert any("<|endoftext|>" in str(t.get("input token (shifted right)", "")) for t in tables)


def test_examples_bos_switch_and_stride():
    at = open_page(PAGE)
    fluent = number(metric(at, "Perplexity"))
    fluent_scored = int(number(metric(at, "Scored tokens")))
    at.selectbox(key=state.PPL_EXAMPLE).set_value("Same words, shuffled").run()
    assert_clean(at)
    assert at.text_area(key=state.PPL_TEXT).value == EXAMPLES["Same words, shuffled"]
    assert number(metric(at, "Perplexity")) > fluent
    at.selectbox(key=state.PPL_EXAMPLE).set_value("Fluent paragraph").run()
    at.toggle(key=state.PPL_ADD_BOS).set_value(False).run()
    assert_clean(at)
    assert int(number(metric(at, "Scored tokens"))) == fluent_scored - 1
    at.number_input(key=state.PPL_WINDOW).set_value(24).run()
    at.number_input(key=state.PPL_STRIDE).set_value(8).run()
    assert_clean(at)
    assert re.search(r"\d+ windows of up to 24 tokens, stride 8", all_text(at))


def test_bad_input_gets_clear_messages_and_uploads_are_checked():
    at = open_page(PAGE)
    at.text_area(key=state.PPL_TEXT).input("   ").run()
    assert_clean(at)
    assert any("nothing to score" in i.value for i in at.info)
    at.text_area(key=state.PPL_TEXT).input("x" * 1_000_000).run()
    assert any(f"{MAX_TEXT_CHARS:,}" in i.value for i in at.info)
    at.toggle(key=state.PPL_ADD_BOS).set_value(False)
    at.text_area(key=state.PPL_TEXT).input("Hello").run()
    assert any("undefined" in i.value for i in at.info)
    at.toggle(key=state.PPL_ADD_BOS).set_value(True).run()
    assert int(number(metric(at, "Scored tokens"))) == 1
    at.file_uploader(key=state.PPL_UPLOAD).set_value(("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "text/plain")).run()
    assert_clean(at)
    assert any("binary" in e.value for e in at.error)
    at.file_uploader(key=state.PPL_UPLOAD).set_value(
        ("latin.txt", "Ça coûte cher".encode("latin-1"), "text/plain")
    ).run()
    assert any("not UTF-8" in e.value for e in at.error)
    at.file_uploader(key=state.PPL_UPLOAD).set_value(
        ("ok.txt", "Le colis est arrivé hier.".encode(), "text/plain")
    ).run()
    assert_clean(at)
    assert at.text_area(key=state.PPL_TEXT).value == "Le colis est arrivé hier."
    assert not at.error and "hier" in chips_html(at)


def test_compare_texts_and_two_models(tiny_gpt2_lm):
    at = open_page(PAGE)
    at.session_state[state.PPL_TABS] = "Compare"  # what clicking the tab sets (only the open tab runs)
    at.run()
    compare = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "Comparison")
    assert len(values(compare["data"][0]["y"])) == 3  # fluent, shuffled, random characters
    ppl = values(compare["data"][0]["y"])
    assert ppl[0] < ppl[1]
    at.radio(key=state.PPL_COMPARE_MODE).set_value("One text under two models").run()
    at.selectbox(key=state.PPL_SECOND_MODEL).set_value("gpt2").run()
    at.button(key="perplexity.score_models").click().run()
    assert_clean(at)  # offline: gpt2 cannot be fetched, and the page says so
    assert any("Could not score with gpt2" in e.value for e in at.error)
    at.session_state[state.TRAINED_MODEL] = tiny_gpt2_lm
    at.run()
    at.selectbox(key=state.PPL_SECOND_MODEL).set_value(TRAINED_LABEL).run()
    at.button(key="perplexity.score_models").click().run()
    assert_clean(at)
    chart = next(
        s
        for s in plotly_specs(at)
        if s["layout"]["title"]["text"] == "Comparison" and len(values(s["data"][0]["x"])) == 2
    )
    assert values(chart["data"][0]["x"])[1] == "tiny-gpt2"
    assert values(chart["data"][0]["y"])[0] < values(chart["data"][0]["y"])[1]  # a random model is far worse


def test_token_html_and_hover_text_are_escaped():
    """Builders alone: token text and top predictions from the model reach the page only escaped."""
    import numpy as np

    from components.perplexity import loss_bars, surprisal_chips
    from core.perplexity import PerplexityResult

    result = PerplexityResult(
        model_name="m",
        token_ids=np.array([5, 6, 7]),
        tokens=["<b>", "<script>alert(1)</script>", '"x"'],
        nll=np.array([0.1, 12.0]),
        ranks=np.array([1, 900]),
        first_scored=1,
        n_bytes=10,
        n_words=2,
        start_token=None,
        max_length=8,
        stride=4,
        windows=1,
        vocab_size=10,
        top_ids=np.array([[6], [1]]),
        top_probs=np.array([[0.9], [0.5]]),
        top_labels=[["<i>"], ["<img src=x>"]],
    )
    chips = surprisal_chips(result)
    assert "<script>" not in chips and "<b>" not in chips and "<img" not in chips and "<i>" not in chips
    assert "&lt;script&gt;" in chips and "&lt;img src=x&gt;" in chips and "not scored" in chips
    bars = loss_bars(result).to_dict()
    assert "<script>" not in str(bars["data"][0]["customdata"])


@pytest.mark.slow  # make test only: scores the longest text a box takes
def test_a_text_over_the_limit_is_offered_its_first_part():
    at = open_page(PAGE)
    at.text_area(key=state.PPL_TEXT).set_value(FLUENT * (MAX_TEXT_CHARS // len(FLUENT) + 2)).run()
    assert_clean(at)
    assert not plotly_specs(at)  # refused: nothing scored yet
    at.button(key=state.PPL_CUT).click().run()
    assert_clean(at)
    assert len(at.session_state[state.PPL_TEXT]) == MAX_TEXT_CHARS
    assert any(m.label == "Perplexity" or "erplexity" in m.label for m in at.metric)


def test_the_lesson_example_says_why_the_real_models_number_is_so_much_higher():
    at = open_page(PAGE)
    at.text_area(key=state.PPL_TEXT).set_value("package left hub").run()
    assert_clean(at)
    text = all_text(at)
    assert "Why the number at the top of the page differs" in text and "49,152 tokens" in text

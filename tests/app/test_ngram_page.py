"""AppTest: the n-gram page through app.py, seed 001's numbers, smoothing, generation, perplexity, bad corpora."""

import math

import pytest

from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/ngram.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def bars(at):
    return next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("P(next"))


def test_default_page_reproduces_seed_001(at):
    text = all_text(at)
    for line in ("P(warehouse | left) = 3/6 = 0.500", "P(hub | left) = 2/6 = 0.333", "P(carrier | left) = 1/6 = 0.167"):
        assert line in text
    spec = bars(at)
    assert spec["layout"]["title"]["text"] == "P(next | left)"
    raw = spec["data"][0]
    probs = dict(zip(raw["y"], values(raw["x"])))
    assert probs["warehouse"] == pytest.approx(0.5) and probs["hub"] == pytest.approx(1 / 3)
    assert probs["package"] == 0.0 and "0 (unseen)" in raw["text"]  # unseen continuation: exactly zero
    assert len(spec["data"]) == 1
    # distinct pairs by hand: <bos>->3 starts, 3 starts->left, left->3 places, 3 places-><eos>
    assert at.dataframe[0].value.shape[0] == 12
    assert "package left warehouse" in text  # greedy generation follows the most frequent path


def test_smoothing_switch_shows_the_difference():
    at = open_page(PAGE)
    at.toggle(key=state.NGRAM_SMOOTH).set_value(True).run()
    assert_clean(at)
    spec = bars(at)
    assert len(spec["data"]) == 2
    smoothed = values(spec["data"][1]["x"])
    assert sum(smoothed) == pytest.approx(1.0)
    assert min(smoothed) > 0
    assert "Add-1" in all_text(at)
    vocabulary = len(smoothed)  # every token add-k gives a share to: the words, <eos> and <unk>
    caption = all_text(at).replace("\\", "")  # the markdown escapes of <eos> and <unk>
    assert f"V = {vocabulary - 2} words + <eos> + <unk> = {vocabulary}: add-k smoothing divides by" in caption
    at.number_input(key=state.NGRAM_K).set_value(0.1).run()
    assert sum(values(bars(at)["data"][1]["x"])) == pytest.approx(1.0)


def test_n_and_context_and_seeded_sampling():
    at = open_page(PAGE)
    at.select_slider(key=state.NGRAM_N).set_value(4).run()
    assert_clean(at)
    assert any("longer" in w.value for w in at.warning)
    at.select_slider(key=state.NGRAM_N).set_value(2).run()
    at.selectbox(key=state.NGRAM_CONTEXT).set_value("parcel").run()
    assert bars(at)["layout"]["title"]["text"] == "P(next | parcel)"
    at.radio(key=state.NGRAM_DECODING).set_value("Sampled (seeded)").run()
    at.number_input(key=state.NGRAM_SEED).set_value(5).run()
    first = [m.value for m in at.markdown if "eos" in m.value]
    at.number_input(key=state.NGRAM_SEED).set_value(6).run()
    at.number_input(key=state.NGRAM_SEED).set_value(5).run()
    assert [m.value for m in at.markdown if "eos" in m.value] == first and first


def test_perplexity_beside_the_neural_model():
    at = open_page(PAGE)
    metrics = {m.label: m.value for m in at.metric}
    assert math.isfinite(float(metrics["Bigram perplexity per word"]))
    assert float(metrics["Neural perplexity per word"].replace(",", "")) > 1
    chart = next(s for s in plotly_specs(at) if "held-out" in s["layout"]["title"]["text"])
    assert len(chart["data"][0]["x"]) == 2
    at.text_input(key=state.NGRAM_HELDOUT).set_value("order left depot").run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Bigram perplexity per word"] == "∞"
    assert any("probability 0" in w.value and "depot" in w.value for w in at.warning)
    at.toggle(key=state.NGRAM_SMOOTH).set_value(True).run()
    assert math.isfinite(float({m.label: m.value for m in at.metric}["Bigram perplexity per word"]))


@pytest.mark.parametrize(
    "corpus, message", [("", "empty"), ("   ", "empty"), ("word " * 12_000, "limit"), ("\u200b\u200b", "invisible")]
)
def test_bad_corpora_give_messages(corpus, message):
    at = open_page(PAGE)
    at.text_area(key=state.NGRAM_CORPUS).set_value(corpus).run()
    assert_clean(at)
    assert any(message in i.value for i in at.info)


def test_one_word_and_odd_unicode_corpora():
    at = open_page(PAGE)
    at.text_area(key=state.NGRAM_CORPUS).set_value("hello").run()
    assert_clean(at)
    assert any("single distinct word" in w.value for w in at.warning)
    at.text_area(key=state.NGRAM_CORPUS).set_value("📦 left 倉庫\nمرحبا left <script>\nze\u200bro left hub").run()
    assert_clean(at)
    assert bars(at)["layout"]["title"]["text"] == "P(next | &lt;bos&gt;)"  # kept from the one-word corpus
    at.selectbox(key=state.NGRAM_CONTEXT).set_value("left").run()
    assert "&lt;script&gt;" in bars(at)["data"][0]["y"]
    at.text_input(key=state.NGRAM_HELDOUT).set_value("   ").run()
    assert_clean(at)
    assert any("empty" in i.value for i in at.info)

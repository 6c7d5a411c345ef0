"""AppTest: the Embeddings page through app.py (nearest tokens, the word map, analogies), bad input, and the
session's trained character model."""

from __future__ import annotations

import pytest

from core.embeddings import token_neighbours, word_tokens
from tests.app.helpers import all_text, assert_clean, html_blocks, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/embeddings.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def charts(at) -> dict[str, dict]:
    """Each plotly chart's spec, keyed by its title."""
    return {spec["layout"]["title"]["text"]: spec for spec in plotly_specs(at)}


def test_page_shows_neighbours_map_and_analogy_with_real_numbers(at, bundled_lm):
    text = all_text(at)
    assert "49,152" in text and "576" in text and "tied" in text and "same list" in text
    found = charts(at)
    bars = found["Nearest to ␣king: embedding = unembedding matrix (tied)"]["data"][0]
    expected = token_neighbours(bundled_lm, word_tokens(bundled_lm, "king").ids[0], 10)
    assert bars["y"] == [n.label for n in expected]
    assert values(bars["x"]) == pytest.approx([n.cosine for n in expected], abs=1e-6)
    scatter = found["Countries and capitals on two principal components"]
    assert [t["name"] for t in scatter["data"]] == ["country", "capital"]
    assert "% of the variance" in scatter["layout"]["xaxis"]["title"]["text"]
    analogy = found["Nearest to ␣king − ␣man + ␣woman"]["data"][0]
    assert analogy["y"][0] == "␣queen"
    assert "mostly work" in text and "12 of 16" in text


def test_a_word_of_several_tokens_lets_you_pick_the_token(at, bundled_lm):
    at.text_input(key=state.EMB_WORD).set_value("antidisestablishmentarianism").run()
    assert_clean(at)
    tokens = word_tokens(bundled_lm, "antidisestablishmentarianism")
    assert f"as {len(tokens.ids)} tokens" in all_text(at) and len(tokens.ids) > 2
    assert f"Nearest to {tokens.labels[0]}: embedding = unembedding matrix (tied)" in charts(at)
    at.selectbox(key=state.EMB_TOKEN).set_value(len(tokens.ids) - 1).run()
    assert_clean(at)
    assert f"Nearest to {tokens.labels[-1]}: embedding = unembedding matrix (tied)" in charts(at)


@pytest.mark.parametrize(
    ("word", "says"),
    [
        ("", "Type a word first"),
        ("\u200b\u200b", "invisible"),
        ("x" * 5000, "takes at most 60"),  # cut to the box's limit, with a note
    ],
)
def test_bad_words_get_a_clear_message(at, word, says):
    at.text_input(key=state.EMB_WORD).set_value(word).run()
    assert_clean(at)
    assert says in all_text(at)
    assert len(plotly_specs(at)) == (3 if len(word) > 60 else 2)  # the map and the analogy drawn all the same


def test_html_and_markdown_in_a_word_stay_inert(at):
    at.text_input(key=state.EMB_WORD).set_value("<script>alert(1)</script>").run()
    assert_clean(at)
    chips = "".join(html_blocks(at))
    assert "<script>" not in chips and "&lt;" in chips  # the chips show the characters, escaped
    assert not any("<script>" in m.value and "unsafe" in m.value for m in at.markdown)
    at.text_input(key=state.EMB_WORD).set_value("king").run()


def test_own_words_map_and_its_refusals(at):
    at.selectbox(key=state.EMB_SET).set_value("Your own words").run()
    assert_clean(at)
    at.text_area(key=state.EMB_WORDS).set_value("cat, dog, horse, Paris, London, antidisestablishmentarianism").run()
    assert_clean(at)
    scatter = charts(at)["Your own words on two principal components"]["data"][0]
    assert scatter["text"][:2] == ["cat", "dog"] and len(scatter["text"]) == 6
    assert "several tokens" in " ".join(e.label for e in at.expander)
    for words, says in (("cat, dog", "at least 3"), (", ".join(f"w{i}" for i in range(50)), "at most 40")):
        at.text_area(key=state.EMB_WORDS).set_value(words).run()
        assert_clean(at)
        assert says in all_text(at)
    at.text_area(key=state.EMB_WORDS).set_value("<b>x</b>, **y**, [z](javascript:alert(1))").run()
    assert_clean(at)
    labels = charts(at)["Your own words on two principal components"]["data"][0]["text"]
    assert labels[0] == "&lt;b&gt;x&lt;/b&gt;"


def test_analogy_boxes_and_mean_of_tokens(at):
    at.radio(key=state.EMB_HOW).set_value("mean").run()
    for key, word in zip(state.EMB_ANALOGY, ("Paris", "France", "Germany"), strict=True):
        at.text_input(key=key).set_value(word)
    at.run()
    assert_clean(at)
    bars = charts(at)["Nearest to ␣Paris − ␣France + ␣Germany"]["data"][0]
    assert bars["y"][0] == "␣Berlin"
    at.text_input(key=state.EMB_ANALOGY[0]).set_value("").run()
    assert_clean(at)
    assert "Type a word first" in all_text(at)


def test_page_works_on_the_trained_character_model():
    at = open_page("app_pages/train.py")  # train seed 003's character model for a few steps: it joins the picker
    at.number_input(key=state.TRAIN_STEPS).set_value(20).run()
    at.button(key=state.TRAIN_START_BUTTON).click().run()
    lm = at.session_state[state.TRAINED_MODEL]
    at.switch_page(PAGE).run()
    assert_clean(at)
    text = all_text(at)
    assert "None of the 16 classic analogies can be measured" in text
    assert at.selectbox(key=state.EMB_SET).value == "Every token of this small vocabulary"
    found = charts(at)
    scatter = found["Every token of this small vocabulary on two principal components"]["data"][0]
    assert "a" in scatter["text"] and len(scatter["text"]) == len(lm.tokenizer) - 4
    assert any(title.startswith("Nearest to k") for title in found)  # ' king' -> its first letter, not the space

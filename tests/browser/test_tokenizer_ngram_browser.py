"""Real browser: the tokenizer page shows chips for typed text and trains a BPE; the n-gram page shows seed 001's
bars."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ARTIFACTS, chart, enter_text, live, screenshot, wait_for_run

pytestmark = pytest.mark.browser


def test_tokenizer_page(page):
    page.goto(page.app_url + "/tokenizer")
    wait_for_run(page)  # the first request reroutes through app.py and loads the model: slow on a busy machine
    enter_text(page, page.get_by_label("Text to tokenize"), "Hello <b>world</b> 東京 📦")
    chips = live(page, ".nte-chip")
    expect(chips.first).to_be_visible()
    assert chips.count() > 5
    texts = chips.all_inner_texts()
    assert "␣<" in texts and "</" in texts  # the tag's pieces are shown as text
    assert page.locator("b", has_text="world").count() == 0  # the tag was not rendered as HTML
    screenshot(page, "tokenizer_tokens")
    page.get_by_role("tab", name="Train your own BPE").click()  # tabs switch in the browser: no rerun
    sweep = chart(page, "tokenizer.sweep_chart")
    expect(sweep).to_contain_text("Bigger vocabulary")
    assert "tokens per word" in sweep.inner_text()
    screenshot(page, "tokenizer_bpe")
    sweep.screenshot(path=str(ARTIFACTS / "tokenizer_bpe_sweep.png"))
    page.get_by_role("tab", name="Compare tokenizers").click()
    languages = chart(page, "tokenizer.languages")
    expect(languages).to_contain_text("The same sentence")
    assert "Hindi" in languages.inner_text()
    languages.screenshot(path=str(ARTIFACTS / "tokenizer_languages.png"))
    page.get_by_role("tab", name="Chat template").click()
    code = live(page.locator('[data-testid="stTabs"]'), '[data-testid="stCode"]:visible').first
    expect(code).to_contain_text("<|im_start|>assistant")
    page.locator('[data-testid="stTabs"]').screenshot(path=str(ARTIFACTS / "tokenizer_chat.png"))
    assert not page.dialogs


def test_ngram_page(page):
    page.goto(page.app_url + "/ngram")
    wait_for_run(page)
    bars = chart(page, "ngram.bars")
    expect(bars).to_contain_text("warehouse")
    text = bars.inner_text()
    assert "0.500" in text and "0.333" in text and "0.167" in text
    expect(page.get_by_text("P(warehouse | left) = 3/6 = 0.500")).to_have_count(1)
    screenshot(page, "ngram_default")
    page.get_by_text("Add-k smoothing", exact=True).click()
    wait_for_run(page)
    expect(bars).to_contain_text("smoothed")
    screenshot(page, "ngram_smoothed")
    perplexity = chart(page, "ngram.perplexity")
    expect(perplexity).to_contain_text("held-out")
    assert "∞" not in perplexity.inner_text()
    perplexity.screenshot(path=str(ARTIFACTS / "ngram_perplexity.png"))
    assert not page.dialogs

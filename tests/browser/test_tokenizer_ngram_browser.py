"""Real browser: the tokenizer page shows chips for typed text and trains a BPE; the n-gram page shows seed 001's bars."""
import pytest

from tests.browser.helpers import ARTIFACTS, screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'


def test_tokenizer_page(page):
    page.goto(page.app_url + "/tokenizer")
    box = page.get_by_label("Text to tokenize")
    box.wait_for(timeout=180_000)  # the first request reroutes through app.py and loads the model: slow on a busy machine
    wait_for_app(page)
    box.fill("Hello <b>world</b> 東京 📦")
    box.press("Control+Enter")
    wait_for_app(page)
    chips = page.locator(".nte-chip")
    assert chips.count() > 5
    texts = chips.all_inner_texts()
    assert "␣<" in texts and "</" in texts  # the tag's pieces are shown as text
    assert page.locator("b", has_text="world").count() == 0  # the tag was not rendered as HTML
    screenshot(page, "tokenizer_tokens")
    page.get_by_role("tab", name="Train your own BPE").click()
    sweep = page.locator(CHART).filter(has_text="Bigger vocabulary")
    sweep.wait_for(timeout=60_000)
    assert "tokens per word" in sweep.inner_text()
    screenshot(page, "tokenizer_bpe")
    sweep.screenshot(path=str(ARTIFACTS / "tokenizer_bpe_sweep.png"))
    page.get_by_role("tab", name="Compare tokenizers").click()
    languages = page.locator(CHART).filter(has_text="The same sentence")
    languages.wait_for(timeout=60_000)
    assert "Hindi" in languages.inner_text()
    languages.screenshot(path=str(ARTIFACTS / "tokenizer_languages.png"))
    page.get_by_role("tab", name="Chat template").click()
    page.wait_for_timeout(500)
    code = page.locator('[data-testid="stTabs"] [data-testid="stCode"]:visible').first
    code.wait_for(timeout=30_000)
    assert "<|im_start|>assistant" in code.inner_text()
    page.locator('[data-testid="stTabs"]').screenshot(path=str(ARTIFACTS / "tokenizer_chat.png"))
    assert not page.dialogs


def test_ngram_page(page):
    page.goto(page.app_url + "/ngram")
    page.wait_for_selector(CHART, timeout=180_000)
    wait_for_app(page)
    chart = page.locator(CHART).first.inner_text()
    assert "warehouse" in chart and "0.500" in chart and "0.333" in chart and "0.167" in chart
    assert page.get_by_text("P(warehouse | left) = 3/6 = 0.500").count() == 1
    screenshot(page, "ngram_default")
    page.get_by_text("Add-k smoothing", exact=True).click()
    wait_for_app(page)
    page.wait_for_function("sel => document.querySelector(sel).innerText.includes('smoothed')", arg=CHART, timeout=60_000)
    screenshot(page, "ngram_smoothed")
    perplexity = page.locator(CHART).filter(has_text="held-out")
    assert "∞" not in perplexity.inner_text()
    perplexity.screenshot(path=str(ARTIFACTS / "ngram_perplexity.png"))
    assert not page.dialogs

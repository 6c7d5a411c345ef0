"""Real browser: the perplexity page scores a typed text and shows surprisal-coloured tokens with hover details."""
import re

import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHIP = ".nte-tokens:not(.nte-legend) .nte-chip"


def test_perplexity_page_scores_a_text_and_colours_its_tokens(page):
    page.goto(page.app_url + "/perplexity")
    wait_for_app(page)
    box = page.get_by_label("Text to score")
    box.fill("The cat sat on the mat. <script>alert('x')</script> Zqxv blorp!")
    box.press("Control+Enter")
    wait_for_app(page)
    page.wait_for_selector(CHIP, timeout=120_000)
    chips = page.locator(CHIP)
    texts = chips.all_inner_texts()
    assert any("cat" in t for t in texts) and "script>" in "".join(texts)  # the tag is shown as text
    assert page.locator(".nte-tokens script").count() == 0                   # ...and never becomes an element
    backgrounds = {chips.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(chips.count())}
    assert len(backgrounds) > 3  # shaded by surprisal, not one colour
    title = chips.nth(2).get_attribute("title")
    assert re.search(r"p = .* rank [\d,]+ .* surprisal .* bits", title) and "top predictions" in title
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Perplexity").first.inner_text()
    assert re.search(r"\d", metric)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    screenshot(page, "perplexity_top")
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    chips.nth(4).hover()
    page.wait_for_timeout(500)
    screenshot(page, "perplexity_tokens")
    page.get_by_role("tab", name="Teacher forcing").click()
    page.wait_for_timeout(500)
    assert page.get_by_text("2.8284").first.is_visible()
    screenshot(page, "perplexity_teacher_forcing")
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_timeout(500)
    screenshot(page, "perplexity_compare")
    assert not page.dialogs


def test_long_text_runs_window_by_window_with_a_progress_bar(page):
    """About 3,000 tokens with a 256-token window and stride 128: two dozen windows, a visible progress bar."""
    from core.perplexity_examples import CODE_SNIPPET, FLUENT, NON_ENGLISH, shuffled_words

    long_text = "\n\n".join([FLUENT, CODE_SNIPPET, NON_ENGLISH, shuffled_words(FLUENT, 1)] * 6)
    page.goto(page.app_url + "/perplexity")
    wait_for_app(page)
    for label, value in (("Window (tokens)", "256"), ("Stride (tokens)", "128")):
        field = page.get_by_label(label)
        field.fill(value)
        field.press("Enter")
        wait_for_app(page)
    box = page.get_by_label("Text to score")
    box.fill(long_text)
    box.press("Control+Enter")
    # "Scoring the text": the main text's bar (the Compare tab's texts have bars of their own, "Scoring text 1")
    bar = page.locator('[data-testid="stProgress"]').filter(has_text="Scoring the text")
    page.wait_for_function(  # part-way: some windows done, not all
        "() => [...document.querySelectorAll('[data-testid=\"stProgress\"]')]"
        ".some(t => /Scoring the text: [1-9]\\d?% of the windows/.test(t.innerText))", timeout=60_000)
    assert bar.count() == 1
    screenshot(page, "perplexity_long_text_progress")
    wait_for_app(page, timeout=300_000)
    page.wait_for_selector(CHIP, timeout=120_000)
    caption = page.get_by_text(re.compile(r"\d+ windows of up to 256 tokens, stride 128")).first.inner_text()
    assert int(caption.split()[0]) > 10
    bar.wait_for(state="detached", timeout=30_000)  # the bar is removed once the text is scored
    screenshot(page, "perplexity_long_text_done")

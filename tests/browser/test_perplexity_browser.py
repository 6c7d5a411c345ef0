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

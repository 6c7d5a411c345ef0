"""Real browser: the next-token page loads, takes a typed prompt, and its bars change with temperature."""
import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'


def chart_text(tab) -> str:
    return tab.locator(CHART).first.inner_text()


def test_next_token_page_prompt_and_temperature(page):
    page.goto(page.app_url + "/next_token")
    wait_for_app(page)
    box = page.locator("textarea[aria-label='Prompt']")
    box.fill("The capital of France is")
    box.press("Control+Enter")
    wait_for_app(page)
    page.wait_for_selector(CHART)
    before = chart_text(page)
    assert "Paris" in before and "all other tokens" in before
    screenshot(page, "next_token_t1")
    slider = page.get_by_role("slider", name="Temperature")
    slider.focus()
    for _ in range(20):  # 20 steps of 0.05: temperature 1.0 -> 0.0 (greedy)
        slider.press("ArrowLeft")
    # Greedy: the top token's sampling bar reads 100.0% and the rest are cut.
    page.wait_for_function(
        "sel => document.querySelector(sel) && document.querySelector(sel).innerText.includes('100.0%')",
        arg=CHART, timeout=60_000)
    after = chart_text(page)
    screenshot(page, "next_token_t0")
    assert before != after
    assert "cut" in after
    assert not page.dialogs

"""Real browser: the next-token page loads, takes a typed prompt, and its bars change with temperature."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, enter_text, keyed, screenshot, wait_for_run

pytestmark = pytest.mark.browser
BARS = "next_token.bars"


def test_next_token_page_prompt_and_temperature(page):
    page.goto(page.app_url + "/next_token")
    wait_for_run(page)  # the first run may load the model
    enter_text(page, page.locator("textarea[aria-label='Prompt']"), "The capital of France is")
    bars = chart(page, BARS)
    expect(bars).to_contain_text("all other tokens")
    before = bars.inner_text()
    assert "Paris" in before
    screenshot(page, "next_token_t1")
    slider = keyed(page, "next_token.temperature").get_by_role("slider", name="Temperature")
    slider.focus()
    for _ in range(20):  # 20 steps of 0.05: temperature 1.0 -> 0.0 (greedy)
        slider.press("ArrowLeft")
    # Greedy: the top token's sampling bar reads 100.0% and the rest are cut. Only T = 0, the last value, draws it;
    # then its run (and any run the key presses queued before it) has to end.
    expect(bars).to_contain_text("100.0%")
    wait_for_run(page)
    expect(bars).to_contain_text("cut")  # plotly may still be redrawing the last run's figure: a retried read
    after = bars.inner_text()
    screenshot(page, "next_token_t0")
    assert before != after
    assert "cut" in after
    assert not page.dialogs

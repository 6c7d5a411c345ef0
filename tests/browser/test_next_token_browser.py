"""Real browser: the next-token page loads, takes a typed prompt, and its bars change with temperature."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import SAMPLER_BARS, enter_text, keyed, run_mark, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def test_next_token_page_prompt_and_temperature(page):
    page.goto(page.app_url + "/next_token")
    wait_for_run(page)  # the first run may load the model
    enter_text(page, page.locator("textarea[aria-label='Prompt']"), "The capital of France is")
    bars = keyed(page, state.NT_SAMPLER, SAMPLER_BARS)  # drawn in the browser (ui/client_sampler.py)
    expect(bars).to_contain_text("all other tokens")
    before = bars.text_content()
    assert "Paris" in before
    screenshot(page, "next_token_t1")
    slider = keyed(page, state.NT_SAMPLER).get_by_role("slider", name="Temperature")
    slider.focus()
    mark = run_mark(page)
    for _ in range(20):  # 20 steps of 0.05: temperature 1.0 -> 0.0 (greedy)
        slider.press("ArrowLeft")
    # Greedy: the top token's sampling bar reads 100.0% and the rest are cut, redrawn in the page.
    expect(bars).to_contain_text("100.0%")
    expect(bars).to_contain_text("cut")
    wait_for_run(page, since=mark)  # a pause after the last key lets go: the server hears T = 0 once
    page.wait_for_function("() => new URLSearchParams(location.search).get('t') === '0'")
    after = bars.text_content()
    screenshot(page, "next_token_t0")
    assert before != after
    assert "cut" in after
    assert not page.dialogs

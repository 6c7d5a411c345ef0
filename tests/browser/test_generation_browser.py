"""Real browser: the generation page steps three times and three tokens appear; a run streams tokens in."""
import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHIPS = ".nte-generation .nte-chip"


def chip_count(tab) -> int:
    return tab.locator(CHIPS).count()


def test_generation_page_steps_and_runs(page):
    page.goto(page.app_url + "/generation")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=120_000)
    assert chip_count(page) == 0
    step = page.get_by_role("button", name="Step", exact=True)
    for n in (1, 2, 3):
        step.click()
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[CHIPS, n],
                               timeout=120_000)
        wait_for_app(page)
    texts = page.locator(CHIPS).all_inner_texts()
    assert len(texts) == 3 and all(t for t in texts)
    assert "Step 3 chose" in page.inner_text("body") and "Step 4: candidates for the next token" in page.inner_text("body")
    screenshot(page, "generation_three_steps")

    # Be the sampler: the second candidate button becomes step 4, chosen by "you".
    page.locator(".st-key-generation-pick-1 button").click()
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[CHIPS, 4], timeout=120_000)
    wait_for_app(page)
    assert "picked by you" in page.inner_text("body")

    # Run 10 more steps: tokens stream in while the script runs, then the page settles with 14 (or an early stop).
    page.get_by_role("button", name="Run 10 steps").click()
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[CHIPS, 4], timeout=120_000)
    streamed = chip_count(page)
    running = page.locator(".st-key-generation-stop button").first.is_visible()  # the Stop button exists only mid-run
    screenshot(page, "generation_mid_run")
    page.wait_for_selector(".st-key-generation-stop", state="detached", timeout=300_000)
    wait_for_app(page)
    count = chip_count(page)
    assert 5 <= streamed <= count <= 14
    assert running or streamed == count  # either we saw the run in progress or it had already finished
    assert "Timeline" in page.inner_text("body")
    screenshot(page, "generation_after_run")
    for section, name in (("The KV cache", "generation_kv_cache"), ("Timeline", "generation_timeline")):
        page.get_by_role("heading", name=section).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        screenshot(page, name)
    assert not page.dialogs

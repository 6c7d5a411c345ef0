"""Real browser: the generation page steps three times and three tokens appear; a run streams tokens in."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import LIVE, chart, key_class, keyed, live, screenshot, wait_for_run

pytestmark = pytest.mark.browser
CHIPS = ".nte-generation .nte-chip"


def chips(tab):
    return live(tab, CHIPS)


def test_generation_page_steps_and_runs(page):
    page.goto(page.app_url + "/generation")
    wait_for_run(page)  # the first run may load the model
    expect(chart(page, "generation.bars")).to_have_count(1)
    expect(chips(page)).to_have_count(0)
    for n in (1, 2, 3):
        keyed(page, "generation.step", "button").click()
        wait_for_run(page)
        expect(chips(page)).to_have_count(n)
    texts = chips(page).all_inner_texts()
    assert len(texts) == 3 and all(t for t in texts)
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Step 3 chose")
    expect(main).to_contain_text("Step 4: candidates for the next token")
    screenshot(page, "generation_three_steps")

    # Be the sampler: the second candidate button becomes step 4, chosen by "you".
    keyed(page, "generation.pick.1", "button").click()
    wait_for_run(page)
    expect(chips(page)).to_have_count(4)
    expect(main).to_contain_text("picked by you")

    # Run 10 more steps: tokens stream in while the script runs, then the page settles with 14 (or an early stop).
    keyed(page, "generation.run", "button").click()
    # One look at the page: the chips so far, and whether the Stop button (there only mid-run) is still there.
    seen = page.wait_for_function(
        "([chips, stop]) => { const n = document.querySelectorAll(chips).length;"
        " return n > 4 && {n, running: !!document.querySelector(stop)}; }",
        arg=[f"{LIVE} {CHIPS}", f'.{key_class("generation.stop")}:not([data-stale="true"]) button'],
        timeout=300_000,
    ).json_value()
    streamed, running = seen["n"], seen["running"]
    screenshot(page, "generation_mid_run")
    wait_for_run(page)
    expect(keyed(page, "generation.stop")).to_have_count(0)
    count = chips(page).count()
    assert 5 <= streamed <= count <= 14
    assert running or streamed == count  # either we saw the run in progress or it had already finished
    expect(main).to_contain_text("Timeline")
    screenshot(page, "generation_after_run")
    for section, name in (("The KV cache", "generation_kv_cache"), ("Timeline", "generation_timeline")):
        page.get_by_role("heading", name=section).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        screenshot(page, name)
    assert not page.dialogs


def test_a_second_student_sees_a_reused_step(page, browser):
    """Two tabs are two students on one server: the second one's step on the same prompt comes from the first one's
    work, and its page says so in words instead of a time."""
    other = browser.new_page()
    try:
        for tab in (page, other):
            tab.goto(page.app_url + "/generation")
            wait_for_run(tab)
            keyed(tab, "generation.step", "button").click()
            wait_for_run(tab)
            expect(chips(tab)).to_have_count(1)
        main = other.locator('[data-testid="stMain"]')
        expect(main).to_contain_text("Step 1 chose")
        expect(main).to_contain_text("reused from an identical generation on this server")
        assert chips(page).all_inner_texts() == chips(other).all_inner_texts()
        screenshot(other, "generation_reused_step")
    finally:
        other.close()

"""Real browser: the generation page's lesson button replays the first lesson's greedy loop: 20 generated tokens."""

import pytest
from playwright.sync_api import expect

from core.lessons import GREEDY_LOOP_PROMPT, presets_for
from tests.browser.helpers import keyed, live, screenshot, wait_for_run

pytestmark = pytest.mark.browser
CHIPS = ".nte-generation .nte-chip"


def test_first_lessons_greedy_loop_in_one_click(page):
    page.goto(page.app_url + "/generation")
    wait_for_run(page)  # the first run may load the model
    expect(live(page, CHIPS)).to_have_count(0)
    label = presets_for("generation")[0].label
    button = keyed(page, "lessons.button.generation.0").get_by_role("button", name=label)
    expect(button).to_have_count(1)
    button.click()
    wait_for_run(page)  # the run of 20 steps (the chips stream in), ending in a rerun that draws the finished page
    expect(live(page, CHIPS)).to_have_count(20, timeout=300_000)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Stopped:", timeout=300_000)
    assert keyed(page, "generation.prompt", "textarea").input_value() == GREEDY_LOOP_PROMPT
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Stopped:")
    expect(main).to_contain_text("The first lesson's loop")
    page.mouse.move(0, 0)  # no tooltip over the page
    page.get_by_role("heading", name="The text so far").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, "lesson_greedy_loop")
    assert not page.dialogs

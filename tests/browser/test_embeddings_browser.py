"""Real browser: the Embeddings page shows a typed word's tokens and nearest tokens, draws the word map, and
answers bad input with a clear message."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, enter_text, keyed, live, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def test_embeddings_page_neighbours_map_and_bad_input(page):
    page.goto(page.app_url + "/embeddings")
    wait_for_run(page)  # the first run may load the model
    expect(page.get_by_role("heading", name="Embeddings").first).to_be_visible()
    expect(chart(page, "embeddings.map")).to_have_count(1)  # the countries-and-capitals map is drawn
    expect(chart(page, "embeddings.map").locator(".textpoint").filter(has_text="Paris")).to_have_count(1)
    enter_text(page, keyed(page, state.EMB_WORD, "input"), "dog", submit="Enter")
    expect(live(page, ".nte-chip").filter(has_text="dog").first).to_be_visible()
    bars = chart(page, "embeddings.neighbours.input")
    expect(bars).to_have_count(1)
    expect(bars.locator(".gtitle")).to_contain_text("Nearest to ␣dog")
    expect(bars.locator(".ytick").filter(has_text="dogs").first).to_be_visible()  # a real neighbour
    screenshot(page, "embeddings_dog")
    enter_text(page, keyed(page, state.EMB_WORD, "input"), "<img src=x onerror=alert(1)>", submit="Enter")
    expect(live(page, ".nte-chip").filter(has_text="img").first).to_be_visible()  # shown as text
    assert page.locator(".nte-tokens img").count() == 0
    enter_text(page, keyed(page, state.EMB_WORD, "input"), "", submit="Enter")
    expect(live(page, '[data-testid="stAlert"]').filter(has_text="Type a word first")).to_have_count(1)
    expect(chart(page, "embeddings.neighbours.input")).to_have_count(0)
    expect(chart(page, "embeddings.map")).to_have_count(1)  # the rest of the page still works
    screenshot(page, "embeddings_empty_word")
    assert not page.dialogs

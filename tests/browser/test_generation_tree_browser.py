"""Real browser: the generation-tree page loads, a beam step grows the chart, the share link round-trips, and a bad
prompt gives a clear message."""

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, keyed, screenshot, wait_for_run

pytestmark = pytest.mark.browser
TREE = "tree.chart"


def node_count(tab) -> int:
    """Token markers drawn in the tree (plotly draws one path.point per marker of the first trace)."""
    return chart(tab, TREE).locator("g.trace.scatter").first.locator("path.point").count()


def test_beam_step_share_link_and_bad_prompt(page):
    page.goto(page.app_url + "/generation_tree")
    wait_for_run(page)
    main = page.locator('[data-testid="stMain"]')
    expect(chart(page, TREE)).to_have_count(1)
    expect(main).to_contain_text("Beam: 0 of 5 steps")
    before = node_count(page)
    assert before == 3  # the prompt's three likeliest children

    keyed(page, "tree.step", "button").click()
    wait_for_run(page)
    expect(main).to_contain_text("Beam: 1 of 5 steps")
    keyed(page, "tree.step", "button").click()
    wait_for_run(page)
    expect(main).to_contain_text("Beam: 2 of 5 steps")
    expect(main).to_contain_text("Greedy, beam and sampled paths")
    after = node_count(page)
    assert after > before
    page.set_viewport_size({"width": 1440, "height": 2600})
    page.wait_for_timeout(1000)
    screenshot(page, "generation_tree_two_steps")

    query = parse_qs(urlparse(page.url).query)
    assert query["steps"] == ["2"] and query["prompt"] == ["The capital of France is"]
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    wait_for_run(other)
    expect(other.locator('[data-testid="stMain"]')).to_contain_text("Beam: 2 of 5 steps")
    assert node_count(other) == after
    other.close()

    box = keyed(page, "tree.prompt", "textarea")
    box.fill("   ")
    box.press("Control+Enter")
    wait_for_run(page)
    expect(main).to_contain_text("Type a prompt first")
    expect(chart(page, TREE)).to_have_count(0)
    assert not page.dialogs

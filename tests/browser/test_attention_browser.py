"""Real browser: the attention page draws a head's heatmap, switches head, and opens a head clicked in the overview;
the layer-by-layer page draws its lens heatmap."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, enter_text, keyed, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def heatmap(tab):
    """The head heatmap the explorer draws in the page (ui/attention_explorer.py)."""
    return keyed(tab, state.ATT_EXPLORER, '[data-testid="nte-attention-heatmap"]')


def heatmap_title(tab):
    return heatmap(tab).locator("svg.nte-heatmap text.title")


def expect_title(tab, text: str) -> None:
    expect(heatmap_title(tab)).to_contain_text(text, timeout=60_000)


def choose(tab, label: str, option: str) -> None:
    tab.get_by_role("combobox", name=label, exact=True).click()  # Streamlit 1.67 selectboxes are ARIA comboboxes
    tab.get_by_role("option", name=option, exact=True).click()
    wait_for_run(tab)


def choose_head(tab, option: str) -> None:
    """The explorer's Head select is a native <select>: picked in the page, then heard by the server."""
    keyed(tab, state.ATT_EXPLORER).get_by_role("combobox", name="Head", exact=True).select_option(label=option)
    wait_for_run(tab)


def test_attention_heatmap_switch_head_and_overview_click(page):
    page.goto(page.app_url + "/attention")
    wait_for_run(page)  # the first run may load the model
    expect_title(page, "layer 1, head 0")  # layers 1..30, as the logit lens and the pipeline number them
    cells = heatmap(page).locator("canvas")
    expect(cells).to_have_count(1)  # the explorer draws the cells as one image
    screenshot(page, "attention_head0")

    choose_head(page, "head 5")
    expect_title(page, "layer 1, head 5")
    choose(page, "Layer", "layer 3")
    expect_title(page, "layer 3, head 5")
    assert "kv head 1" in heatmap_title(page).text_content()
    screenshot(page, "attention_layer3_head5")

    # Click one square of the layers x heads overview: it opens that head.
    squares = chart(page, "attention.overview").locator(".scatterlayer .trace").first.locator("path.point")
    target = 9 * 10 + 7  # the 11th layer, head 7 (points are listed layer by layer)
    squares.nth(target).click(force=True)
    wait_for_run(page)
    expect_title(page, "layer 11, head 7")
    screenshot(page, "attention_overview_click")
    assert not page.dialogs


def test_longer_prompt_sink_toggle_and_generation_rows(page):
    page.goto(page.app_url + "/attention")
    wait_for_run(page)
    enter_text(
        page,
        page.locator("textarea[aria-label='Prompt']"),
        "Alice gave the book to Bob because she had finished reading it, and he wanted to read it too.",
    )
    expect(heatmap(page).locator("canvas")).to_have_count(1)
    screenshot(page, "attention_long_prompt")
    page.get_by_text("Hide the first token and renormalise").click()
    wait_for_run(page)
    expect(heatmap(page).locator("text.xtick").first).to_have_text(re.compile(r"^1 "), timeout=60_000)
    page.get_by_text("Show attention during generation").click()
    wait_for_run(page)
    gen = chart(page, "attention.generation")
    expect(gen).to_contain_text("generation steps")
    gen.scroll_into_view_if_needed()
    gen.screenshot(path=str(screenshot(page, "attention_generation").with_name("attention_generation_chart.png")))
    assert "generated →" in gen.text_content()
    assert not page.dialogs


def test_logit_lens_page_draws(page):
    page.goto(page.app_url + "/logit_lens")
    wait_for_run(page)
    lens = chart(page, "lens.heatmap")
    expect(lens.locator(".heatmaplayer")).to_have_count(1)
    text = lens.inner_text()
    assert "layer 30 (output)" in text and "embeddings" in text
    screenshot(page, "logit_lens")
    assert not page.dialogs

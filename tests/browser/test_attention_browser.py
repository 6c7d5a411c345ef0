"""Real browser: the attention page draws a head's heatmap, switches head, and opens a head clicked in the overview;
the layer-by-layer page draws its lens heatmap."""
import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'


def heatmap_title(tab) -> str:
    return tab.locator(CHART).first.locator(".gtitle").text_content()


def wait_for_title(tab, text: str) -> None:
    tab.wait_for_function(
        "([sel, text]) => { const t = document.querySelector(sel + ' .gtitle'); return t && t.textContent.includes(text); }",
        arg=[CHART, text], timeout=60_000)


def choose(tab, label: str, option: str) -> None:
    tab.get_by_role("combobox", name=label, exact=True).click()  # Streamlit 1.67 selectboxes are ARIA comboboxes
    tab.get_by_role("option", name=option, exact=True).click()
    wait_for_app(tab)


def test_attention_heatmap_switch_head_and_overview_click(page):
    page.goto(page.app_url + "/attention")
    wait_for_app(page)
    page.wait_for_selector(CHART + " .heatmaplayer", timeout=120_000)
    wait_for_title(page, "layer 0, head 0")
    cells = page.locator(CHART).first.locator(".heatmaplayer image")
    assert cells.count() == 1  # plotly draws the heatmap as one image
    screenshot(page, "attention_head0")

    choose(page, "Head", "head 5")
    wait_for_title(page, "layer 0, head 5")
    choose(page, "Layer", "layer 3")
    wait_for_title(page, "layer 3, head 5")
    assert "kv head 1" in heatmap_title(page)
    screenshot(page, "attention_layer3_head5")

    # Click one square of the layers x heads overview (the second chart): it opens that head.
    overview = page.locator(CHART).nth(1)
    squares = overview.locator(".scatterlayer .trace").first.locator("path.point")
    target = 9 * 10 + 7  # layer 10, head 7 (points are listed layer by layer)
    squares.nth(target).click(force=True)
    wait_for_title(page, "layer 10, head 7")
    screenshot(page, "attention_overview_click")
    assert not page.dialogs


def test_longer_prompt_sink_toggle_and_generation_rows(page):
    page.goto(page.app_url + "/attention")
    wait_for_app(page)
    box = page.locator("textarea[aria-label='Prompt']")
    box.fill("Alice gave the book to Bob because she had finished reading it, and he wanted to read it too.")
    box.press("Control+Enter")
    wait_for_app(page)
    page.wait_for_selector(CHART + " .heatmaplayer", timeout=120_000)
    screenshot(page, "attention_long_prompt")
    page.get_by_text("Hide the first token and renormalise").click()
    wait_for_app(page)
    page.wait_for_function(
        "sel => { const t = document.querySelector(sel + ' .xtick text'); return t && t.textContent.startsWith('1 '); }",
        arg=CHART, timeout=60_000)
    page.get_by_text("Show attention during generation").click()
    wait_for_app(page)
    gen = page.locator(CHART).filter(has_text="generation steps")
    gen.wait_for(timeout=120_000)
    gen.scroll_into_view_if_needed()
    gen.screenshot(path=str(screenshot(page, "attention_generation").with_name("attention_generation_chart.png")))
    assert "generated →" in gen.text_content()
    assert not page.dialogs


def test_logit_lens_page_draws(page):
    page.goto(page.app_url + "/logit_lens")
    wait_for_app(page)
    page.wait_for_selector(CHART + " .heatmaplayer", timeout=120_000)
    text = page.locator(CHART).first.inner_text()
    assert "layer 30 (output)" in text and "embeddings" in text
    screenshot(page, "logit_lens")
    assert not page.dialogs

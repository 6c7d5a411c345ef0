"""Real browser: the KV-cache page shows the seed example, and changing the preset changes the chart."""
import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'


def curve_title(tab) -> str:
    return tab.locator(CHART).first.locator(".gtitle").text_content()


def curve_path(tab) -> str:
    return tab.locator(CHART).first.locator("path.js-line").first.get_attribute("d")


def test_kv_cache_preset_changes_the_chart(page):
    page.goto(page.app_url + "/kv_cache")
    wait_for_app(page)
    page.wait_for_selector(CHART, timeout=180_000)  # the first run imports transformers and loads the model
    wait_for_app(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "1.00 GiB at 2,048 tokens" in body and "16.00 GiB at 32,768 tokens" in body
    page.wait_for_selector("text=Equal:", timeout=120_000)
    page.set_viewport_size({"width": 1400, "height": 3800})  # Streamlit scrolls inside the page: show it all
    page.wait_for_timeout(1000)
    screenshot(page, "kv_cache_seed_default")

    page.get_by_text("Published model", exact=True).click()
    wait_for_app(page)
    page.wait_for_function("sel => document.querySelector(sel)", arg=CHART)
    assert "Llama-3.1-8B" in curve_title(page)
    before = curve_path(page)
    page.get_by_role("combobox", name="Model").last.click()  # the page's preset box, not the sidebar's
    page.get_by_role("option", name="Gemma-2-9B").click()
    wait_for_app(page)
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.includes('Gemma-2-9B')", arg=CHART, timeout=60_000)
    after = curve_path(page)
    assert "Gemma-2-9B" in curve_title(page)
    assert before != after  # alternating sliding layers: a different curve, with a bend at 4,096 tokens
    assert "sliding window 4,096 on 21 of 42 layers" in page.locator('[data-testid="stMain"]').inner_text()
    screenshot(page, "kv_cache_gemma2")
    assert not page.dialogs

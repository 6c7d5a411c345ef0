"""Real browser: the KV-cache page shows the seed example, and changing the preset changes the chart."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, keyed, screenshot, wait_for_run

pytestmark = pytest.mark.browser
CURVE = "kv.curve_chart"


def curve_title(tab):
    return chart(tab, CURVE).locator(".gtitle")


def curve_path(tab) -> str:
    return chart(tab, CURVE).locator("path.js-line").first.get_attribute("d")


def test_kv_cache_preset_changes_the_chart(page):
    page.goto(page.app_url + "/kv_cache")
    wait_for_run(page)  # the first run imports transformers and loads the model
    main = page.locator('[data-testid="stMain"]')
    expect(chart(page, CURVE)).to_have_count(1)
    expect(main).to_contain_text("1.00 GiB at 2,048 tokens")
    expect(main).to_contain_text("16.00 GiB at 32,768 tokens")
    expect(main).to_contain_text("Equal:")
    page.set_viewport_size({"width": 1400, "height": 3800})  # Streamlit scrolls inside the page: show it all
    page.wait_for_timeout(1000)
    screenshot(page, "kv_cache_seed_default")

    page.get_by_text("Published model", exact=True).click()
    wait_for_run(page)
    expect(curve_title(page)).to_contain_text("Llama-3.1-8B")
    before = curve_path(page)
    keyed(page, "kv.preset").get_by_role("combobox", name="Model").click()  # the page's preset box, not the sidebar's
    page.get_by_role("option", name="Gemma-2-9B").click()
    wait_for_run(page)
    expect(curve_title(page)).to_contain_text("Gemma-2-9B")
    after = curve_path(page)
    assert before != after  # alternating sliding layers: a different curve, with a bend at 4,096 tokens
    expect(main).to_contain_text("sliding window 4,096 on 21 of 42 layers")
    screenshot(page, "kv_cache_gemma2")
    assert not page.dialogs

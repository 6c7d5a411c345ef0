"""Real browser: the whole-pipeline page shows every stage for the default prompt, follows a changed prompt, and
answers bad input with a message."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, enter_text, live, screenshot, wait_for_run

pytestmark = pytest.mark.browser
STAGES = [
    "1. Tokens",
    "2. Embedding of the last token",
    "3. 30 layers",
    "4. Final norm",
    "5. Logits and probabilities",
    "6. Sampling filters",
    "7. Sampled token",
    "8. KV cache one token longer",
]
CHARTS = [
    "pipeline.embedding",
    "pipeline.layers",
    "pipeline.normed",
    "pipeline.logits",
    "pipeline.filters",
    "pipeline.cache",
]


def test_pipeline_page_stages_prompt_change_and_bad_input(page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(page.app_url + "/pipeline")
    wait_for_run(page)  # the first run may load the model
    for stage in STAGES:
        expect(live(page, '[data-testid="stMarkdown"]').filter(has_text=stage).first).to_be_visible()
    for key in CHARTS:
        expect(chart(page, key)).to_have_count(1)
    chips = live(page, ".nte-tokens .nte-chip")
    assert chips.first.inner_text() == "The" and chips.first.get_attribute("title") == "token id 504"
    expect(live(page, '[data-testid="stMarkdown"]').filter(has_text="7. Sampled token").first).to_contain_text("Paris")
    expect(page.get_by_text("(30, 3, 6, 64)").first).to_be_attached()
    expect(page.locator('[data-testid="stPageLink"]').filter(has_text="KV-cache memory").first).to_be_visible()
    screenshot(page, "pipeline_top")
    chart(page, "pipeline.layers").scroll_into_view_if_needed()
    screenshot(page, "pipeline_layers")

    enter_text(page, page.get_by_label("Prompt"), "One, two, three, four")  # waits for the rerun
    expect(
        live(page, '[data-testid="stMarkdown"]').filter(has_text="2. Embedding of the last token").first
    ).to_contain_text("␣four")
    expect(live(page, ".nte-tokens .nte-chip").filter(has_text="three").first).to_be_visible()

    enter_text(page, page.get_by_label("Prompt"), "   ")
    expect(page.get_by_text("Type a prompt first").first).to_be_visible()
    expect(live(page, '[data-testid="stException"]')).to_have_count(0)
    expect(chart(page, "pipeline.layers")).to_have_count(0)
    screenshot(page, "pipeline_bad_input")

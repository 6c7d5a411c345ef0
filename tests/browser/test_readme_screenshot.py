"""The README's screenshot, drawn by a real browser on every `make test` so it cannot go stale: the next-token page
after the lesson's prompt, with the whole menu and sidebar, at 1280 x 1200 (the prompt, the controls and the bars),
written to docs/next_token.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import enter_text, wait_for_app, wait_for_run
from ui.navigation import available_pages

pytestmark = pytest.mark.browser
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "next_token.png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_readme_screenshot_shows_todays_next_token_page(page):
    page.set_viewport_size({"width": 1280, "height": 1200})
    page.goto(page.app_url + "/next_token")
    wait_for_run(page)
    enter_text(page, page.locator("textarea[aria-label='Prompt']"), "The capital of France is")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Paris")  # the bars, drawn by the browser
    nav = page.locator('[data-testid="stSidebarNav"]')
    for info in available_pages():  # today's menu, every page by its title
        expect(nav).to_contain_text(info.title)
    wait_for_app(page)  # nothing left running: the picture is of a settled page
    README_SCREENSHOT.write_bytes(page.screenshot())
    assert README_SCREENSHOT.read_bytes()[:8] == PNG_MAGIC

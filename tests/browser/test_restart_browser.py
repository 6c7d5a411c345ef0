"""Real browser, own server: a paste over a box's limit is cut with a message (the browser's max_chars would drop
it without a word), and after a server restart the page says so and gets its generation run back from the URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Server, keyed, live, screenshot, wait_for_app, wait_for_run

pytestmark = pytest.mark.browser
CHIPS = ".nte-generation .nte-chip"
RESTARTED = "The server restarted"


@pytest.fixture(scope="module")
def server():
    own = Server()
    own.start()
    yield own
    own.stop()


@pytest.fixture
def tab(browser, server):
    page = browser.new_page()
    yield page
    page.close()


def test_an_over_long_paste_is_cut_with_a_message(tab, server):
    tab.goto(server.url + "/tokenizer")
    wait_for_app(tab)
    box = keyed(tab, "tokenizer.prompt", "textarea")
    text = "abc " * 6_300  # 25,200 characters; the box takes 20,000
    box.fill(text)
    box.press("Control+Enter")
    wait_for_run(tab)
    assert box.input_value() == text[:20_000]  # with max_chars on the widget the browser kept the old text
    expect(tab.locator('[data-testid="stMain"]')).to_contain_text(
        "Your text had 25,200 characters; this box takes at most 20,000, so only the first 20,000 are used."
    )
    screenshot(tab, "paste_over_the_limit")


def test_after_a_server_restart_the_page_says_so_and_the_run_is_back(tab, server):
    tab.goto(server.url + "/generation")
    wait_for_app(tab)
    for n in range(1, 6):
        keyed(tab, "generation.step", "button").click()
        wait_for_run(tab)
        expect(live(tab, CHIPS)).to_have_count(n)
    before = live(tab, CHIPS).all_inner_texts()
    assert "steps=5" in tab.url
    main = tab.locator('[data-testid="stMain"]')
    expect(main).not_to_contain_text(RESTARTED)

    server.stop()
    server.start()  # the same port: the page's websocket reconnects by itself and the page runs again
    expect(main).to_contain_text(RESTARTED, timeout=180_000)
    wait_for_app(tab)
    expect(live(tab, CHIPS)).to_have_count(5)
    assert live(tab, CHIPS).all_inner_texts() == before
    expect(main).to_contain_text("Step 6: candidates for the next token")
    screenshot(tab, "restart_restored")

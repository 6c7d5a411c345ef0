"""A shared link that wakes a sleeping server: pages opened as the very first requests of a fresh
server show app.py's frame (titled navigation, model picker) and their own content, never the legacy file-name
sidebar and an empty main area. The cause was a folder named pages/ beside app.py (Streamlit's legacy multipage
mode until st.navigation runs once in the process); the pages live in app_pages/ now."""

from __future__ import annotations

import pytest

from tests.browser.helpers import Server, screenshot, wait_for_app

pytestmark = pytest.mark.browser
FIRST = {  # page -> a heading its own script draws
    "perplexity": "Perplexity",
    "kv_cache": "KV-cache memory",
    "tokenizer": "Tokenizer",
    "ngram": "N-gram model",
    "train": "Train a tiny GPT",
}
LEGACY_LABELS = ["kv cache", "ngram", "logit lens", "next token", "train"]  # v1 lists file names, lower case
# Records every line the sidebar navigation ever shows while the page loads (the legacy list only flashed).
WATCH_NAV = """
window.__navSeen = new Set();
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  if (nav) nav.innerText.split('\\n').forEach(line => window.__navSeen.add(line.trim()));
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture()
def fresh_server():
    server = Server()
    server.start()
    yield server.url
    server.stop()


def test_pages_opened_first_on_a_fresh_server_show_the_app(browser, fresh_server):
    tabs = {}
    for page in FIRST:  # all five requested before any script has run in this process
        tab = browser.new_page()
        tab.add_init_script(WATCH_NAV)
        tab.goto(f"{fresh_server}/{page}", wait_until="commit")
        tabs[page] = tab
    try:
        for page, heading in FIRST.items():
            tab = tabs[page]
            tab.get_by_role("heading", name=heading).first.wait_for(timeout=300_000)
            wait_for_app(tab, timeout=300_000)
            screenshot(tab, f"first_request_{page}")
            nav = tab.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "Next-token probabilities" in nav and "Train a tiny GPT" in nav, nav  # titles, not file names
            assert not set(LEGACY_LABELS) & {line.strip() for line in nav.split("\n")}, nav
            seen = set(tab.evaluate("[...window.__navSeen]"))
            assert not set(LEGACY_LABELS) & seen, f"the legacy file-name sidebar flashed on {page}: {sorted(seen)}"
            assert tab.get_by_text("Next-Token Explorer").count() >= 1  # app.py's sidebar frame ran
            main = tab.locator('[data-testid="stMain"]').inner_text()
            assert len(main) > 200, (page, main)
    finally:
        for tab in tabs.values():
            tab.close()

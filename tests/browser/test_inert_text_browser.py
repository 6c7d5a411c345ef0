"""User text is inert in the rendered page: a shared link carrying markdown, HTML, LaTeX and bare URLs
creates no off-site link or image, no heading and no formula, and the text is still shown as typed."""

from urllib.parse import quote

import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
PAYLOAD = (
    "Hi\n\n[PHISH](https://evil.example/p) ![im](https://evil.example/i.png) $x^2$ www.evil.example "
    "mail@evil.example <a href='https://evil.example/a'>a</a>\n\n# BIG"
)
NGRAM_CORPUS = (
    "visit https://evil.example/p now\nvisit www.evil.example now\nwrite mail@evil.example now\n# BIG [x](y) now"
)

OFF_SITE = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const links = [...main.querySelectorAll('a[href]')].map(a => a.href).filter(h => !h.startsWith(location.origin));
  const images = [...main.querySelectorAll('img[src]')].map(i => i.src)
    .filter(s => !s.startsWith(location.origin) && !s.startsWith('data:'));
  const headings = [...main.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => h.innerText).filter(t => t.includes('BIG'));
  const formulas = main.querySelectorAll('.katex, .katex-display, math').length;
  return {links, images, headings, formulas, text: main.innerText};
}"""


def check_inert(tab, name: str) -> str:
    found = tab.evaluate(OFF_SITE)
    screenshot(tab, name)
    assert found["links"] == [] and found["images"] == [], found
    assert found["headings"] == [], found["headings"]
    assert found["formulas"] == 0, "user text became LaTeX"
    return found["text"].replace("\u2060", "")


def test_generation_link_with_markdown_payload_is_inert(browser, app_url):
    tab = browser.new_page()
    try:
        tab.goto(f"{app_url}/generation?prompt={quote(PAYLOAD)}&t=0")
        tab.get_by_text("The text so far").wait_for(timeout=300_000)
        wait_for_app(tab, timeout=300_000)
        tab.locator(".st-key-generation-step button").click()
        tab.get_by_text("Step 1 chose").wait_for(timeout=300_000)
        wait_for_app(tab, timeout=300_000)
        text = check_inert(tab, "inert_generation")
        assert "[PHISH](https://evil.example/p)" in text and "# BIG" in text and "$x^2$" in text
    finally:
        tab.close()


def test_ngram_link_with_bare_urls_is_inert(browser, app_url):
    tab = browser.new_page()
    try:
        tab.goto(f"{app_url}/ngram?corpus={quote(NGRAM_CORPUS)}&start=visit")
        tab.get_by_text("P(next | context)", exact=True).wait_for(timeout=300_000)
        wait_for_app(tab, timeout=300_000)
        text = check_inert(tab, "inert_ngram")
        assert "https://evil.example/p" in text or "www.evil.example" in text
    finally:
        tab.close()


@pytest.mark.parametrize("page", ["perplexity", "tokenizer"])
def test_text_pages_show_the_payload_inert(browser, app_url, page):
    tab = browser.new_page()
    try:
        tab.goto(f"{app_url}/{page}?{'text' if page == 'perplexity' else 'prompt'}={quote(PAYLOAD)}")
        tab.locator('[data-testid="stHtml"]').first.wait_for(timeout=300_000)
        wait_for_app(tab, timeout=300_000)
        text = check_inert(tab, f"inert_{page}")
        assert "evil.example" in text
    finally:
        tab.close()

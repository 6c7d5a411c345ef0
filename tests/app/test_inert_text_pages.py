"""Text from a user or the model is shown inert on every page that shows it, through AppTest.

Every markdown string a page sends (markdown, captions, notes, button labels) is parsed: no link, image, heading,
list or code may come out of the payload, and no GitHub literal autolink may form. Every ``st.html`` block is
checked for tags: only the app's own span/div chips, never an ``<a>``, ``<img>`` or heading. The browser test
(tests/browser/test_inert_text_browser.py) checks the same in the rendered page.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from tests.app.helpers import assert_clean, html_blocks, open_page
from ui import state
from ui.model_picker import OTHER_HUB_ID

PAYLOAD = (
    "Hi\n\n[PHISH](https://evil.example/p) ![im](https://evil.example/i.png) $x^2$ www.evil.example "
    "mail@evil.example <a href='https://evil.example/a'>a</a>\n\n# BIG"
)
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I)
GFM_EMAIL = re.compile(r"(?:(?<=^)|(?<=[\s\W]))([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")
MARKUP_TAGS = re.compile(r"<(a|img|h[1-6]|script|iframe|ul|ol|pre|code|em|strong|table|blockquote)\b", re.I)
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_sources(at) -> list[str]:
    """Every markdown string on the page: markdown, captions, notes, titles and button labels."""
    sources = []
    for kind in ("markdown", "caption", "info", "warning", "success", "error"):
        sources += [str(e.value) for e in getattr(at, kind)]
    sources += [str(b.label) for b in at.button]
    return sources


def assert_inert(at, *, must_show: str = "evil") -> None:
    """No markup from user text anywhere; and the hostile text is on the page (the check is not vacuous)."""
    assert_clean(at)
    shown = False
    for source in markdown_sources(at):
        html = MARKDOWN.render(source)
        assert not re.search(r"<(a|img)\b[^>]*evil", html), source
        assert "<h1>BIG" not in html and "<h1>" not in html, source
        visible = re.sub(r"\\(.)", r"\1", source)  # what the autolinker sees: escapes resolved
        assert not [m for m in GFM_URL.finditer(visible) if "evil" in m.group(0)], source
        assert not [m for m in GFM_EMAIL.finditer(visible) if "evil" in m.group(0)], source
        assert not re.search(r"(?<!\\)\$x\^2(?<!\\)\$", source), source  # no LaTeX
        shown |= must_show in visible
    for block in html_blocks(at):
        assert not MARKUP_TAGS.search(block), block
        shown |= must_show in block
    assert shown, "the hostile text was not shown anywhere: the check would be vacuous"


def test_generation_page_text_so_far_is_inert():
    at = open_page("app_pages/generation.py")
    at.text_area(key=state.GEN_PROMPT).set_value(PAYLOAD).run()
    at.button(key="generation.step").click().run()
    at.button(key="generation.step").click().run()
    assert_inert(at)
    assert any(
        "[PHISH](https://evil.example/p)".replace("&", "&amp;") in b or "[PHISH](https://evil.example/p)" in b
        for b in html_blocks(at)
    )  # the text so far shows the prompt exactly


def test_generation_page_stop_string_and_branch_are_inert():
    at = open_page("app_pages/generation.py")
    at.text_area(key=state.GEN_PROMPT).set_value(PAYLOAD).run()
    for _ in range(3):
        at.button(key="generation.step").click().run()
    at.number_input(key=state.GEN_REWIND_TO).set_value(0).run()
    at.button(key="generation.rewind").click().run()
    assert_inert(at)  # the abandoned continuation is listed


@pytest.mark.parametrize(
    "page, key",
    [
        ("app_pages/next_token.py", "next_token.prompt"),
        ("app_pages/attention.py", "attention.prompt"),
        ("app_pages/logit_lens.py", "lens.prompt"),
        ("app_pages/perplexity.py", "perplexity.text"),
        ("app_pages/tokenizer.py", "tokenizer.prompt"),
    ],
)
def test_prompt_pages_show_the_payload_inert(page, key):
    at = open_page(page)
    at.text_area(key=key).set_value(PAYLOAD).run()
    buttons = [b for b in at.button if "score" in str(b.label).lower()]
    if buttons:
        buttons[0].click().run()
    # next-token, attention and logit-lens show the prompt only in charts (escaped there, see test_charts.py)
    assert_inert(at, must_show="evil" if page.endswith(("perplexity.py", "tokenizer.py")) else "")


def test_ngram_page_words_and_urls_are_inert():
    at = open_page("app_pages/ngram.py")
    corpus = (
        "visit https://evil.example/p now\nvisit www.evil.example now\nmail mail@evil.example now\n# BIG [x](y) now"
    )
    at.text_area(key=state.NGRAM_CORPUS).set_value(corpus).run()
    at.selectbox(key=state.NGRAM_CONTEXT).set_value("visit").run()
    at.text_input(key=state.NGRAM_START).set_value("visit").run()
    at.text_input(key=state.NGRAM_HELDOUT).set_value("visit https://evil.example/q $x^2$ now").run()
    assert_inert(at)


def test_model_picker_error_quoting_a_typed_id_is_inert(monkeypatch):
    """A typed model id is quoted in the refusal: the refusal must not turn it into a link."""
    monkeypatch.setenv("NTE_MAX_CACHED_MODELS", "2")  # a server that offers other models
    at = open_page("app_pages/home.py")
    at.sidebar.selectbox(key=state.MODEL_CHOICE).set_value(OTHER_HUB_ID).run()
    at.sidebar.text_input(key=state.MODEL_CUSTOM_ID).set_value("[PHISH](https://evil.example/p)").run()
    assert_clean(at)
    errors = [str(e.value) for e in at.sidebar.error]
    assert errors
    for source in errors:
        html = MARKDOWN.render(source)
        assert "<a" not in html and not GFM_URL.search(re.sub(r"\\(.)", r"\1", source)), source

"""The inert-text renderer: user and model text shows as typed, never as markup."""

import re

import pytest
from markdown_it import MarkdownIt

from components.inert import NO_BREAK_SPACE, WORD_JOINER, escape_html, inert_html, inert_markdown

PAYLOAD = "Hi\n\n[PHISH](https://evil.example/p) ![im](https://evil.example/i.png) $x^2$\n\n# BIG"
HOSTILE = [
    PAYLOAD,
    "see https://evil.example/p and www.evil.example and mail me@evil.example",
    "<a href='https://evil.example'>x</a> <img src=x onerror=alert(1)> <script>alert(1)</script>",
    "# H1\n## H2\nSetext\n===\n- item\n+ item\n1. one\n2) two\n> quote\n---",
    "    indented code\n\n\tcode after a tab",
    "```\nfence\n```\n~~~\nfence\n~~~",
    "**bold** _em_ `code` ~~strike~~ | a | b |\n|---|---|",
    ":red[coloured] :material/home: :smile: &amp; &#x3C;b&#x3E; \\*",
    "[ref]: https://evil.example\n[ref] [^1]\n[^1]: note",
    "$$\\int x$$ and \\(x\\) and $5 and $6",
]
# remark-gfm's literal-autolink patterns (mdast-util-gfm-autolink-literal, as bundled by Streamlit's frontend):
# they run on the text left after escapes are resolved, so escaping alone cannot stop them.
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I)
GFM_EMAIL = re.compile(r"(?:(?<=^)|(?<=[\s\W]))([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


def rendered(markdown: str) -> str:
    """HTML from a CommonMark + tables + strikethrough parser (block and inline structure)."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def unescaped(markdown: str) -> str:
    """The characters a reader sees: backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_markdown_creates_no_markup(text):
    source = inert_markdown(text)
    html = rendered(source)
    for tag in (
        "<a",
        "<img",
        "<h1",
        "<h2",
        "<ul",
        "<ol",
        "<li",
        "<pre",
        "<code",
        "<em",
        "<strong",
        "<s>",
        "<del",
        "<table",
        "<blockquote",
        "<hr",
        "<script",
    ):
        assert tag not in html, (tag, html)
    assert html.startswith("<p>") and html.count("<p>") == 1, html  # one paragraph: no new block can start
    assert "$" not in source.replace("\\$", "")  # every dollar escaped: no LaTeX
    assert not re.search(r"(?<!\\):[A-Za-z]", source)  # no :directive[ / :shortcode:
    visible = unescaped(source)
    assert not GFM_URL.search(visible) and not GFM_EMAIL.search(visible), visible


@pytest.mark.parametrize("text", HOSTILE + ["plain words, 100,000 chars: 3.2 s (ok)", "日本語 🙂 e\u0301 \u202eRTL"])
def test_inert_markdown_shows_exactly_the_text(text):
    source = inert_markdown(text)
    html = rendered(source)
    shown = re.sub(r"<br />\n?", "\n", html.removeprefix("<p>").removesuffix("</p>\n"))
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    shown = shown.replace(WORD_JOINER, "").replace(NO_BREAK_SPACE, " ")
    # Parsers differ on whitespace at a paragraph's edges (markdown-it trims no-break spaces, remark keeps them),
    # so lines are compared stripped; indentation is checked on the source below.
    assert [line.strip() for line in shown.split("\n")] == [line.strip() for line in text.split("\n")]


def test_indentation_is_kept_as_no_break_spaces():
    assert inert_markdown("  a\n\tb") == f"{NO_BREAK_SPACE * 2}a  \n{NO_BREAK_SPACE * 4}b"


def test_plain_punctuation_is_left_readable():
    assert inert_markdown("That text has 100,000 characters; at most 8,000 (see 3.2).") == (
        "That text has 100,000 characters; at most 8,000 (see 3.2)."
    )


def test_single_line_joins_lines_with_spaces():
    assert inert_markdown("a\nb", single_line=True) == "a b"
    assert "\n" not in inert_markdown(PAYLOAD, single_line=True)


def test_inert_html_escapes_everything_and_keeps_newlines():
    block = inert_html(PAYLOAD + "<script>alert(1)</script>\"'")
    assert "<script>" not in block and "&lt;script&gt;" in block
    assert "white-space:pre-wrap" in block and "\n\n# BIG" in block
    assert escape_html('"><img src=x>') == "&quot;&gt;&lt;img src=x&gt;"

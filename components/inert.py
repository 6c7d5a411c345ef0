"""The one renderer for text that comes from a user or a model: shown exactly as typed, never as markup.

Two targets, because Streamlit has two ways of drawing text:

- ``inert_html(text)`` for HTML blocks shown with ``st.html`` (token chips, the generated text): every character
  is HTML-escaped and newlines are kept by ``white-space: pre-wrap``. ``st.html`` does no markdown at all, so a
  blank line in the text can no longer end an HTML block and let markdown loose.
- ``inert_markdown(text)`` for a snippet inside a markdown string (``st.markdown``, ``st.caption``, ``st.info``,
  widget labels): every character that can start markup is backslash-escaped (no emphasis, links, images,
  headings, lists, tables, HTML, entities, ``$...$`` LaTeX or ``:directives:``; plain punctuation such as
  ``, . ( )`` stays as it is, so messages read and search as written), line starts keep their spaces as
  no-break spaces (no indented code block) and newlines become hard line breaks (no blank line, so no new block).
  Escapes alone do not stop GitHub-style *literal* autolinks (``https://…``, ``www.…``, ``name@host.org``): the
  markdown renderer finds those in the text after escapes are resolved. A WORD JOINER (U+2060, invisible, zero
  width) is put inside each such pattern (``https⁠://``, ``www⁠.``, ``name⁠@``), which the autolinker no longer
  recognises.
"""

from __future__ import annotations

import html
import re

WORD_JOINER = "\u2060"
NO_BREAK_SPACE = "\u00a0"
# Escaped wherever they stand: emphasis and code (* _ `), links and images ([ ]), HTML and entities (< > &),
# LaTeX ($), strikethrough (~), tables (|), headings (#) and the escape itself. Other punctuation is inert except
# at a line's start (lists, block quotes, setext headings; handled below) or as a ":" that opens a directive or
# shortcode (:red[...], :material/icon:, :smile:).
_ALWAYS = frozenset("\\`*_[]<>&$~|#")
_LIST_NUMBER = re.compile(r"\d{1,9}(?=[.)])")
# The GFM literal-autolink triggers: a scheme's colon, "www" before its dot, the "@" of an e-mail address.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=www)(?=\.)|(?=@)")


def _break_autolinks(text: str) -> str:
    return _AUTOLINK.sub(WORD_JOINER, text)


def _escape_line(line: str) -> str:
    stripped = line.lstrip(" \t")
    indent = line[: len(line) - len(stripped)].replace("\t", "    ").replace(" ", NO_BREAK_SPACE)
    out = []
    for i, ch in enumerate(stripped):
        after = stripped[i + 1 : i + 2]
        out.append("\\" + ch if ch in _ALWAYS or (ch == ":" and after and not after.isspace()) else ch)
    body = "".join(out)
    if number := _LIST_NUMBER.match(body):  # "1." or "1)" would start an ordered list
        body = number.group() + "\\" + body[number.end() :]
    elif body[:1] in ("-", "+", "="):  # a bullet, a setext underline or a thematic break
        body = "\\" + body
    return indent + body


def inert_markdown(text: str, *, single_line: bool = False) -> str:
    """``text`` as markdown source that renders as exactly these characters, with no markup of any kind.

    Args:
        text: user or model text (any Unicode, any length).
        single_line: put newlines as spaces (for button labels and table-like lines); otherwise each newline is a
            hard line break and an empty line holds a no-break space, so the text stays one paragraph.
    Returns:
        Markdown source safe to embed in any markdown string.
    """
    text = _break_autolinks(str(text)).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if single_line:
        return " ".join(_escape_line(line) for line in lines)
    return "  \n".join(_escape_line(line) or NO_BREAK_SPACE for line in lines)


def escape_html(text: str) -> str:
    """``text`` HTML-escaped (quotes too, so it is safe inside an attribute)."""
    return html.escape(str(text), quote=True)


def inert_html(text: str, *, css_class: str = "nte-text") -> str:
    """``text`` as an HTML block for ``st.html``: escaped, newlines and spaces kept as typed.

    Returns:
        ``<div class="nte-text" style="white-space:pre-wrap">…</div>``.
    """
    return f'<div class="{escape_html(css_class)}" style="white-space:pre-wrap">{escape_html(text)}</div>'

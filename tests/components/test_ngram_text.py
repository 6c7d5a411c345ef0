"""The n-gram page's generated sentence as markdown: start words, generated words in bold, all inert."""

from __future__ import annotations

from components.ngram import generated_markdown
from core.ngram import EOS


def test_generated_words_are_bold_and_inert():
    text = generated_markdown("<b>x</b> *left*", ["the", "parcel", EOS])
    assert text.endswith("**the parcel ⏎ \\<eos\\>**")
    assert "<b>" not in text and "*left*" not in text  # the typed start words are escaped, not styled


def test_no_generated_word_leaves_no_empty_bold_markers():
    assert "**" not in generated_markdown("the parcel", [])
    assert "**" not in generated_markdown("", [])
    assert generated_markdown("", []).strip() != ""  # still shows where the sentence starts

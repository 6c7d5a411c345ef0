"""A bad-input sweep: hostile text, numbers and URLs thrown at the pages through AppTest.

For each input: no exception and no catch-all error; a visible message where the input is refused; and the
next valid input works again on the same session.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import ROOT, all_text, assert_clean, open_page, sampler_payloads

pytestmark = pytest.mark.slow  # make test only: every prompt box with every hostile text

REFUSED = [
    "",
    "   ",
    "\n\n\t  ",
    "\u200b\u200c\ufeff",
    "\x00\x01\u200b \t",
    "\x00\x01\x07\x1b[2J control",  # control characters and bidi overrides: refused in every box, named
    "\u202eevil\u202c right-to-left override",
]
ODD = [
    "مرحبا بالعالم",
    "שָׁלוֹם עוֹלָם",
    "東京タワーは高い",
    "👨‍👩‍👧‍👦🎉🦜",
    "e\u0301\u0308\u0323 combining",
    "x" * 20_001,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "**bold** [link](javascript:alert(1))",
    ":red[x] $\\LaTeX$ :smile:",
    "# heading\n---\n```",
    "{{7*7}} ${7*7}",
    "' OR 1=1 --",
    "NaN",
    "-1e309",
    "🎉" * 2_000,
    "word " * 3_000,
]
HOSTILE_TEXT = REFUSED + ODD  # 25 inputs. (A lone surrogate cannot arrive from the browser: widget values travel as
# UTF-8 protobuf strings; core.text.clean_prompt still replaces one, see tests/core/test_next_token.py.)


def refused_message(at: AppTest) -> bool:
    return bool(at.info or at.warning or at.error)


@pytest.fixture(scope="module")
def next_token_app():
    return open_page("app_pages/next_token.py")


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_next_token_prompt(next_token_app, text):
    at = next_token_app
    at.text_area(key="next_token.prompt").set_value(text).run()
    assert_clean(at)
    if text in REFUSED:
        assert refused_message(at) and not sampler_payloads(at)
    else:
        assert sampler_payloads(at)
    if text in ("word " * 3_000, "x" * 20_001):  # kept to the end / cut to the box's limit, with a note
        assert "too long" in all_text(at)
    at.text_area(key="next_token.prompt").set_value("The capital of France is").run()
    assert_clean(at)
    assert sampler_payloads(at)[0]["rows"][0]["label"] == "␣Paris"


TOY_LOGITS = ["nan", "inf", "-inf", "1e309", "", "1,2,3,4,5,6", "a,b,c,d,e", "1;2;3;4;5", "0x10, 1, 2, 3, 4"]


@pytest.mark.parametrize("logits", TOY_LOGITS)
def test_toy_logits(logits):
    at = open_page("app_pages/next_token.py")
    at.radio(key="next_token.mode").set_value("Toy vocabulary").run()
    at.text_input(key="next_token.toy_logits").set_value(logits).run()
    assert_clean(at)
    assert at.info and not sampler_payloads(at)
    at.text_input(key="next_token.toy_logits").set_value("3, 1.5, -1, -2, -3").run()
    assert_clean(at)
    assert sampler_payloads(at)


MALFORMED_QUERIES = [
    {"t": "nan"},
    {"t": "inf"},
    {"t": "-1"},
    {"t": "1e999"},
    {"top_k": "-5"},
    {"top_k": "1.5"},
    {"top_p": "2"},
    {"seed": "1e99"},
    {"seed": "-1"},
    {"mode": "<script>"},
    {"top_n": "0"},
    {"prompt": "x" * 30_000},
    {"model": "../../etc/passwd"},
    {"model": "<img src=x onerror=alert(1)>"},
    {"t": "", "top_p": ""},
]


@pytest.mark.parametrize("query", MALFORMED_QUERIES, ids=[",".join(q) for q in MALFORMED_QUERIES])
def test_malformed_query_parameters_are_ignored_with_a_note(query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update(query)
    at.run()
    at.switch_page("app_pages/next_token.py").run()
    assert_clean(at)
    assert sampler_payloads(at)  # the page still works with its defaults
    assert "Ignored the link's" in all_text(at) or "Ignored the link's" in " ".join(c.value for c in at.sidebar.caption)


PAGE_PROMPTS = {  # page -> the key of its prompt box (all bound to the prompt shared between pages)
    "app_pages/generation.py": "generation.prompt",
    "app_pages/attention.py": "attention.prompt",
    "app_pages/logit_lens.py": "lens.prompt",
    "app_pages/perplexity.py": "perplexity.text",
    "app_pages/tokenizer.py": "tokenizer.prompt",
}
ACROSS_PAGES = [
    "",
    "\u200b\ufeff",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "👨‍👩‍👧‍👦🎉 東京 مرحبا",
    "\x1b[2J\x07 ctrl",
    "**x** [l](javascript:alert(1)) :red[y]",
]


@pytest.mark.parametrize("page", list(PAGE_PROMPTS))
def test_every_prompt_box_survives_hostile_text(page):
    key = PAGE_PROMPTS[page]
    at = open_page(page)
    for text in ACROSS_PAGES:  # 6 inputs x 5 pages
        at.text_area(key=key).set_value(text).run()
        assert_clean(at)
        if not text:  # (zero-width-only text is real input on the tokenizer and perplexity pages: it has tokens)
            assert refused_message(at), (page, text)
        assert not any("<script>" in m.value and "unsafe" in m.value for m in at.markdown)
    at.text_area(key=key).set_value("The capital of France is").run()
    assert_clean(at)
    assert len(at.main.children) > 3  # the page draws its content again

"""AppTest: the tokenizer page through app.py: chips, counts, comparison, trained BPE, chat template, vocab table."""

import re

import pytest

from core.seed_examples import CAPITAL_PROMPT, VOCAB_SIZES
from tests.app.helpers import all_text, assert_clean, html_blocks, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/tokenizer.py"


def chart(at, title_start):
    return next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith(title_start))


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_default_page(at):
    text = all_text(at)
    assert "␣capital" in text and "nte-chip" in text
    # "The capital of France is": 24 characters, 5 tokens (The, ␣capital, ␣of, ␣France, ␣is)
    assert metric(at, "Characters") == str(len(CAPITAL_PROMPT)) == "24" and metric(at, "Tokens") == "5"
    assert metric(at, "Characters per token") == "4.80"
    assert any("gives back exactly" in s.value for s in at.success)
    assert "your BPE (trained here)" in text.replace("\\", "")
    assert "&lt;|im_start|&gt;" in text and any("Where is my parcel?" in c.value for c in at.code)


def test_vocab_table_and_language_chart(at):
    vocab = chart(at, "Vocabulary sizes")["data"][0]
    sizes = dict(zip(vocab["y"], values(vocab["x"])))
    for name, size in VOCAB_SIZES.items():
        assert sizes[name] == size
    assert sizes["HuggingFaceTB/SmolLM2-135M-Instruct"] == 49_152
    langs = chart(at, "The same sentence")["data"][0]
    tokens = dict(zip(langs["x"], values(langs["y"])))
    assert tokens["Hindi"] > tokens["English"] and tokens["Chinese"] > tokens["English"]


def test_typed_text_updates_counts_and_escapes_html():
    at = open_page(PAGE)
    at.text_area(key=state.TOK_PROMPT).set_value("<script>alert(1)</script> 東京 📦\n").run()
    assert_clean(at)
    html = "\n".join(b for b in html_blocks(at) if "nte-chip" in b)
    assert "&lt;" in html and "<script" not in html and "</script" not in html  # "<" is its own token
    assert metric(at, "Bytes (UTF-8)") == str(len("<script>alert(1)</script> 東京 📦\n".encode()))
    assert "↵" in html


def test_bpe_vocab_control_and_cap():
    at = open_page(PAGE)
    at.slider(key=state.TOK_BPE_VOCAB).set_value(400).run()
    assert_clean(at)
    assert metric(at, "Vocabulary trained") == "400" and metric(at, "Merges learned") == "143"
    sweep = chart(at, "Bigger vocabulary")["data"][0]
    assert values(sweep["y"]) == sorted(values(sweep["y"]), reverse=True)
    at.slider(key=state.TOK_BPE_VOCAB).set_value(8000).run()
    assert_clean(at)
    assert int(metric(at, "Vocabulary trained").replace(",", "")) < 8000
    assert any("supports only" in w.value for w in at.warning)
    at.text_area(key=state.TOK_BPE_CORPUS).set_value("").run()
    assert_clean(at)
    assert any("corpus is empty" in i.value for i in at.info)
    at.text_area(key=state.TOK_BPE_CORPUS).set_value("x" * 200_001).run()
    assert any("limit" in i.value for i in at.info)


def test_chat_template_toggle_and_other_tokenizers():
    at = open_page(PAGE)
    before = [c.value for c in at.code][-1]
    at.toggle(key=state.TOK_CHAT_GEN_PROMPT).set_value(False).run()
    after = [c.value for c in at.code][-1]
    assert before.rstrip("\n").endswith("<|im_start|>assistant↵") and "<|im_start|>assistant" not in after
    at.text_input(key=state.TOK_CHAT_SYSTEM).set_value("Answer in French.").run()
    assert "Answer in French." in [c.value for c in at.code][-1]
    at.multiselect(key=state.TOK_OTHERS).set_value(["gpt2"]).run()
    assert_clean(at)
    assert any("not available offline" in i.value for i in at.info)


def test_empty_and_huge_text():
    at = open_page(PAGE)
    at.text_area(key=state.TOK_PROMPT).set_value("").run()
    assert_clean(at)
    assert any("empty" in i.value for i in at.info)
    # The text box itself caps a paste at 20,000 characters (its counter shows the cap); the page stays clean.
    at.text_area(key=state.TOK_PROMPT).set_value("ab " * 10_000).run()
    assert_clean(at)
    assert int(metric(at, "Characters").replace(",", "")) <= 20_000


def test_odd_unicode_text():
    at = open_page(PAGE)
    at.text_area(key=state.TOK_PROMPT).set_value("\u200b\u200d\ufeff e\u0301 👩‍👩‍👧 مرحبا").run()
    assert_clean(at)
    assert any("gives back exactly" in s.value for s in at.success)
    html = next(b for b in html_blocks(at) if "nte-chip" in b)
    chips = re.findall(r'white-space:pre">(.*?)</span>', html)
    assert len(chips) == int(metric(at, "Tokens"))
    assert all(c.strip() for c in chips)  # no invisible chip: zero-width bytes show as � [piece] or <U+...>

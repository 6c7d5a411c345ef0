"""Tokenizer views: exact round trips, visible whitespace, chat template tokens, trained BPE, vocabulary table."""

from pathlib import Path

import pytest

from core.bpe import MIN_BPE_VOCAB, bpe_size_sweep, train_bpe
from core.seed_examples import VOCAB_SIZES
from core.tokens import (
    SAME_SENTENCE,
    TokenizerError,
    chat_messages,
    chat_view,
    kv_bytes_per_token,
    language_costs,
    load_tokenizer,
    round_trips,
    token_view,
    vocab_size_rows,
)
from core.tokens import check_tokenizer_text as check_text

ROOT = Path(__file__).resolve().parents[2]
MIXED = (
    "Order #42 shipped 📦👩‍👩‍👧 to 東京 and مرحبا بالعالم; zero\u200bwidth, e\u0301 (combining), "
    "tabs\tand\r\nnew lines, Ελληνικά, हिन्दी, 🇺🇸 and a <script>alert(1)</script>"
)
# A corpus big enough to support a few thousand merges: this repository's own core sources.
BIG_CORPUS = "\n".join(p.read_text() for p in sorted((ROOT / "core").glob("*.py")))[:150_000]


@pytest.mark.parametrize("text", [MIXED, *SAME_SENTENCE.values(), " leading and trailing  ", "\u200b", "a" * 500])
def test_bundled_tokenizer_round_trips_mixed_scripts(bundled_lm, text):
    assert round_trips(bundled_lm.tokenizer, text)
    view = token_view(bundled_lm.tokenizer, text)
    assert bundled_lm.tokenizer.decode(list(view.ids)) == text
    assert len(view.ids) == len(view.labels) == len(view.pieces) == view.tokens


def test_counts_and_visible_whitespace(bundled_lm):
    view = token_view(bundled_lm.tokenizer, "The capital of France is\n Paris")
    assert view.chars == 31 and view.bytes == 31
    assert view.chars_per_token == pytest.approx(31 / view.tokens)
    assert "␣capital" in view.labels and "↵" in "".join(view.labels)
    assert not any(view.special)
    emoji = token_view(bundled_lm.tokenizer, "📦")
    assert emoji.bytes == 4 and emoji.chars == 1 and emoji.tokens >= 2  # one character, several byte tokens


def test_typed_special_token_text_is_a_special_token(bundled_lm):
    view = token_view(bundled_lm.tokenizer, "hi <|im_end|>")
    assert view.special[-1] and view.labels[-1] == "<|im_end|>"


def test_chat_template_is_the_exact_token_sequence(bundled_lm):
    tok = bundled_lm.tokenizer
    messages = chat_messages("Be brief.", "Where is my parcel?")
    view = chat_view(tok, messages)
    reference = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    reference = reference["input_ids"] if hasattr(reference, "keys") else reference
    assert list(view.ids) == list(reference)
    assert view.text.endswith("<|im_start|>assistant\n") and "Where is my parcel?" in view.text
    assert sum(view.special) == 5  # 2 messages x (start, end) + the generation prompt's start
    assert view.labels[0] == "<|im_start|>" and view.special[0]
    without = chat_view(tok, messages, add_generation_prompt=False)
    assert without.tokens < view.tokens
    assert chat_messages("  ", "hi") == [{"role": "user", "content": "hi"}]


def test_chat_template_missing_is_a_clear_error():
    bpe = train_bpe("hello world", 300)
    with pytest.raises(TokenizerError, match="no chat template"):
        chat_view(bpe, chat_messages("", "hi"))


@pytest.mark.parametrize("size", [300, 1000, 2500])
def test_trained_bpe_vocab_size_matches_the_control(size):
    bpe = train_bpe(BIG_CORPUS, size)
    assert not bpe.capped
    assert bpe.vocab_size == size == len(bpe.get_vocab())
    assert bpe.merges == size - MIN_BPE_VOCAB


def test_small_corpus_caps_the_vocabulary_honestly():
    bpe = train_bpe("low lower lowest", 5000)
    assert bpe.capped and MIN_BPE_VOCAB < bpe.vocab_size < 5000


def test_trained_bpe_round_trips_any_text_and_merges_help():
    bpe = train_bpe(BIG_CORPUS, 2000)
    assert round_trips(bpe, MIXED)  # byte-level: text never seen in training still decodes exactly
    bytes_only = train_bpe(BIG_CORPUS, MIN_BPE_VOCAB)
    assert bytes_only.merges == 0
    text = "def distribution(self, context): return probabilities"
    assert token_view(bytes_only, text).tokens == len(text.encode())  # no merges: one token per byte
    assert token_view(bpe, text).tokens < len(text) / 2


def test_bigger_vocabulary_means_fewer_tokens_per_word():
    rows = bpe_size_sweep(BIG_CORPUS, [MIN_BPE_VOCAB, 600, 1500, 4000], "the tokenizer returns the token ids")
    tokens = [r.tokens for r in rows]
    assert tokens == sorted(tokens, reverse=True) and tokens[0] > tokens[-1]
    assert [r.trained for r in rows] == [r.requested for r in rows]


@pytest.mark.parametrize(
    "corpus, size, match",
    [("", 500, "empty"), ("  \n", 500, "empty"), ("x" * 200_001, 500, "limit"), ("abc", 100, "from 257")],
)
def test_bad_bpe_input(corpus, size, match):
    with pytest.raises(TokenizerError, match=match):
        train_bpe(corpus, size)


def test_bad_text():
    with pytest.raises(TokenizerError, match="empty"):
        check_text("")
    with pytest.raises(TokenizerError, match="limit"):
        check_text("x" * 20_001)
    assert check_text("a\ud800b") == "a?b"  # a lone surrogate (from a browser) cannot be encoded; replaced


def test_non_english_costs_more_tokens_and_kv_memory(bundled_lm):
    per_token = kv_bytes_per_token(bundled_lm.facts)
    f = bundled_lm.facts
    assert per_token == 2 * f.layers * f.kv_heads * f.head_dim * 4
    rows = {r.language: r for r in language_costs(bundled_lm.tokenizer, per_token)}
    english = rows["English"].tokens
    assert all(rows[lang].tokens > english for lang in ("Russian", "Arabic", "Hindi", "Chinese"))
    assert rows["Hindi"].kv_bytes == rows["Hindi"].tokens * per_token


def test_vocab_table_has_seed_000_and_the_loaded_model(bundled_lm):
    rows = vocab_size_rows(bundled_lm.name, len(bundled_lm.tokenizer), {"your BPE": 1000})
    sizes = {name: size for name, size, _ in rows}
    assert all(sizes[name] == size for name, size in VOCAB_SIZES.items())
    assert sizes[bundled_lm.name] == 49_152 and sizes["your BPE"] == 1000


def test_other_tokenizers_fail_clearly_offline():
    with pytest.raises(TokenizerError, match="not available offline"):
        load_tokenizer("no-such-owner/no-such-tokenizer")


def test_bpe_lists_its_merges_in_the_order_learned():
    bpe = train_bpe("hello hello hello world world", 262)
    merges = bpe.merge_order(10)
    assert len(merges) == bpe.merges == 5
    assert merges[0] == ("e", "l", "el")  # "el" is the most frequent pair (three "hello"s)
    assert ("hel", "lo", "hello") in merges
    built = {merged for _, _, merged in merges}
    assert all(left in built or len(left) == 1 for left, _, _ in merges)  # each merge joins earlier tokens
    assert [bpe.encode(m)[0] for _, _, m in merges] == list(range(257, 262))  # ids in merge order

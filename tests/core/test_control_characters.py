"""One rule for control characters, box by box: every text box's core function refuses a right-to-left override
(U+202E) and a NUL (U+0000) with a message naming the character, and treats a zero-width space (U+200B) as that
box decides (kept where it is a real token, dropped where it is not a word break, refused for a guess)."""

from __future__ import annotations

import math

import pytest

from core.bpe import train_bpe
from core.embeddings import check_word, parse_words
from core.generation import clean_stop_strings, parse_stop_strings
from core.kv_cache import spec_from_hub
from core.ngram import split_corpus, split_sentence, start_words
from core.perplexity import PerplexityError, perplexity
from core.poll import check_guess, predict_steps
from core.serving.rooms import MemoryRoomStore, check_poll_prompt, normalise_code
from core.text import check_text, clean_prompt, control_problem
from core.tokens import chat_messages, check_tokenizer_text
from core.toy import parse_toy
from core.training import TOY_CORPUS, Trainer

RLO, ZWSP, NUL = "\u202e", "\u200b", "\x00"
CHARS = {"U+202E": RLO, "U+200B": ZWSP, "U+0000": NUL}
REFUSED, KEPT, DROPPED = "refused", "kept", "dropped"


def sentence(ch: str) -> str:
    return f"The capital{ch} of France is Paris"


def _corpus_words(text: str) -> str:
    return " ".join(" ".join(line) for line in split_corpus(text))


def _stop_strings(text: str) -> str:
    kept, notes = clean_stop_strings(parse_stop_strings(text))
    if not kept:
        raise ValueError(" ".join(notes))
    return "|".join(kept)


def _poll_room(text: str) -> str:
    store = MemoryRoomStore()
    return store.get(store.create_room(text).code).prompt


def _trainer(text: str) -> str:
    return Trainer(text + "\n" + TOY_CORPUS).text


# box -> (the core function the box calls, returning the text it keeps; what it does with U+200B)
BOXES = {
    "prompt (every model page)": (clean_prompt, KEPT),
    "class poll prompt": (check_poll_prompt, KEPT),
    "class poll prompt (room store)": (_poll_room, KEPT),
    "class poll guess": (check_guess, REFUSED),
    "predict-first text": (lambda t: " ".join(s.word for s in predict_steps(t)), DROPPED),
    "tokenizer text": (check_tokenizer_text, KEPT),
    "chat template messages": (lambda t: chat_messages(t, t)[-1]["content"] and check_tokenizer_text(t), KEPT),
    "BPE training corpus": (lambda t: (train_bpe(t * 3, 260), t)[1], KEPT),
    "n-gram corpus": (_corpus_words, DROPPED),
    "n-gram held-out sentence": (lambda t: " ".join(split_sentence(t)), DROPPED),
    "n-gram start words": (lambda t: " ".join(start_words(t)), DROPPED),
    "train corpus": (_trainer, KEPT),
    "embeddings word": (check_word, KEPT),
    "embeddings word list": (lambda t: ",".join(parse_words(t.replace(" ", ","))), DROPPED),
    "generation stop strings": (_stop_strings, KEPT),
    "toy tokens": (lambda t: ",".join(parse_toy(t.replace(" ", ","), ",".join(["1"] * len(t.split())))[0]), KEPT),
}


@pytest.mark.parametrize("box", list(BOXES))
@pytest.mark.parametrize("name", list(CHARS))
def test_every_box_follows_the_one_rule(box, name):
    call, zero_width = BOXES[box]
    ch = CHARS[name]
    expected = zero_width if ch == ZWSP else REFUSED
    if expected == REFUSED:
        with pytest.raises(ValueError) as caught:
            call(sentence(ch))
        assert str(caught.value), (box, name)
        if ch != ZWSP:
            assert name in str(caught.value), (box, str(caught.value))  # the message names the character
        return
    kept = call(sentence(ch))
    assert (ch in kept) == (expected == KEPT), (box, name, kept)


def test_the_message_says_where_the_character_is():
    problem = control_problem("ab\u202ecd", "prompt")
    assert problem.startswith("The prompt holds a right-to-left or left-to-right control, U+202E (RIGHT-TO-LEFT")
    assert "at character 3" in problem
    assert control_problem("tabs\tnew\nlines\r\n and emoji 👩‍👩‍👧 and joiners \u200c\u200d") is None


@pytest.mark.parametrize(
    "ch",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
        "\x1b",
        "\x07",
        "\x7f",
        "\x85",
        "\x0c",
    ],
)
def test_every_bidi_control_and_control_character_is_refused(ch):
    with pytest.raises(ValueError):
        check_text(f"a{ch}b", max_chars=100)


@pytest.mark.parametrize("name", list(CHARS))
def test_ids_and_codes_refuse_them_too(name):
    ch = CHARS[name]
    with pytest.raises(ValueError):
        spec_from_hub(f"meta-llama/Llama{ch}-3.1-8B")
    with pytest.raises(ValueError):
        normalise_code(f"K7M{ch}X3P")


@pytest.mark.parametrize("name", list(CHARS))
def test_the_perplexity_text_follows_the_one_rule(name, tiny_gpt2_lm):
    ch = CHARS[name]
    if ch == ZWSP:  # kept: the model scores it as the token it is
        assert math.isfinite(perplexity(tiny_gpt2_lm, sentence(ch)).perplexity)
        return
    with pytest.raises(PerplexityError, match=name.replace("+", r"\+")):
        perplexity(tiny_gpt2_lm, sentence(ch))

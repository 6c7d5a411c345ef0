"""Tokenizer views (seed 004): text -> token ids and readable token strings, and the chat template as the exact
token sequence. Training a BPE tokenizer lives in ``core.bpe``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.kv_cache import kv_cache_bytes
from core.lessons import FIRST_LESSON
from core.seed_examples import VOCAB_SIZES
from core.text import MAX_PROMPT_CHARS, TextError, check_text, token_label

# One sentence in several scripts (seed 001's shipping vocabulary), to show what non-English text costs.
SAME_SENTENCE: dict[str, str] = json.loads(
    (Path(__file__).parent / "data" / "same_sentence.json").read_text(encoding="utf-8")
)


class TokenizerError(TextError):
    """Text or a corpus the tokenizer views (and the tokenizers trained here) refuse; the message says why."""


@dataclass(frozen=True)
class TokenView:
    """One text through one tokenizer.

    Attributes:
        text: the text as given.
        ids: (T,) token ids.
        labels: (T,) readable token strings, whitespace and control characters made visible.
        pieces: (T,) the tokenizer's own token strings (byte-level BPE shows a space as 'Ġ').
        special: (T,) True where the token is a special token (<|im_start|>, ...).
    """

    text: str
    ids: tuple[int, ...]
    labels: tuple[str, ...]
    pieces: tuple[str, ...]
    special: tuple[bool, ...]

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def tokens(self) -> int:
        return len(self.ids)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0


def check_tokenizer_text(text: str | None, *, max_chars: int = MAX_PROMPT_CHARS, what: str = "text") -> str:
    """Text for a tokenizer view (``core.text.check_text``), or TokenizerError: empty or too long.

    Kept exactly as typed (spaces only, zero-width characters: a tokenizer shows them all); only lone surrogates
    become "?". Control characters (NUL, escape, ...) and bidirectional controls are refused, as in every box.
    """
    return check_text(
        text,
        max_chars=max_chars,
        what=what,
        error=TokenizerError,
        blank_ok=True,
        empty=f"The {what} is empty: type something to tokenize.",
    )


def _special_ids(tokenizer: Any) -> set[int]:
    ids = getattr(tokenizer, "all_special_ids", None)
    return {int(i) for i in ids} if ids is not None else set()


def view_ids(tokenizer: Any, ids: Sequence[int], text: str | None = None) -> TokenView:
    """Describe a token id sequence (e.g. a rendered chat template) with readable labels."""
    ids = [int(i) for i in ids]
    special = _special_ids(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(ids)
    labels = [token_label(tokenizer, i) if i not in special else str(p) for i, p in zip(ids, pieces)]
    text = tokenizer.decode(ids) if text is None else text
    return TokenView(text, tuple(ids), tuple(labels), tuple(str(p) for p in pieces), tuple(i in special for i in ids))


def token_view(tokenizer: Any, text: str) -> TokenView:
    """Tokenize ``text`` exactly as typed (no special tokens added) and describe every token.

    Args:
        tokenizer: a Hugging Face tokenizer or a ``TrainedBPE`` (anything with encode/decode/convert_ids_to_tokens).
    """
    text = check_tokenizer_text(text)
    return view_ids(tokenizer, tokenizer.encode(text, add_special_tokens=False), text)


def round_trips(tokenizer: Any, text: str) -> bool:
    """True when decode(encode(text)) gives back exactly ``text``."""
    return tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def chat_messages(system: str, user: str) -> list[dict[str, str]]:
    """Chat messages for the template: an optional system message and one user message."""
    messages = [{"role": "system", "content": system}] if system and system.strip() else []
    return messages + [{"role": "user", "content": user}]


def chat_view(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> TokenView:
    """The chat template rendered as the exact token sequence the model sees (``apply_chat_template``).

    Raises:
        TokenizerError: the tokenizer has no chat template (a base model), or a message is too long.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError("This model's tokenizer has no chat template (it is a base model, not an instruct model).")
    for message in messages:
        check_tokenizer_text(message["content"], what=f"{message['role']} message")
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False)
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded  # transformers 5 returns a BatchEncoding
    return view_ids(tokenizer, ids, text)


@dataclass(frozen=True)
class LanguageRow:
    language: str
    text: str
    chars: int
    bytes: int
    tokens: int
    kv_bytes: int


def language_costs(
    tokenizer: Any, kv_bytes_per_token: int = 0, sentences: dict[str, str] = SAME_SENTENCE
) -> list[LanguageRow]:
    """Tokens of the same sentence in several scripts, and the KV-cache bytes those tokens would hold."""
    rows = []
    for language, text in sentences.items():
        view = token_view(tokenizer, text)
        rows.append(LanguageRow(language, text, view.chars, view.bytes, view.tokens, view.tokens * kv_bytes_per_token))
    return rows


def kv_bytes_per_token(facts: Any, bytes_per_value: int = 4) -> int:
    """Bytes of KV cache one token costs (``core.kv_cache.kv_cache_bytes`` of one token for a model's facts)."""
    return kv_cache_bytes(
        num_layers=facts.layers,
        num_kv_heads=facts.kv_heads,
        head_dim=facts.head_dim,
        seq_len=1,
        bytes_per_value=bytes_per_value,
    )


VOCAB_SIZES_SOURCE = f"{FIRST_LESSON}'s table"  # seed 000


def vocab_size_rows(
    model_name: str | None = None, model_vocab: int | None = None, extra: dict[str, int] | None = None
) -> list[tuple[str, int, str]]:
    """(model, vocabulary size, source) rows: seed 000's table, the loaded model's own, any extras."""
    rows = [(name, size, VOCAB_SIZES_SOURCE) for name, size in VOCAB_SIZES.items()]
    if model_name and model_vocab:
        rows.append((model_name, int(model_vocab), "the loaded model's tokenizer"))
    for name, size in (extra or {}).items():
        rows.append((name, int(size), "trained here"))
    return rows


def load_tokenizer(name: str) -> Any:
    """Load another model's tokenizer from the local Hugging Face cache only (never the network).

    Raises:
        TokenizerError: it is not in the local cache (this server is offline).
    """
    from transformers import AutoTokenizer

    from core.models import DEFAULT_MODEL, converted_model_dir, is_converted

    try:
        if name == DEFAULT_MODEL and is_converted():  # the bundled model's own copy, never the Hub
            return AutoTokenizer.from_pretrained(converted_model_dir())
        return AutoTokenizer.from_pretrained(name, local_files_only=True, trust_remote_code=False)
    except Exception as error:  # transformers raises OSError/ValueError/... for a missing cache entry
        raise TokenizerError(
            f"The {name} tokenizer is not available offline (it is not in this server's "
            f"Hugging Face cache): {type(error).__name__}."
        ) from error

"""Text hygiene shared by every page: prompt checks, and token text with whitespace made visible."""
from __future__ import annotations

import unicodedata
from typing import Any

MAX_PROMPT_CHARS = 20_000

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


class PromptError(ValueError):
    """A prompt the app will not send to the model; the message says why."""


def clean_prompt(text: str | None, *, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Return a prompt fit for the tokenizer, or raise PromptError with a clear message.

    Lone surrogates (impossible from a browser, possible from a notebook) become "?"; NUL bytes are dropped.
    Everything else, emoji, right-to-left text, zero-width characters, is kept as typed.
    """
    if text is None or not text.strip():
        raise PromptError("Type a prompt first: the model needs at least one token of context.")
    if len(text) > max_chars:
        raise PromptError(f"That prompt has {len(text):,} characters; the limit here is {max_chars:,}.")
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise PromptError("That prompt holds only invisible characters (spaces, zero-width or control characters).")
    return text


def visible_text(text: str) -> str:
    """Make whitespace, control and zero-width characters visible: ' Paris' -> '␣Paris'."""
    out = []
    for ch in text:
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out) if out else "∅"


def token_label(tokenizer: Any, token_id: int) -> str:
    """Readable text of one token with whitespace visible.

    Byte-level tokens that hold only part of a multi-byte character decode to U+FFFD; show their bytes.
    """
    text = tokenizer.decode([int(token_id)])
    if "\ufffd" in text:
        raw = tokenizer.convert_ids_to_tokens(int(token_id))
        if isinstance(raw, str) and raw:
            return f"{visible_text(text)} [{raw}]"
    return visible_text(text)

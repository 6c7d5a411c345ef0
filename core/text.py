"""Text hygiene shared by every page: the one check of typed text (``check_text``) and its error family, and
token text with whitespace made visible."""

from __future__ import annotations

import unicodedata
from typing import Any

from core.errors import InputError

MAX_PROMPT_CHARS = 20_000  # a text typed into a prompt box: prompts, and the tokenizer page's text

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
_INVISIBLE = ("Cc", "Cf")  # control and format characters (NUL, escape, zero-width space, ...)
# The one rule of every text box: control characters other than tab, newline and carriage return (NUL, escape,
# bell, ...) and the bidirectional controls (which reorder what everyone else sees: "\u202eevil" shows as "live")
# are refused. Zero-width characters (U+200B, joiners, U+FEFF) are not controls: each box keeps, drops or refuses
# them (``invisible``), since they are real tokens to a tokenizer and joiners are parts of emoji and words.
_LINE_CONTROLS = "\t\n\r"
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class TextError(InputError):
    """A text the app will not use; the message says why, for the person who typed it.

    Each use has its own subclass (PromptError here; PerplexityError, CorpusError, TokenizerError next to their
    users), so a page catches exactly the errors of what it does, and ``TextError`` catches them all.
    """


class PromptError(TextError):
    """A prompt the app will not send to the model; the message says why."""


def control_problem(text: str, what: str = "text") -> str | None:
    """Why ``text`` breaks the one rule for control characters (see above), naming the first such character and
    where it is; None when it does not."""
    for index, ch in enumerate(text):
        if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in _LINE_CONTROLS):
            name = unicodedata.name(ch, "")
            kind = "a right-to-left or left-to-right control" if ch in BIDI_CONTROLS else "a control character"
            code = f"U+{ord(ch):04X}" + (f" ({name})" if name else "")
            return (
                f"The {what} holds {kind}, {code}, at character {index + 1:,}: it is invisible "
                "and can change how the text looks to everyone else. Remove it and try again."
            )
    return None


def _only_invisible(text: str) -> bool:
    return all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in text)


def check_text(
    text: str | None,
    *,
    max_chars: int,
    what: str = "text",
    error: type[TextError] = TextError,
    empty: str | None = None,
    too_long: str | None = None,
    too_long_error: type[TextError] | None = None,
    blank_ok: bool = False,
    invisible: str = "keep",
) -> str:
    """Return ``text`` fit for a tokenizer, or raise ``error`` with a message for the person who typed it.

    The checks, in order:
      1. empty: None, "", or only whitespace (unless ``blank_ok``: a tokenizer shows spaces too) -> ``empty``;
      2. longer than ``max_chars`` -> ``too_long`` (a template with {what}, {length}, {limit}) as ``too_long_error``;
      3. lone surrogates (impossible from a browser, possible from a notebook) become "?";
      4. the one rule for every box: a control character other than tab, newline and carriage return (NUL,
         escape, ...) or a bidirectional control (U+202E, ...) is refused, named with its position;
      5. ``invisible``: "keep" leaves zero-width characters as typed; "refuse" raises when the text holds nothing
         visible; "drop" first removes them (they are not word breaks), then refuses an empty rest.

    Args:
        text: the text as typed.
        max_chars: the longest text accepted, in characters.
        what: what the text is, for the messages ("prompt", "corpus", "user message", ...).
        error: the TextError subclass to raise.
        empty / too_long: the messages, when the default wording ("The {what} is empty.", "The {what} has
            N characters; the limit here is M.") is not enough.
        too_long_error: the class for an over-long text (default ``error``).

    Returns:
        The checked text.

    Raises:
        TextError: ``error`` (or ``too_long_error``) with a message that says why.
    """
    if invisible not in ("keep", "refuse", "drop"):
        raise ValueError(f"invisible must be 'keep', 'refuse' or 'drop', got {invisible!r}")
    if text is None or not (text if blank_ok else text.strip()):
        raise error(empty or f"The {what} is empty.")
    if len(text) > max_chars:
        template = too_long or "The {what} has {length:,} characters; the limit here is {limit:,}."
        raise (too_long_error or error)(template.format(what=what, length=len(text), limit=max_chars))
    text = text.encode("utf-8", "replace").decode("utf-8")
    if problem := control_problem(text, what):
        raise error(problem)
    if invisible == "drop":
        text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE)
    if invisible != "keep" and _only_invisible(text):
        raise error(f"The {what} holds only invisible characters (spaces, zero-width or control characters).")
    return text


def clean_prompt(text: str | None, *, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Return a prompt fit for the tokenizer, or raise PromptError with a clear message.

    Lone surrogates become "?"; control characters (NUL, escape, ...) and bidirectional controls are refused
    (``control_problem``). Everything else, emoji, right-to-left text, zero-width characters, is kept as typed; a
    prompt of only invisible characters is refused.
    """
    return check_text(
        text,
        max_chars=max_chars,
        what="prompt",
        error=PromptError,
        invisible="refuse",
        empty="Type a prompt first: the model needs at least one token of context.",
    )


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

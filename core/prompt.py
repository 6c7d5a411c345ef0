"""The prompt encoder: typed text (or the chat template around it) to token ids, keeping the end of a long prompt."""

from __future__ import annotations

from core.models import LoadedModel
from core.text import PromptError, clean_prompt

# Beyond this many tokens the page keeps the end of the prompt (one forward pass stays around a second).
MAX_PROMPT_TOKENS = 2048


def prompt_ids_for(lm: LoadedModel, prompt: str, *, chat: bool = False) -> list[int]:
    """Token ids of a checked prompt (the app's one prompt encoder): the text itself, or the tokenizer's chat
    template with a generation prompt.

    Raises:
        PromptError: empty, invisible or too long (``clean_prompt``), chat mode on a tokenizer without a chat
            template, or no tokens at all.
    """
    text = clean_prompt(prompt)
    tokenizer = lm.tokenizer
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise PromptError(f"{lm.name}'s tokenizer has no chat template; use plain completion.")
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise PromptError("The tokenizer produced no tokens for that prompt.")
    return [int(i) for i in ids]


def encode_prompt(
    lm: LoadedModel, text: str, max_tokens: int | None = None, *, chat: bool = False
) -> tuple[list[int], int]:
    """``prompt_ids_for``, keeping the end when the prompt is longer than the window.

    Args:
        max_tokens: keep at most this many tokens (default MAX_PROMPT_TOKENS; never more than the context).

    Returns:
        (ids kept, number of tokens dropped from the start).
    """
    ids = prompt_ids_for(lm, text, chat=chat)
    limit = min(max_tokens or MAX_PROMPT_TOKENS, lm.context_length)
    dropped = max(0, len(ids) - limit)
    return ids[dropped:], dropped

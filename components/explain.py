"""Short explanations that depend on the numbers on screen."""

from __future__ import annotations


def sampling_notes(vocab_size: int, temperature: float, top_k: int, top_p: float) -> list[str]:
    """Plain-language notes on what the sampling settings do to this vocabulary."""
    notes = []
    if temperature == 0:
        notes.append("Temperature 0 is greedy decoding: the most likely token gets probability 1, every other 0.")
    if top_k >= vocab_size:
        notes.append(f"Top-k = {top_k:,} is at least the vocabulary size ({vocab_size:,}), so it keeps every token.")
    if top_p == 0:
        notes.append(
            "Top-p = 0 would keep nothing, so the sampler keeps the single most likely token (always at least one)."
        )
    return notes

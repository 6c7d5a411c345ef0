"""Attention maps: who each token looks at, per layer and head, read from the model's own attention weights.

Eager attention returns one (heads, T, T) matrix per layer; ``attention_maps`` stacks them into a numpy array
``(layers, heads, query, key)``. Everything else here is arithmetic on that array: per-head summaries,
grouped-query head sharing, the attention-sink display, and the rows added one by one during generation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.forward import ForwardFn, Need, forward_record
from core.generation import Runner, Stepper
from core.models import LoadedModel
from core.prompt import encode_prompt
from core.text import token_label

# Layers x heads x T^2 float32: at 160 tokens the default model's maps take 30*9*160^2*4 B = 27.6 MB.
DISPLAY_CAP = 160
MAX_NEW_TOKENS = 32


class AttentionUnavailable(RuntimeError):
    """The model did not return attention weights; the message says why and what would fix it."""


@dataclass(frozen=True, eq=False)
class AttentionMaps:
    """Attention weights of one forward pass over a prompt (or the window of it that was shown).

    Attributes:
        token_ids: the T token ids the model read.
        tokens: the T token labels (whitespace made visible), in order.
        weights: (layers, heads, T, T) float32; ``weights[l, h, q, k]`` is how much query token q
            attends to key token k in layer l, head h. Rows sum to 1; keys after the query are 0.
        kv_heads: number of key/value heads (fewer than heads under grouped-query attention).
        dropped_tokens: tokens cut from the start of the prompt to stay under the display cap.
        prompt_len: how many of the T tokens are prompt; the rest were generated (T when nothing was).
    """

    token_ids: list[int]
    tokens: list[str]
    weights: np.ndarray
    kv_heads: int
    dropped_tokens: int = 0
    prompt_len: int = -1

    @property
    def layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def heads(self) -> int:
        return int(self.weights.shape[1])

    @property
    def length(self) -> int:
        return int(self.weights.shape[-1])

    @property
    def windowed(self) -> bool:
        return self.dropped_tokens > 0

    @property
    def nbytes(self) -> int:
        return int(self.weights.nbytes)

    def head(self, layer: int, head: int | None) -> np.ndarray:
        """(T, T) weights of one head, or the mean over the layer's heads when ``head`` is None."""
        if head is None:
            return self.weights[layer].mean(axis=0)  # (T, T)
        return self.weights[layer, head]

    def kv_group(self, head: int) -> int:
        """Index of the key/value head query head ``head`` reads from: h // (heads / kv_heads)."""
        return kv_head_of(head, self.heads, self.kv_heads)


def kv_head_of(head: int, heads: int, kv_heads: int) -> int:
    """Key/value head used by query head ``head`` under grouped-query attention (transformers' repeat_kv)."""
    return int(head) // (int(heads) // int(kv_heads))


def query_heads_by_kv(heads: int, kv_heads: int) -> list[list[int]]:
    """For each key/value head, the query heads that share it: 9 heads over 3 -> [[0,1,2],[3,4,5],[6,7,8]]."""
    groups: list[list[int]] = [[] for _ in range(int(kv_heads))]
    for h in range(int(heads)):
        groups[kv_head_of(h, heads, kv_heads)].append(h)
    return groups


def forward_attentions(lm: LoadedModel, ids: list[int], forward: ForwardFn = forward_record) -> np.ndarray:
    """One forward pass with ``output_attentions=True``; (layers, heads, T, T) float32.

    Raises:
        AttentionUnavailable: when the model gives no attention weights (sdpa/flash attention, or a model
            whose code does not support them), instead of the empty tuple transformers returns.
    """
    record = forward(lm, ids, Need(attentions=True))
    if record.attentions is None:
        impl = getattr(lm.model.config, "_attn_implementation", None) or "unknown"
        raise AttentionUnavailable(
            f"{lm.name} returned no attention weights (its attention implementation is '{impl}'). "
            "Only eager attention materialises the weights; sdpa and flash attention never build them. "
            "Load the model with attn_implementation='eager' to see attention maps."
        )
    return record.attentions  # (L, H, T, T) float32


def maps_for_ids(
    lm: LoadedModel,
    ids: list[int],
    *,
    cap: int = DISPLAY_CAP,
    prompt_len: int | None = None,
    forward: ForwardFn = forward_record,
) -> AttentionMaps:
    """Attention maps for a list of token ids, keeping the last ``cap`` of them (the model reads only those)."""
    if not ids:
        raise ValueError("There are no tokens to look at.")
    dropped = max(0, len(ids) - cap)
    kept = list(ids[dropped:])
    weights = forward_attentions(lm, kept, forward)
    shown_prompt = len(kept) if prompt_len is None else max(0, prompt_len - dropped)
    return AttentionMaps(
        token_ids=kept,
        tokens=[token_label(lm.tokenizer, i) for i in kept],
        weights=weights,
        kv_heads=lm.facts.kv_heads,
        dropped_tokens=dropped,
        prompt_len=shown_prompt,
    )


def attention_maps(
    lm: LoadedModel, text: str, *, cap: int = DISPLAY_CAP, forward: ForwardFn = forward_record
) -> AttentionMaps:
    """Run the model once on ``text`` and return every layer's and head's attention weights.

    Args:
        lm: a model loaded with eager attention.
        text: the prompt (checked by ``clean_prompt``; empty prompts raise PromptError).
        cap: display cap; a longer prompt keeps its last ``cap`` tokens and the model reads only those.

    Returns:
        AttentionMaps with weights (layers, heads, T, T), T <= cap.
    """
    ids, dropped = encode_prompt(lm, text)
    maps = maps_for_ids(lm, ids, cap=cap, forward=forward)
    return replace(maps, dropped_tokens=maps.dropped_tokens + dropped) if dropped else maps


def head_summaries(weights: np.ndarray) -> dict[str, np.ndarray]:
    """Per-head numbers for the layers x heads overview, each (layers, heads).

    Averages over query positions 1..T-1 (query 0 can only look at itself), or over the one row when T = 1:
      entropy_bits: how spread out a row is (0 = all weight on one key).
      distance: mean number of tokens looked back, sum_k w[q, k] * (q - k).
      first_token: weight on the first token (the attention sink).
      previous_token: weight on the token just before the query.
    """
    L, H, T, _ = weights.shape
    rows = weights[:, :, 1:, :] if T > 1 else weights  # (L, H, Q, T)
    q_index = np.arange(1, T) if T > 1 else np.arange(1)  # (Q,)
    p = rows.astype(np.float64)
    logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    entropy = -(p * logs).sum(-1)  # (L, H, Q)
    gap = q_index[:, None] - np.arange(T)[None, :]  # (Q, T) how far back key k is from query q
    distance = (p * np.clip(gap, 0, None)).sum(-1)  # (L, H, Q)
    first = p[..., 0]  # (L, H, Q)
    if T > 1:
        previous = p[..., np.arange(T - 1), np.arange(T - 1)]  # (L, H, Q): w[q, q-1] for q = 1..T-1
    else:
        previous = np.zeros_like(first)
    return {
        "entropy_bits": entropy.mean(-1).astype(np.float32),
        "distance": distance.mean(-1).astype(np.float32),
        "first_token": first.mean(-1).astype(np.float32),
        "previous_token": previous.mean(-1).astype(np.float32),
    }


def without_first_key(matrix: np.ndarray) -> np.ndarray:
    """Hide the first key column and renormalise each row over the rest (for display only).

    Args:
        matrix: (..., Q, K) attention rows.

    Returns:
        (..., Q, K - 1) rows summing to 1; a row with no weight left (query 0) is NaN, drawn as empty.
    """
    rest = matrix[..., 1:].astype(np.float64)  # (..., Q, K-1)
    totals = rest.sum(axis=-1, keepdims=True)  # (..., Q, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(totals > 0, rest / np.where(totals > 0, totals, 1.0), np.nan)
    return out.astype(np.float32)


def greedy_continuation(lm: LoadedModel, ids: list[int], new_tokens: int, *, runner: Runner | None = None) -> list[int]:
    """Greedy decode with the app's one decode loop: a ``Stepper`` at temperature 0 (prefill, then one token a step).

    Args:
        ids: prompt token ids (all of them are read).
        new_tokens: how many tokens to add (at most MAX_NEW_TOKENS); stops early at end-of-sequence.
        runner: where each model call runs (``Stepper``'s runner, e.g. the shared inference service); None: here.

    Returns:
        The generated ids (not including the prompt).
    """
    new_tokens = max(0, min(int(new_tokens), MAX_NEW_TOKENS))
    if new_tokens == 0:
        return []
    stepper = Stepper(lm, "", prompt_ids=ids, temperature=0.0, max_new_tokens=new_tokens, runner=runner)
    stepper.run(new_tokens)
    return stepper.generated_ids


def generation_maps(
    lm: LoadedModel,
    all_ids: list[int],
    prompt_len: int,
    *,
    cap: int = DISPLAY_CAP,
    forward: ForwardFn = forward_record,
) -> AttentionMaps:
    """Attention over prompt + generated tokens; rows ``prompt_len..T-1`` are the generated tokens' rows.

    With a KV cache each decode step feeds one token: it adds one query row and one key/value column. The
    rows computed here in one pass equal those the cached steps compute (tests check it).
    """
    return maps_for_ids(lm, all_ids, cap=cap, prompt_len=prompt_len, forward=forward)


def generation_attention(
    lm: LoadedModel,
    text: str,
    new_tokens: int,
    *,
    cap: int = DISPLAY_CAP,
    forward: ForwardFn = forward_record,
    runner: Runner | None = None,
) -> AttentionMaps:
    """Generate ``new_tokens`` greedily after ``text``, then return the attention maps of prompt + generated.

    Args:
        forward: runs the maps' forward pass; runner: runs the decode loop's model calls (both default to here).
    """
    ids, dropped = encode_prompt(lm, text)
    room = max(1, cap - MAX_NEW_TOKENS)  # leave room for the new tokens under the cap
    dropped += max(0, len(ids) - room)
    ids = ids[-room:]
    new = greedy_continuation(lm, ids, new_tokens, runner=runner)
    maps = generation_maps(lm, ids + new, len(ids), cap=cap, forward=forward)
    return replace(maps, dropped_tokens=maps.dropped_tokens + dropped)

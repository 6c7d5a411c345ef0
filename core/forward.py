"""One forward pass over a prompt, kept as a record that several pages read (next-token, attention, logit lens).

A page asks for what it needs (the logits of the last few positions, the attention weights, the hidden states).
``forward_record`` runs the model once and keeps exactly that. A caller that holds records (a session's memo)
reuses one when it ``covers`` the request and otherwise runs one pass for the union of both requests, so a
student who opens the attention page, then the next-token and layer-by-layer pages on the same prompt, pays for
one forward pass, not three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from core.models import LoadedModel, accepts_argument


@dataclass(frozen=True)
class Need:
    """What a page needs from a forward pass.

    Attributes:
        positions: logits of this many last positions (1 = the next token only).
        attentions: every layer's attention weights (runs the model's eager attention).
        hidden_states: the residual stream after the embeddings and after every layer.
    """

    positions: int = 1
    attentions: bool = False
    hidden_states: bool = False

    def union(self, other: Need) -> Need:
        return Need(
            max(self.positions, other.positions),
            self.attentions or other.attentions,
            self.hidden_states or other.hidden_states,
        )


@dataclass(frozen=True)
class ForwardRecord:
    """The outputs of one forward pass of ``model_name`` over ``ids``.

    Attributes:
        ids: the T token ids the model read.
        logits: (P, V) float32 logits of the last P positions (upcast once).
        attentions: (L, H, T, T) float32 attention weights, or None when they were not asked for (or the
            model's attention implementation does not build them).
        hidden_states: L + 1 tensors of shape (T, D), or None when not asked for.
    """

    model_name: str
    ids: tuple[int, ...]
    need: Need
    logits: torch.Tensor
    attentions: np.ndarray | None
    hidden_states: tuple[torch.Tensor, ...] | None

    def covers(self, need: Need) -> bool:
        """Whether this record holds everything ``need`` asks for."""
        return (
            self.need.positions >= need.positions
            and (self.need.attentions or not need.attentions)
            and (self.need.hidden_states or not need.hidden_states)
        )

    @property
    def next_token_logits(self) -> torch.Tensor:
        """(V,) float32 logits of the token after the last one."""
        return self.logits[-1]

    @property
    def nbytes(self) -> int:
        """Bytes held by the record's arrays (for a memo with a byte budget)."""
        total = self.logits.numel() * self.logits.element_size()
        if self.attentions is not None:
            total += self.attentions.nbytes
        if self.hidden_states is not None:
            total += sum(h.numel() * h.element_size() for h in self.hidden_states)
        return total


ForwardFn = Callable[[LoadedModel, list[int], Need], ForwardRecord]


def forward_record(lm: LoadedModel, ids: list[int], need: Need | None = None) -> ForwardRecord:
    """Run ``lm`` once over ``ids`` (no cache, an all-ones mask) and keep what ``need`` asks for.

    Args:
        lm: a loaded model (the shared read-only copy).
        ids: T token ids, T >= 1.
        need: what to keep (default: the last position's logits only); see ``Need``.
    Returns:
        A ForwardRecord; its ``attentions`` is None when the model built no weights (callers that need them
        say so in their own words, e.g. core.attention.AttentionUnavailable).
    """
    if not ids:
        raise ValueError("There are no tokens to run the model on.")
    need = need or Need()
    positions = max(1, min(int(need.positions), len(ids)))
    input_ids = torch.tensor([list(ids)])  # (1, T)
    extra = {"logits_to_keep": positions} if accepts_argument(lm.model, "logits_to_keep") else {}
    with torch.inference_mode():
        out = lm.model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            use_cache=False,
            output_attentions=need.attentions,
            output_hidden_states=need.hidden_states,
            **extra,
        )
    logits = out.logits[0, -positions:, :].float()  # (P, V) upcast once, as transformers' sampler does
    attentions = None
    if need.attentions:
        layers = getattr(out, "attentions", None)
        if layers and all(a is not None for a in layers):
            attentions = (
                torch.stack([a[0] for a in layers]).float().numpy().astype(np.float32, copy=False)
            )  # (L, H, T, T)
    hidden = tuple(h[0] for h in out.hidden_states) if need.hidden_states else None  # (L + 1) x (T, D)
    return ForwardRecord(
        lm.name, tuple(ids), Need(positions, need.attentions, need.hidden_states), logits, attentions, hidden
    )

"""The logit lens: what the model would predict if it stopped after each layer.

Each layer's hidden state goes through the model's final norm and then the unembedding (the output head),
exactly as the last layer's does. Skipping the final norm makes the early layers look wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.forward import ForwardFn, Need, forward_record
from core.models import LoadedModel
from core.prompt import encode_prompt
from core.text import token_label

# Positions read by the lens. Every position costs (layers + 1) x vocabulary logits.
LENS_CAP = 160
# Positions in the layers x positions grid (the last ones); each costs one (layers + 1, V) projection.
GRID_POSITIONS = 32
# Positions whose (positions, V) logits and probabilities exist at once, stage after stage: 32 x 49,152 float32 is
# 6 MB for SmolLM2, however many positions the grid reads.
LENS_CHUNK = 32
FINAL_NORM_NAMES = ("norm", "ln_f", "final_layer_norm", "final_layernorm", "norm_f", "final_norm")


class LensUnavailable(RuntimeError):
    """The model's final norm or output head could not be found; the message says which."""


def decoder_bases(model: Any) -> list[Any]:
    """Where a causal LM keeps its blocks and final norm: its base model (``model.model`` for Llama-likes,
    ``model.transformer`` for GPT-2) and its decoder, when it names one (None where it has neither)."""
    bases = [getattr(model, getattr(model, "base_model_prefix", ""), None)]
    if hasattr(model, "get_decoder"):
        try:
            bases.append(model.get_decoder())
        except (AttributeError, NotImplementedError):
            pass
    return bases


def final_norm(model: Any) -> torch.nn.Module:
    """The norm applied after the last layer (``model.model.norm`` for Llama-likes, ``transformer.ln_f`` for GPT-2)."""
    for base in decoder_bases(model):
        for name in FINAL_NORM_NAMES:
            module = getattr(base, name, None) if base is not None else None
            if isinstance(module, torch.nn.Module):
                return module
    raise LensUnavailable(
        f"Could not find the final norm of {type(model).__name__} (looked for {', '.join(FINAL_NORM_NAMES)}); "
        "the logit lens needs it to read the hidden states the way the last layer's are read."
    )


@dataclass(frozen=True, eq=False)
class LayerPredictions:
    """The logit lens over a prompt.

    Rows are stages: 0 = the token embeddings, l = after layer l, the last row = the model's output.

    Attributes:
        token_ids / tokens: the T prompt tokens the model read (labels with whitespace visible).
        positions: the P positions (indices into tokens, the last P) in the grid.
        final_ids: (P,) the model's own most likely next token at each grid position.
        final_prob: (stages, P) probability each stage gives to that final prediction.
        final_rank: (stages, P) its 1-based rank at each stage (1 = that stage's top token).
        top_ids / top_probs: (stages, P, n) each stage's n most likely tokens at each grid position.
        last_logits: (stages, V) float32 logits at the last position; the last row is the model's own logits.
        dropped_tokens: tokens cut from the start of the prompt to stay under the cap.
    """

    token_ids: list[int]
    tokens: list[str]
    positions: list[int]
    final_ids: list[int]
    final_prob: np.ndarray
    final_rank: np.ndarray
    top_ids: np.ndarray
    top_probs: np.ndarray
    last_logits: np.ndarray
    dropped_tokens: int
    tokenizer: Any = field(repr=False)

    @property
    def stages(self) -> int:
        return int(self.final_prob.shape[0])

    @property
    def layer_names(self) -> list[str]:
        """'embeddings', 'layer 1', ..., 'layer L (output)'."""
        last = self.stages - 1
        return ["embeddings"] + [f"layer {i}" + (" (output)" if i == last else "") for i in range(1, last + 1)]

    def last_probs(self, stage: int) -> np.ndarray:
        """(V,) softmax of one stage's logits at the last position (full vocabulary)."""
        return _softmax(torch.from_numpy(self.last_logits[stage])).numpy()

    def label(self, token_id: int) -> str:
        return token_label(self.tokenizer, int(token_id))


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.float(), dim=-1)


def layer_predictions(
    lm: LoadedModel,
    text: str,
    top_n: int = 5,
    *,
    grid_positions: int = GRID_POSITIONS,
    cap: int = LENS_CAP,
    forward: ForwardFn = forward_record,
    chunk: int = LENS_CHUNK,
) -> LayerPredictions:
    """Run the model once on ``text`` and decode every layer's hidden state with the final norm and the head.

    Args:
        lm: a loaded model.
        text: the prompt (checked by ``clean_prompt``).
        top_n: how many top tokens to keep per stage and position.
        grid_positions: how many of the last positions to decode (1 = the last position only).
        cap: the model reads at most the last ``cap`` prompt tokens.
        forward: runs the model (``forward_record``, or a session's memoised one).
        chunk: positions unembedded at once; only one (chunk, V) block of logits and one of probabilities exist.

    Returns:
        LayerPredictions with (layers + 1) stages; its last stage equals ``next_token_distribution``.
    """
    ids, dropped = encode_prompt(lm, text)
    dropped += max(0, len(ids) - cap)
    ids = ids[-cap:]
    T = len(ids)
    P = max(1, min(int(grid_positions), T))
    n = max(1, int(top_n))
    norm = final_norm(lm.model)
    head = lm.model.get_output_embeddings()
    if head is None:
        raise LensUnavailable(f"{type(lm.model).__name__} has no output head to unembed hidden states with.")
    record = forward(lm, ids, Need(positions=P, hidden_states=True))
    with torch.inference_mode():
        hidden = record.hidden_states  # stages x (T, D); transformers already applied the final norm to the last
        final_logits = record.logits[-P:]  # (P, V) float32, the model's own output
        final_ids = final_logits.argmax(-1)  # (P,)
        S, V = len(hidden), final_logits.shape[-1]
        k = min(n, V)
        final_prob = torch.empty(S, P, dtype=torch.float32)  # (stages, P)
        final_rank = torch.empty(S, P, dtype=torch.int64)  # (stages, P)
        top_ids = torch.empty(S, P, k, dtype=torch.int64)  # (stages, P, n)
        top_probs = torch.empty(S, P, k, dtype=torch.float32)  # (stages, P, n)
        last = torch.empty(S, V, dtype=torch.float32)  # (stages, V)
        # one (chunk, V) block each for logits, probabilities and the rank mask, written in place chunk after chunk
        rows = min(chunk, P)
        logits = torch.empty(rows, V, dtype=torch.float32)  # (chunk, V)
        probs = torch.empty(rows, V, dtype=torch.float32)  # (chunk, V)
        higher = torch.empty(rows, V, dtype=torch.bool)  # (chunk, V)
        for stage, h in enumerate(hidden):
            for a in range(0, P, chunk):
                b = min(a + chunk, P)
                m = b - a
                if stage == S - 1:
                    logits[:m].copy_(final_logits[a:b])  # exactly the model's logits, never a second norm
                else:
                    _unembed(head, norm(h[T - P + a : T - P + b]), logits[:m])  # (c, V)
                torch.softmax(logits[:m], dim=-1, out=probs[:m])  # (c, V)
                chosen = probs[:m].gather(-1, final_ids[a:b, None])  # (c, 1)
                final_prob[stage, a:b] = chosen[:, 0]
                torch.gt(probs[:m], chosen, out=higher[:m])
                torch.sum(higher[:m], dim=-1, out=final_rank[stage, a:b])
                final_rank[stage, a:b] += 1
                torch.topk(probs[:m], k, dim=-1, out=(top_probs[stage, a:b], top_ids[stage, a:b]))  # (c, n)
                if b == P:
                    last[stage].copy_(logits[m - 1])  # (V,) the last position's logits, a copy of one row
    return LayerPredictions(
        token_ids=list(ids),
        tokens=[token_label(lm.tokenizer, i) for i in ids],
        positions=list(range(T - P, T)),
        final_ids=[int(i) for i in final_ids],
        final_prob=final_prob.numpy(),
        final_rank=final_rank.numpy(),
        top_ids=top_ids.numpy(),
        top_probs=top_probs.numpy(),
        last_logits=last.numpy(),
        dropped_tokens=dropped,
        tokenizer=lm.tokenizer,
    )


def _unembed(head: torch.nn.Module, states: torch.Tensor, out: torch.Tensor) -> None:
    """Write the output head's float32 logits of (c, D) ``states`` into ``out`` (c, V), in place for a float32
    nn.Linear head (``states @ W^T + b``, as nn.Linear computes it), else through the head and a copy."""
    if isinstance(head, torch.nn.Linear) and head.weight.dtype == states.dtype == torch.float32:
        torch.matmul(states, head.weight.t(), out=out)
        if head.bias is not None:
            out += head.bias
    else:
        out.copy_(head(states))

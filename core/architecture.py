"""The model as one connected picture: each part of a causal LM (tokens -> embedding -> decoder blocks -> final norm
-> unembedding -> softmax -> sampler -> the appended token, and back) with its real tensor shape and one real value
for the user's prompt, read from a PipelineTrace and the model's config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.kv_cache import kv_cache_bytes
from core.logit_lens import final_norm
from core.models import LoadedModel
from core.pipeline import PipelineTrace, decoder_layers

ROTARY, LEARNED = "rotary", "learned"


@dataclass(frozen=True)
class Part:
    """One box of the diagram.

    Attributes:
        key: stable name of the part ("tokens", "embedding", ... ; see PART_KEYS).
        title: what the box is called on the picture.
        shapes: the tensor shape(s) at this part for this prompt, e.g. ((7, 576),); two when the part maps one
            shape to another (the unembedding: (d,) -> (V,)).
        value: one real number (or token) of this part for this prompt, as text.
        in_block: True for the parts inside every decoder block (drawn inside the "x L" frame).
    """

    key: str
    title: str
    shapes: tuple[tuple[int, ...], ...]
    value: str
    in_block: bool = False


@dataclass(frozen=True)
class Architecture:
    """The parts in the order the data flows, and the facts the picture states once."""

    parts: tuple[Part, ...]
    layers: int
    positions: str  # ROTARY (angles inside attention) or LEARNED (a vector added to the embedding)
    norm_kind: str  # the final norm's class, e.g. "LlamaRMSNorm" or "LayerNorm"
    next_token: str  # the most likely next token (what temperature 0 appends)

    def part(self, key: str) -> Part:
        return next(p for p in self.parts if p.key == key)


def position_kind(model: Any, trace: PipelineTrace) -> str:
    """How the model knows where a token sits: LEARNED when a position vector is added to the embedding (GPT-2's
    ``wpe``; the residual stream then starts away from the token's row), else ROTARY (Llama-likes such as SmolLM2
    rotate queries and keys inside attention and add nothing to the stream)."""
    if trace.position_added or any(hasattr(base, "wpe") for base in (getattr(model, "transformer", None),) if base):
        return LEARNED
    return ROTARY


def mlp_width(config: Any, hidden_size: int) -> int:
    """The MLP's inner width: ``intermediate_size`` (Llama-likes), ``n_inner`` (GPT-2, None means 4 x d)."""
    for name in ("intermediate_size", "n_inner"):
        value = getattr(config, name, None)
        if value:
            return int(value)
    return 4 * hidden_size


def norm_in_block(model: Any, fallback: str) -> str:
    """The class of the norm each decoder block applies before attention (RMSNorm in Llama-likes, LayerNorm in
    GPT-2), or ``fallback`` when the blocks cannot be found."""
    layers = decoder_layers(model)
    for module in layers[0].children() if layers else ():
        if "norm" in type(module).__name__.lower():
            return type(module).__name__
    return fallback


def architecture(lm: LoadedModel, trace: PipelineTrace) -> Architecture:
    """The diagram's parts for ``trace`` (the user's prompt through ``lm``).

    Shapes are batch-free: T prompt tokens, d hidden size, V vocabulary, H query heads, K key/value heads, D head
    dim, L layers, F the MLP width. Values come from the trace (norms of real vectors, the real top logit and
    probability) and the model's config; nothing is estimated except the KV-cache bytes, which use the exact
    formula that the KV-cache page checks against a real cache.
    """
    facts = lm.facts
    T, d, L = len(trace.token_ids), trace.hidden_size, trace.num_layers
    V = trace.distribution.vocab_size
    H, K, D = facts.attention_heads, facts.kv_heads, facts.head_dim
    F = mlp_width(lm.model.config, d)
    kind = position_kind(lm.model, trace)
    norm = type(final_norm(lm.model)).__name__
    block_norm = norm_in_block(lm.model, norm)
    top = trace.distribution.top_rows(1)[0]
    value_bytes = next(lm.model.parameters()).element_size()  # the cache holds the weights' dtype
    cache = kv_cache_bytes(num_layers=L, num_kv_heads=K, head_dim=D, seq_len=T, bytes_per_value=value_bytes)
    first, last = float(trace.residual_norms[1]), float(trace.residual_norms[-1])
    if kind == ROTARY:
        positions = Part(
            "positions",
            "Positions: rotary (in attention)",
            ((T, D // 2),),
            f"{T} positions, {D // 2} angles each",
        )
    else:
        positions = Part(
            "positions",
            "Positions: a learned row added",
            ((T, d),),
            f"start norm {float(trace.residual_norms[0]):.2f}",
        )
    parts = (
        Part("tokens", "Tokens", ((T,),), f"last id {trace.token_ids[-1]} = {trace.tokens[-1]}"),
        Part("embedding", "Embedding (a row per token)", ((T, d),), f"row norm {trace.embedding_norm:.2f}"),
        positions,
        Part("norm1", f"Norm ({block_norm})", ((T, d),), "scales each vector", in_block=True),
        Part(
            "attention",
            f"Attention: {H} heads, {K} KV heads",
            ((H, T, T),),
            f"adds norm {float(trace.attention_norms[-1]):.1f} (block {L})",
            in_block=True,
        ),
        Part("add1", "Add back (residual)", ((T, d),), f"norm {first:.1f} after block 1", in_block=True),
        Part("norm2", f"Norm ({block_norm})", ((T, d),), "scales again", in_block=True),
        Part(
            "mlp",
            f"MLP: {d} → {F} → {d}",
            ((T, F),),
            f"adds norm {float(trace.mlp_norms[-1]):.1f} (block {L})",
            in_block=True,
        ),
        Part("add2", "Add back (residual)", ((T, d),), f"norm {last:,.0f} after block {L}", in_block=True),
        Part("kv_cache", "KV cache (for the next token)", ((L, 2, K, T, D),), f"{cache / 1024:,.0f} KiB"),
        Part(
            "final_norm",
            f"Final norm ({norm})",
            ((d,),),
            f"norm {trace.final_residual_norm:,.0f} → {trace.normed_norm:,.1f}",
        ),
        Part("unembedding", "Unembedding (output head)", ((d,), (V,)), f"top {top.logit:.2f}"),
        Part("softmax", "Softmax (whole vocabulary)", ((V,),), f"p({top.token}) = {top.probability:.1%}"),
        Part("sampler", "Sampler: temperature, top-k, top-p", ((V,),), f"T = 0 picks {top.token}"),
        Part("append", "Append the token, repeat", ((T + 1,),), f"prompt + {top.token}"),
    )
    return Architecture(parts, L, kind, norm, top.token)


PART_KEYS = (
    "tokens",
    "embedding",
    "positions",
    "norm1",
    "attention",
    "add1",
    "norm2",
    "mlp",
    "add2",
    "kv_cache",
    "final_norm",
    "unembedding",
    "softmax",
    "sampler",
    "append",
)

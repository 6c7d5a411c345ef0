"""The whole pipeline for one prompt: the last token's path through the real model, stage by stage (seed 004).

tokens -> embedding row -> every layer's attention and MLP writing into the residual stream -> final norm ->
logits -> temperature / top-k / top-p -> a seeded sampled token -> the KV cache one token longer.

One forward pass with forward hooks on each layer's attention and MLP blocks (and the final norm) reads what
each block adds to the residual stream at the last position. Each block's effect on the prediction is measured
with the logit lens (core.logit_lens: the final norm, then the unembedding): the logit of the model's final top
token read from the residual stream just after the block minus just before it. These differences add up, layer
by layer, from the embedding's lens logit to the model's own logit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.embeddings import Neighbour, nearest_tokens
from core.kv_cache import KVSpec, measured_cache_bytes
from core.logit_lens import LensUnavailable, decoder_bases, final_norm
from core.models import LoadedModel, accepts_argument
from core.next_token import NextTokenDistribution, distribution_from_logits, next_token_probs
from core.prompt import encode_prompt
from core.sampling import filter_logits, make_generator, sample_token
from core.text import token_label

# The page reads at most the last this many prompt tokens (one pass with hidden states stays well under a second).
PIPELINE_CAP = 512
NEIGHBOURS = 6
LAYER_LISTS = ("layers", "h", "blocks", "layer")
ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")
MLP_NAMES = ("mlp", "feed_forward", "ffn")
# The attention and MLP outputs must add up to the next layer's residual stream within this relative error,
# or the split into the two is not shown (a model whose blocks rescale or norm their outputs before adding).
SPLIT_TOLERANCE = 1e-3


class PipelineUnavailable(LensUnavailable):
    """The model's layers (or their attention / MLP blocks) could not be found; the message says which."""


def decoder_layers(model: Any) -> list[torch.nn.Module]:
    """The model's list of transformer blocks (``model.model.layers`` for Llama-likes, ``transformer.h`` for GPT-2)."""
    for base in decoder_bases(model):
        for name in LAYER_LISTS:
            layers = getattr(base, name, None) if base is not None else None
            if isinstance(layers, torch.nn.ModuleList) and len(layers) > 0:
                return list(layers)
    raise PipelineUnavailable(
        f"Could not find the layers of {type(model).__name__} (looked for {', '.join(LAYER_LISTS)})."
    )


def _child(layer: torch.nn.Module, names: tuple[str, ...], what: str) -> torch.nn.Module:
    for name in names:
        module = getattr(layer, name, None)
        if isinstance(module, torch.nn.Module):
            return module
    raise PipelineUnavailable(
        f"Could not find the {what} block of {type(layer).__name__} (looked for {', '.join(names)})."
    )


def block_parts(layer: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The (attention, MLP) blocks of one layer (GPT-2: ``attn`` / ``mlp``; Llama: ``self_attn`` / ``mlp``)."""
    return _child(layer, ATTENTION_NAMES, "attention"), _child(layer, MLP_NAMES, "MLP")


@dataclass(frozen=True, eq=False)
class PipelineTrace:
    """The last prompt token's path through the model.

    Attributes:
        token_ids / tokens: the T prompt tokens the model read (labels with whitespace visible).
        dropped_tokens: tokens cut from the start of the prompt (over PIPELINE_CAP).
        embedding: (d,) the last token's row of the embedding matrix.
        neighbours: the tokens whose embedding rows are nearest to it by cosine (itself left out).
        start: (d,) the residual stream before the first layer (the embedding, plus a position vector in
            GPT-2-style models).
        residual_norms: (L + 1,) L2 norm of the residual stream after the embeddings and after each layer.
        attention_norms / mlp_norms: (L,) L2 norm of what each layer's attention and MLP block add.
        target_id: the model's own most likely next token, whose logit the lens follows.
        start_logit: the lens logit of target_id read from ``start``.
        attention_logit / mlp_logit: (L,) the change in that lens logit across each attention / MLP block
            (None when the blocks' outputs do not add up to the residual stream, see SPLIT_TOLERANCE).
        layer_logit: (L,) the change across each whole layer (always available, from the hidden states).
        lens_logits: (L + 1,) the lens logit of target_id after the embeddings and after each layer; the last is
            the model's own logit.
        normed: (d,) the final norm's output at the last position (what the unembedding reads).
        distribution: the full-vocabulary next-token distribution (the model's own logits, float32).
    """

    token_ids: list[int]
    tokens: list[str]
    dropped_tokens: int
    embedding: np.ndarray
    neighbours: list[Neighbour]
    start: np.ndarray
    residual_norms: np.ndarray
    attention_norms: np.ndarray
    mlp_norms: np.ndarray
    target_id: int
    start_logit: float
    attention_logit: np.ndarray | None
    mlp_logit: np.ndarray | None
    layer_logit: np.ndarray
    lens_logits: np.ndarray
    normed: np.ndarray
    distribution: NextTokenDistribution = field(repr=False)

    @property
    def num_layers(self) -> int:
        return int(self.layer_logit.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.embedding.shape[0])

    @property
    def split(self) -> bool:
        """Whether attention and MLP are shown apart (their outputs add up to the residual stream)."""
        return self.attention_logit is not None

    @property
    def position_added(self) -> bool:
        """Whether the residual stream starts from more than the token's row (a learned position vector)."""
        return not np.allclose(self.start, self.embedding, rtol=1e-5, atol=1e-6)

    @property
    def final_residual_norm(self) -> float:
        """Norm of the residual stream going into the final norm."""
        return float(self.residual_norms[-1])

    @property
    def embedding_norm(self) -> float:
        return float(np.linalg.norm(self.embedding))

    @property
    def normed_norm(self) -> float:
        """Norm of the final norm's output (what the unembedding reads)."""
        return float(np.linalg.norm(self.normed))

    @property
    def target_label(self) -> str:
        return self.distribution.token_text(self.target_id)


def _last_output(output: Any) -> torch.Tensor:
    """(d,) float32 copy of a block's output at the last position; blocks return a tensor or a tuple."""
    tensor = output[0] if isinstance(output, (tuple, list)) else output
    return tensor[0, -1].detach().float().clone()


def pipeline_trace(
    lm: LoadedModel, text: str, *, cap: int = PIPELINE_CAP, neighbours: int = NEIGHBOURS
) -> PipelineTrace:
    """Run the model once on ``text`` and follow its last token through every stage.

    Forward hooks on each layer's attention and MLP blocks and on the final norm capture their outputs at the
    last position. A hook records only the calls made by this thread, and is removed before returning, so a
    concurrent call of the shared model by another session is neither recorded nor changed.

    Args:
        lm: a loaded model.
        text: the prompt (checked by ``clean_prompt``).
        cap: the model reads at most the last ``cap`` prompt tokens.
        neighbours: how many nearest tokens of the embedding row to list.

    Raises:
        PromptError: an empty or invalid prompt. PipelineUnavailable: the model's blocks were not found.
    """
    ids, dropped = encode_prompt(lm, text, cap)
    model = lm.model
    norm = final_norm(model)
    head = model.get_output_embeddings()
    if head is None:
        raise PipelineUnavailable(f"{type(model).__name__} has no output head to unembed hidden states with.")
    parts = [block_parts(layer) for layer in decoder_layers(model)]
    L = len(parts)
    me = threading.get_ident()
    captured: dict[tuple[str, int], torch.Tensor] = {}

    def recorder(kind: str, index: int):
        def hook(_module, args, output):
            if threading.get_ident() == me:
                captured[(kind, index)] = _last_output(args[0] if kind == "norm_in" else output)

        return hook

    handles = []
    try:
        for i, (attention, mlp) in enumerate(parts):
            handles.append(attention.register_forward_hook(recorder("attention", i)))
            handles.append(mlp.register_forward_hook(recorder("mlp", i)))
        handles.append(norm.register_forward_hook(recorder("norm_in", 0)))
        handles.append(norm.register_forward_hook(recorder("norm_out", 0)))
        input_ids = torch.tensor([ids])  # (1, T)
        extra = {"logits_to_keep": 1} if accepts_argument(model, "logits_to_keep") else {}
        with torch.inference_mode():
            out = model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                use_cache=False,
                output_hidden_states=True,
                **extra,
            )
    finally:
        for handle in handles:
            handle.remove()
    missing = [
        key for key in [("attention", i) for i in range(L)] + [("mlp", i) for i in range(L)] if key not in captured
    ]
    if missing or ("norm_in", 0) not in captured:
        raise PipelineUnavailable(f"The forward pass of {type(model).__name__} did not run its blocks as expected.")
    logits = out.logits[0, -1].float()  # (V,) upcast once, the model's own logits
    dist = distribution_from_logits(logits, lm.tokenizer, ids, dropped)
    target = int(logits.argmax())
    with torch.inference_mode():
        hidden = [h[0, -1].float() for h in out.hidden_states[:L]]  # L x (d,): before layer 1 .. before layer L
        residual = torch.stack(hidden + [captured[("norm_in", 0)]])  # (L + 1, d) the stream, never normed
        attention = torch.stack([captured[("attention", i)] for i in range(L)])  # (L, d)
        mlp = torch.stack([captured[("mlp", i)] for i in range(L)])  # (L, d)
        middle = residual[:-1] + attention  # (L, d) after each attention block, before its MLP
        rebuilt = middle + mlp  # (L, d) should be the residual after each layer
        error = (rebuilt - residual[1:]).norm(dim=-1) / residual[1:].norm(dim=-1).clamp_min(1e-12)  # (L,)
        split = bool((error < SPLIT_TOLERANCE).all())
        stream = torch.cat([residual, middle])  # (2L + 1, d)
        lens = head(norm(stream))[:, target].float()  # (2L + 1,) lens logit of the target token
        lens[L] = logits[target]  # the last stage is exactly the model's own logit, never a second norm
        after, mid = lens[: L + 1], lens[L + 1 :]  # (L + 1,), (L,)
        embedding = model.get_input_embeddings().weight[ids[-1]].detach().float()  # (d,)
    near = nearest_tokens(lm, embedding, neighbours, "input", exclude=(ids[-1],))
    as_np = lambda t: t.detach().numpy().astype(np.float32)  # noqa: E731
    return PipelineTrace(
        token_ids=list(ids),
        tokens=[token_label(lm.tokenizer, i) for i in ids],
        dropped_tokens=dropped,
        embedding=as_np(embedding),
        neighbours=near,
        start=as_np(residual[0]),
        residual_norms=as_np(residual.norm(dim=-1)),
        attention_norms=as_np(attention.norm(dim=-1)),
        mlp_norms=as_np(mlp.norm(dim=-1)),
        target_id=target,
        start_logit=float(after[0]),
        attention_logit=as_np(mid - after[:-1]) if split else None,
        mlp_logit=as_np(after[1:] - mid) if split else None,
        layer_logit=as_np(after[1:] - after[:-1]),
        lens_logits=as_np(after),
        normed=as_np(captured[("norm_out", 0)]),
        distribution=dist,
    )


# --------------------------------------------------------------------------------------------------------------
# The sampler's filters, one at a time (the same core.sampling.filter_logits the other pages use).


@dataclass(frozen=True)
class FilterStage:
    """One filter of the sampler applied after the ones before it.

    Attributes:
        name: "temperature", "top-k" or "top-p".
        setting: the control's value as text ("0.7", "50", "off").
        active: whether it changes anything at this setting.
        kept: tokens that can still be sampled after this filter.
        cut: tokens this filter removed.
        mass_removed: probability of the removed tokens in the distribution that entered the filter.
        top_probability: probability of the most likely token after the filter (renormalised).
    """

    name: str
    setting: str
    active: bool
    kept: int
    cut: int
    mass_removed: float
    top_probability: float


@dataclass(frozen=True, eq=False)
class SamplingTrace:
    """The sampler's filters in order, the distribution it draws from, and the token it drew with ``seed``."""

    stages: list[FilterStage]
    probs: torch.Tensor  # (V,) float32 softmax of the filtered logits (what core.sampling.sampling_probs gives)
    seed: int
    token_id: int
    model_probability: float  # the token's probability under the model's own (T = 1) distribution
    sampling_probability: float  # its probability under the filtered distribution

    @property
    def kept(self) -> int:
        return self.stages[-1].kept


def _kept_probs(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)  # (V,) removed tokens (-inf) get exactly 0


def sampling_trace(logits: torch.Tensor, temperature: float, top_k: int, top_p: float, seed: int) -> SamplingTrace:
    """Apply temperature, then top-k, then top-p to ``logits`` (V,), counting what each removes; draw one token.

    Each stage is ``core.sampling.filter_logits`` with the controls so far, so the last one is exactly the
    distribution ``sampling_probs`` gives, and the draw is ``sample_token`` with ``make_generator(seed)``: the
    same token the next-token page's sample button draws with the same seed.
    """
    vocab = int(logits.shape[-1])
    greedy = temperature == 0
    settings = [
        ("temperature", f"{temperature:g}" + (" (greedy)" if greedy else ""), dict(temperature=temperature)),
        ("top-k", f"{top_k}" if top_k > 0 else "off", dict(temperature=temperature, top_k=top_k)),
        ("top-p", f"{top_p:g}" if top_p < 1 else "off", dict(temperature=temperature, top_k=top_k, top_p=top_p)),
    ]
    stages, before_kept, before_probs = [], vocab, None
    for name, setting, kwargs in settings:
        probs = _kept_probs(filter_logits(logits, **kwargs))  # (V,)
        kept = int((probs > 0).sum())
        removed = 0.0 if before_probs is None else float(before_probs.double()[probs == 0].sum())
        if name == "temperature" and greedy:
            removed = 1.0 - float(next_token_probs(logits).max())
        active = {
            "temperature": temperature != 1,
            "top-k": top_k > 0 and not greedy,
            "top-p": top_p < 1 and not greedy,
        }[name]
        stages.append(FilterStage(name, setting, active, kept, before_kept - kept, removed, float(probs.max())))
        before_kept, before_probs = kept, probs
    token = sample_token(before_probs, make_generator(int(seed)))
    model_probs = next_token_probs(logits)  # (V,)
    return SamplingTrace(stages, before_probs, int(seed), token, float(model_probs[token]), float(before_probs[token]))


# --------------------------------------------------------------------------------------------------------------
# The KV cache one token longer, measured on a real DynamicCache.


@dataclass(frozen=True)
class CacheGrowth:
    """A real DynamicCache after the prompt (prefill) and after one decode step with the sampled token.

    Shapes are (layers, kv_heads, tokens, head_dim): the cache holds one key and one value tensor of shape
    (batch, kv_heads, tokens, head_dim) per layer. Bytes are measured from the tensors (core.kv_cache
    .measured_cache_bytes) and estimated with KVSpec.cache_bytes for the same lengths.
    """

    before_shape: tuple[int, int, int, int]
    after_shape: tuple[int, int, int, int]
    before_bytes: int
    after_bytes: int
    estimated_before: int
    estimated_after: int
    bytes_per_value: int
    dtype: str

    @property
    def bytes_per_token(self) -> int:
        return self.after_bytes - self.before_bytes


def _cache_shape(cache: Any) -> tuple[int, int, int, int]:
    _, kv_heads, tokens, head_dim = cache.layers[0].keys.shape  # (batch, kv_heads, tokens, head_dim)
    return len(cache.layers), int(kv_heads), int(tokens), int(head_dim)


def cache_growth(lm: LoadedModel, ids: list[int], token_id: int) -> CacheGrowth:
    """Prefill ``ids`` into a fresh DynamicCache, then feed ``token_id`` as one decode step; measure both.

    The loop of core.generation in two calls: the whole prompt with an all-ones mask, then the new token alone
    with the mask grown by one.
    """
    from transformers import DynamicCache

    if not ids:
        raise ValueError("There are no tokens to fill a cache with.")
    cache = DynamicCache(config=lm.model.config)
    extra = {"logits_to_keep": 1} if accepts_argument(lm.model, "logits_to_keep") else {}
    with torch.inference_mode():
        prompt = torch.tensor([list(ids)])  # (1, T)
        lm.model(input_ids=prompt, attention_mask=torch.ones_like(prompt), cache=cache, use_cache=True, **extra)
        before_shape, before_bytes = _cache_shape(cache), measured_cache_bytes(cache)
        step = torch.tensor([[int(token_id)]])  # (1, 1)
        mask = torch.ones((1, len(ids) + 1), dtype=torch.long)  # (1, T + 1)
        lm.model(input_ids=step, attention_mask=mask, cache=cache, use_cache=True, **extra)
        after_shape, after_bytes = _cache_shape(cache), measured_cache_bytes(cache)
    element = cache.layers[0].keys.element_size()
    spec = KVSpec.from_config(lm.model.config)
    estimate = lambda n: spec.cache_bytes(n, 1, bytes_per_value=element, transformers_sliding=True)  # noqa: E731
    return CacheGrowth(
        before_shape,
        after_shape,
        before_bytes,
        after_bytes,
        estimate(len(ids)),
        estimate(len(ids) + 1),
        element,
        str(cache.layers[0].keys.dtype).replace("torch.", ""),
    )

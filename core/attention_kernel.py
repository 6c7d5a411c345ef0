"""Attention weights on demand: the fast fused kernel for every forward pass, eager attention when asked.

Eager attention is the only implementation that materialises the attention weights, softmax(QK^T / sqrt(d)),
which the attention page draws. It is also about twice as slow as PyTorch's fused
``scaled_dot_product_attention`` (sdpa) on long inputs: on a 1,024-token window of the default model the
transformer body took 8.2 CPU-s under eager and 4.2 under sdpa. Loading the model twice, or switching a shared
model's implementation under a lock, would cost a second copy of the weights or serialise every session.

So each model is given one implementation registered with transformers' ``AttentionInterface``: it runs
transformers' own ``sdpa_attention_forward`` unless the forward pass was called with
``output_attentions=True``, and then the model's own ``eager_attention_forward`` (same code, same numbers as a
model loaded with ``attn_implementation="eager"``). Some models (GPT-2) do not pass ``output_attentions`` down to
their attention layers; transformers' output collector (a context variable set for the duration of that forward
pass) says whether attention weights are being recorded, so it is read too. The choice is made per call from that
call's arguments, so sessions sharing the model never see each other's choice.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
from transformers.models.llama.modeling_llama import eager_attention_forward as llama_eager_attention

try:  # transformers' private per-forward-pass output collector (see attention_weights_requested)
    from transformers.utils.output_capturing import _active_collector
except ImportError:  # another transformers layout: models then simply stay on eager attention
    _active_collector = None

# Contains "sdpa" on purpose: transformers then checks that the model supports sdpa before accepting it.
WEIGHTS_ON_DEMAND = "sdpa_weights_on_demand"


def additive_mask(mask: torch.Tensor | None, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """The eager float mask (0 where a query may look, the dtype's minimum where not) from an sdpa mask.

    Args:
        mask: (B, 1, q, kv) boolean, True = may attend; or None when sdpa relies on ``is_causal`` (no padding).
        query: (B, heads, q, head_dim); key: (B, kv_heads, kv, head_dim).

    Returns:
        (B or 1, 1, q, kv) float mask in the query's dtype, as transformers' ``eager_mask`` builds it.
    """
    q_len, kv_len = query.shape[-2], key.shape[-2]
    if mask is None:  # causal, no padding: query i sits at position kv_len - q_len + i
        rows = torch.arange(q_len, device=query.device)[:, None] + (kv_len - q_len)
        mask = (torch.arange(kv_len, device=query.device)[None, :] <= rows)[None, None]
    if mask.dtype != torch.bool:
        return mask
    return torch.where(mask, 0.0, torch.finfo(query.dtype).min).to(query.dtype)


def attention_weights_requested(kwargs: dict[str, Any]) -> bool:
    """True when the running forward pass was asked for its attention weights (output_attentions=True)."""
    if kwargs.get("output_attentions"):
        return True
    collector = _active_collector.get()  # {"attentions": [...], ...} while a forward pass records outputs
    return isinstance(collector, dict) and "attentions" in collector


def _eager_for(module: Any):
    """The eager attention function of the module's own modeling file (GPT-2, Llama, Qwen2 each define one)."""
    return getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", llama_eager_attention)


def weights_on_demand_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
):
    """Attention for one layer: (attn_output (B, q, heads, head_dim), weights (B, heads, q, kv) or None)."""
    if attention_weights_requested(kwargs):
        return _eager_for(module)(module, query, key, value, additive_mask(attention_mask, query, key), **kwargs)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


AttentionInterface.register(WEIGHTS_ON_DEMAND, weights_on_demand_attention)
AttentionMaskInterface.register(WEIGHTS_ON_DEMAND, sdpa_mask)


def use_weights_on_demand(model: Any) -> bool:
    """Switch a model loaded with eager attention to weights-on-demand, when it supports sdpa.

    Models loaded any other way (sdpa, flash attention) are left as they are. Returns True when switched.
    """
    if _active_collector is None or getattr(model.config, "_attn_implementation", None) != "eager":
        return False
    if not getattr(model, "_supports_sdpa", False):
        return False
    if getattr(model.config, "reorder_and_upcast_attn", False):  # GPT-2's variant that only its eager path has
        return False
    try:
        model.set_attn_implementation(WEIGHTS_ON_DEMAND)
    except (ValueError, ImportError):
        return False
    return model.config._attn_implementation == WEIGHTS_ON_DEMAND

"""The client-side sampler: what the browser needs to redraw the sampler's bars itself, and its script and style.

A slider move on the next-token and temperature pages only re-filters numbers the browser already has, so the
browser does it (``client_sampler.js``, plain SVG): it gets the whole vocabulary's logits once per prompt, laid out
from most to least likely, and recomputes temperature -> top-k -> top-p exactly as ``core.sampling`` does (float32
scores, transformers' rules for ties and for keeping at least one token). Every number it shows, the rest bar, the
entropy after the filters and the count of tokens the sampler can pick included, is then the server's to the shown
precision. The server learns the final settings when the user lets go (ui/client_sampler.py).
"""

from __future__ import annotations

import base64
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components.page_script import page_script
from components.palettes import ACCENT, CUT_COLOUR, GRID, GUIDE, MODEL_COLOUR, MUTED, SAMPLING_COLOUR
from components.tables import OTHER_TOKENS
from core.next_token import NextTokenDistribution

_HERE = Path(__file__).resolve().parent
SAMPLER_JS = page_script("client_sampler.js")  # after the DOM helpers the components share
SAMPLER_CSS = (_HERE / "client_sampler.css").read_text(encoding="utf-8")
SAMPLER_HTML = '<div class="nte-sampler" data-testid="nte-sampler"></div>'

NEXT_TOKEN, TEMPERATURE = "next_token", "temperature"
COLOURS = dict(
    model=MODEL_COLOUR, sampling=SAMPLING_COLOUR, cut=CUT_COLOUR, accent=ACCENT, guide=GUIDE, muted=MUTED, grid=GRID
)


def encoded_logits(dist: NextTokenDistribution) -> str:
    """The whole vocabulary's (V,) float32 logits in ``dist.order`` (most likely first), as base64 of little-endian
    bytes (4 x V bytes: 262,144 characters for a 49,152-token vocabulary). The same for every setting of the
    controls: a caller keeps it per distribution."""
    laid_out = dist.logits.index_select(0, dist.order).numpy().astype("<f4")  # (V,) most likely first
    return base64.b64encode(laid_out.tobytes()).decode("ascii")


def _positions(dist: NextTokenDistribution, token_ids: list[int]) -> list[int]:
    """Where each token sits in ``dist.order`` (the candidates are near the front; a tie may sit further down)."""
    front = dist.order[: max(4 * len(token_ids), 64)].tolist()
    where = {token_id: i for i, token_id in enumerate(front)}
    return [where[t] if t in where else int((dist.order == t).nonzero()[0, 0]) for t in token_ids]


def sampler_data(
    dist: NextTokenDistribution,
    *,
    page: str,
    top_n: int,
    temperature: float,
    top_k: int = 0,
    top_p: float = 1.0,
    max_temperature: float = 3.0,
    max_top_k: int = 1_000_000,
    presenter: bool = False,
    logits_b64: str | None = None,
) -> dict[str, Any]:
    """Everything the browser needs to draw the sampler's view of ``dist`` under any setting of its controls.

    Args:
        dist: the model's (or the toy's) next-token distribution.
        page: NEXT_TOKEN (temperature, top-k and top-p, four numbers under the bars) or TEMPERATURE (temperature
            only, the bars beside the entropy curve).
        top_n: how many candidates the bars list (the rest is one "all other tokens" bar).
        temperature, top_k, top_p: the settings the server knows (a link's, a lesson's or the last ones let go).
        max_temperature, max_top_k: the controls' upper ends.
        presenter: larger type for a projector.
        logits_b64: ``encoded_logits(dist)`` when the caller kept it (else encoded here).

    Returns:
        A JSON-ready dict. ``logits``: base64 of the (V,) float32 logits most likely first; ``rows``: the top-n
        candidates (position in that layout, token id, readable label, model probability); ``model_rest``: the
        full-vocabulary probability of every other token (float64 sum, never renormalised); the model's entropy.
    """
    logits_b64 = encoded_logits(dist) if logits_b64 is None else logits_b64
    top = dist.candidates(top_n)
    rows = [
        dict(position=where, token_id=int(token_id), label=label, model=float(probability))
        for where, token_id, label, probability in zip(_positions(dist, top.ids), top.ids, top.labels, top.probs)
    ]
    vocab = dist.vocab_size
    source = hashlib.sha1(logits_b64.encode("ascii")).hexdigest()[:16]
    return dict(
        page=page,
        source=source,
        vocab_size=vocab,
        logits=logits_b64,
        rows=rows,
        model_rest=float(top.other_mass) if len(top.ids) < vocab else None,
        other_label=f"{OTHER_TOKENS} ({vocab - len(top.ids):,})",
        model_entropy_bits=float(dist.entropy_bits),
        effective_choices=float(dist.effective_choices),
        max_bits=math.log2(vocab),
        settings=dict(temperature=float(temperature), top_k=int(top_k), top_p=float(top_p)),
        bounds=dict(max_temperature=float(max_temperature), max_top_k=int(max_top_k)),
        colours=COLOURS,
        presenter=bool(presenter),
    )


def decode_logits(data: dict[str, Any]) -> torch.Tensor:
    """The (V,) float32 logits of ``sampler_data``'s payload, most likely first (for tests and benchmarks)."""
    raw = base64.b64decode(data["logits"])
    return torch.from_numpy(np.frombuffer(raw, dtype="<f4").astype(np.float32))

"""The attention explorer: what the browser needs to redraw one layer's head heatmap and a query's bars itself, and
its script and style.

Picking another head or query token only re-reads numbers the browser already has, so the browser does it
(``attention_explorer.js``, plain SVG with the cells as one image): it gets every head's (T, T) map of the picked
layer and their average once per (prompt, layer, hide-the-sink), and redraws at once. The server hears the head and
query afterwards (ui/attention_explorer.py), so the link, the overview and the grids below follow.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from components.page_script import page_script
from components.palettes import ACCENT, GRID, GUIDE, HEATMAP, MASKED, SAMPLING_COLOUR

_HERE = Path(__file__).resolve().parent
EXPLORER_JS = page_script("attention_explorer.js")  # after the DOM helpers the components share
EXPLORER_CSS = (_HERE / "attention_explorer.css").read_text(encoding="utf-8")
EXPLORER_HTML = '<div class="nte-attention" data-testid="nte-attention"></div>'

AVERAGE = "average over heads"
NO_WEIGHT = 65535  # a cell with no weight to show (the first query's row once the first token is hidden)
COLOURS = dict(scale=HEATMAP, masked=MASKED, bar=SAMPLING_COLOUR, grid=GRID, guide=GUIDE, accent=ACCENT)


def head_name(layer: int, head: int | None, heads: int, kv_heads: int) -> str:
    """The map's title: "layer 3, head 5 (reads kv head 1)", or "layer 3, average over heads"."""
    name = f"layer {layer}, " + (AVERAGE if head is None else f"head {head}")
    if head is not None and kv_heads < heads:
        name += f" (reads kv head {int(head) // (int(heads) // int(kv_heads))})"
    return name


def _cells(maps: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the cells a query may look at, row by row: (q, k) with k + offset <= q."""
    T, K = maps.shape[-2], maps.shape[-1]
    return np.tril_indices(T, -offset, K)


def cell_codes(maps: np.ndarray, offset: int) -> np.ndarray:
    """Each map's visible cells as whole numbers that keep every number the page shows exact.

    A weight w is shown as "0.123" (the hover: JavaScript's toFixed(3), ties away from zero) and as "12%" (the bars:
    Python's f"{w:.0%}", ties to even). The code is 2 x r + b, with r = the thousandths shown and b = 1 when the
    percent rounds up from a thousandth ending in 5 (the only case r alone cannot decide); NO_WEIGHT for NaN.

    Args:
        maps: (M, T, K) float32 weights; column k is token k + offset (offset 1 when the first token is hidden).

    Returns:
        (M, N) uint16 codes of the N = T (T + 1) / 2 cells (T (T - 1) / 2 with the first token hidden), row by row.
    """
    rows, cols = _cells(maps, offset)
    values = maps[:, rows, cols].astype(np.float64)  # (M, N) the float32 values, exactly
    finite = np.isfinite(values)
    safe = np.where(finite, values, 0.0)
    thousandths = np.floor(safe * 1000 + 0.5)  # (M, N), exact unless a value sits within rounding of a tie
    near = finite & (np.abs(safe * 1000 - np.floor(safe * 1000) - 0.5) < 1e-6)
    for m, n in zip(*np.nonzero(near)):
        exact = Decimal(float(values[m, n])).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        thousandths[m, n] = int(exact * 1000)
    up = np.zeros(values.shape, dtype=np.int64)
    for m, n in zip(*np.nonzero(finite & (thousandths % 10 == 5))):
        up[m, n] = int(f"{float(values[m, n]):.0%}"[:-1]) > thousandths[m, n] // 10
    codes = np.where(finite, thousandths.astype(np.int64) * 2 + up, NO_WEIGHT)
    return codes.astype(np.uint16)


def explorer_data(
    layer_weights: np.ndarray,
    tokens: Sequence[str],
    *,
    layer: int,
    kv_heads: int,
    head: int | None,
    query: int,
    offset: int = 0,
    presenter: bool = False,
    cells_b64: str | None = None,
) -> dict[str, Any]:
    """Everything the browser needs to draw any head of one layer and any query's bars.

    Args:
        layer_weights: (H + 1, T, K) the layer's shown maps: heads 0..H-1, then their average; K = T - offset.
        tokens: the T token labels (text from the model: the page sets it only as text).
        layer: the layer's number (1..L), for the titles.
        kv_heads: key/value heads (fewer than H under grouped-query attention: titles name the one a head reads).
        head, query: what the server knows is picked (a link's, the overview's click, the last pick heard).
        offset: 1 when the first token is hidden (columns from token 1, rows renormalised), else 0.
        presenter: larger type for a projector.
        cells_b64: ``encoded_cells(layer_weights, offset)`` when the caller kept it.

    Returns:
        A JSON-ready dict; ``cells`` is base64 of little-endian uint16 ``cell_codes``, map after map. At the display
        cap (T = 160) a map has 12,880 cells, so a layer of 9 heads and their average costs 10 x 12,880 x 2 =
        257,600 bytes (343,468 base64 characters), once per (prompt, layer, hide-the-sink).
    """
    maps, T, _ = layer_weights.shape
    cells_b64 = encoded_cells(layer_weights, offset) if cells_b64 is None else cells_b64
    heads = maps - 1
    return dict(
        source=hashlib.sha1(f"{layer}:{offset}:{cells_b64}".encode("ascii")).hexdigest()[:16],
        cells=cells_b64,
        layer=int(layer),
        heads=int(heads),
        kv_heads=int(kv_heads),
        length=int(T),
        offset=int(offset),
        tokens=[str(t) for t in tokens],
        titles=[head_name(layer, h, heads, kv_heads) for h in range(heads)] + [head_name(layer, None, heads, kv_heads)],
        selected=dict(head=None if head is None else int(head), query=int(query)),
        colours=COLOURS,
        presenter=bool(presenter),
    )


def encoded_cells(layer_weights: np.ndarray, offset: int) -> str:
    """base64 of ``cell_codes(layer_weights, offset)`` as little-endian uint16 (a caller keeps it per layer)."""
    return base64.b64encode(cell_codes(layer_weights, offset).astype("<u2").tobytes()).decode("ascii")


def decode_cells(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The payload's maps as the page reads them (for tests and benchmarks).

    Returns:
        (H + 1, T, K) thousandths shown (float, NaN where nothing is drawn) and the same shape of whole percents
        the bars show (NaN likewise).
    """
    T, offset = data["length"], data["offset"]
    K = T - offset
    codes = np.frombuffer(base64.b64decode(data["cells"]), dtype="<u2").astype(np.int64)
    codes = codes.reshape(data["heads"] + 1, -1)  # (M, N)
    rows, cols = _cells(np.empty((1, T, K)), offset)
    shown = np.full((codes.shape[0], T, K), np.nan)
    percent = np.full((codes.shape[0], T, K), np.nan)
    valid = codes != NO_WEIGHT
    r = np.where(valid, codes // 2, 0)
    up = np.where(valid, codes % 2, 0)
    pct = np.where(r % 10 == 5, r // 10 + up, np.floor(r / 10 + 0.5))
    shown[:, rows, cols] = np.where(valid, r, np.nan)
    percent[:, rows, cols] = np.where(valid, pct, np.nan)
    return shown, percent

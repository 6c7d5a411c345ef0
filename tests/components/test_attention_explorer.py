"""The attention explorer's data and arithmetic: what the server sends once per (prompt, layer, hide-the-sink), and
the page's own reading of it (components/attention_explorer.js, run here under Node) against the numbers the page
showed before: plotly's hover "%{z:.3f}" (JavaScript's toFixed) and the bars' f"{w:.0%}" (Python's)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from components.attention_explorer import (
    EXPLORER_JS,
    NO_WEIGHT,
    cell_codes,
    decode_cells,
    explorer_data,
    head_name,
)
from core.attention import kv_head_of, without_first_key
from tests.needs import missing

JS = Path(__file__).resolve().parents[2] / "components" / "attention_explorer.js"
TOKENS = ["The", "␣cat", "␣sat", "␣on", "␣the", "␣mat", "<b>", "."]


def tiny_layer(T: int = 8, seed: int = 0) -> np.ndarray:
    """(H, T, T) attention of one layer of a small randomly initialised Llama with grouped-query attention (6 query
    heads over 2 key/value heads): real attention arithmetic, no download."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=48,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config).eval()
    with torch.inference_mode():
        out = model(torch.arange(1, T + 1)[None], output_attentions=True)
    return (out.attentions[1][0].float() * 1).numpy()  # (H, T, T)


def stack_of(weights: np.ndarray, hide_sink: bool) -> tuple[np.ndarray, int]:
    """As ui/attention_explorer.shown_layer: heads then their average, the first token hidden when asked."""
    stack = np.concatenate([weights, weights.mean(axis=0, keepdims=True)])  # (H + 1, T, T)
    return (without_first_key(stack), 1) if hide_sink else (stack, 0)


def hover_text(w: float) -> str:
    """What plotly's "%{z:.3f}" showed for a float32 weight: toFixed(3), whose ties go to the larger number."""
    return str(Decimal(float(w)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


# Weights whose text is decided by a tie: 1/16 is exactly 0.0625 (toFixed gives 0.063), 0.125 shows 0.125 and
# 12% (Python rounds the tie 12.5 to even), 0.1251 and 0.1249 share neither text; each is a float32 value.
TIES = [1 / 16, 3 / 16, 0.125, 0.1251, 0.1249, 0.0050, 0.0149, 0.0150, 0.0151, 0.9995, 0.5, 0.3125, 0.875, 1.0, 0.0]


def tie_maps() -> np.ndarray:
    """(1, 5, 5) one map whose lower triangle holds every value of TIES (float32)."""
    m = np.zeros((1, 5, 5), dtype=np.float32)
    rows, cols = np.tril_indices(5)
    m[0, rows, cols] = np.array(TIES, dtype=np.float32)
    return m


@pytest.mark.parametrize("hide_sink", [False, True])
def test_codes_keep_the_hover_and_the_percent_the_page_showed(hide_sink):
    stack, offset = stack_of(tiny_layer(), hide_sink)
    for maps in (stack, tie_maps()[:, :, offset:] if offset else tie_maps()):
        shown, percent = decode_cells(
            {
                "cells": base64.b64encode(cell_codes(maps, offset).tobytes()).decode(),
                "length": maps.shape[1],
                "offset": offset,
                "heads": maps.shape[0] - 1,
            }
        )
        T, K = maps.shape[1], maps.shape[2]
        for m in range(maps.shape[0]):
            for q in range(T):
                for k in range(K):
                    w = maps[m, q, k]
                    if k + offset > q or not np.isfinite(w):  # masked, or the hidden sink's empty first row
                        assert np.isnan(shown[m, q, k]) and np.isnan(percent[m, q, k])
                        continue
                    assert f"{shown[m, q, k] / 1000:.3f}" == hover_text(w), (m, q, k, float(w))
                    assert f"{int(percent[m, q, k])}%" == f"{float(w):.0%}", (m, q, k, float(w))


def test_the_data_holds_every_head_and_their_average_titled_as_the_page():
    weights = tiny_layer()  # (6, 8, 8)
    stack, offset = stack_of(weights, False)
    data = explorer_data(stack, TOKENS, layer=2, kv_heads=2, head=4, query=7, offset=offset)
    assert data["titles"][4] == "layer 2, head 4 (reads kv head 1)" == head_name(2, 4, 6, 2)
    assert data["titles"][-1] == "layer 2, average over heads"
    assert [t.split("kv head ")[1][0] for t in data["titles"][:-1]] == [str(kv_head_of(h, 6, 2)) for h in range(6)]
    assert head_name(1, 3, 9, 9) == "layer 1, head 3"  # no grouped-query note when every head has its own keys
    assert data["selected"] == {"head": 4, "query": 7} and data["tokens"] == TOKENS
    shown, _ = decode_cells(data)
    assert shown.shape == (7, 8, 8)
    np.testing.assert_allclose(shown[3] / 1000, np.where(np.tril(np.ones((8, 8))) > 0, weights[3], np.nan), atol=5e-4)
    np.testing.assert_allclose(shown[6] / 1000, np.where(np.isnan(shown[6]), np.nan, weights.mean(0)), atol=5e-4)
    json.dumps(data)  # JSON-ready
    hidden = explorer_data(*stack_of(weights, True)[:1], TOKENS, layer=2, kv_heads=2, head=None, query=0, offset=1)
    assert hidden["source"] != data["source"] and hidden["selected"] == {"head": None, "query": 0}
    shown, _ = decode_cells(hidden)
    assert shown.shape == (7, 8, 7) and np.isnan(shown[:, 0]).all()  # the first query has nothing left to show
    np.testing.assert_allclose(np.nansum(shown[:, 1:], axis=-1) / 1000, 1.0, atol=0.004)  # rows renormalised


def test_a_layer_at_the_display_cap_costs_what_the_docstring_says():
    T, H = 160, 9
    rng = np.random.default_rng(0)
    scores = np.where(np.tril(np.ones((T, T))) > 0, rng.normal(size=(H, T, T)), -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights = (weights / weights.sum(-1, keepdims=True)).astype(np.float32)  # (H, T, T) causal softmax rows
    data = explorer_data(stack_of(weights, False)[0], [f"t{i}" for i in range(T)], layer=1, kv_heads=3, head=0, query=0)
    assert len(base64.b64decode(data["cells"])) == 257_600 and len(data["cells"]) == 343_468
    assert NO_WEIGHT not in cell_codes(weights, 0)  # every causal cell has a weight


def test_the_pages_reading_equals_the_numbers_shown_before(tmp_path):
    """Every cell's hover text and percent as the page computes them from the codes (under Node), against the
    float32 weights formatted as plotly and Python did."""
    node = shutil.which("node")
    if node is None:
        missing("the explorer's JavaScript arithmetic", "node is not installed (apt-get install nodejs)")
    maps = np.concatenate([stack_of(tiny_layer(5, seed=1), False)[0], tie_maps()])  # (8, 5, 5)
    codes = cell_codes(maps, 0)
    body = EXPLORER_JS.split("// ---- the view")[0]  # the DOM helpers (functions only) and the numbers part
    script = tmp_path / "run.mjs"
    script.write_text(
        f"const body = {json.dumps(body)};\n"
        "const f = new Function(body + '; return {decodeCells, weightText, percentText, scaleColour, parseColour};');\n"
        "const {decodeCells, weightText, percentText, scaleColour, parseColour} = f();\n"
        f"const codes = decodeCells({json.dumps(base64.b64encode(codes.astype('<u2').tobytes()).decode())});\n"
        "const stops = [[0, '#ffffff'], [0.5, 'rgb(100, 0, 50)'], [1, '#000000']]"
        ".map(([at, c]) => ({at, rgb: parseColour(c)}));\n"
        "console.log(JSON.stringify({weights: Array.from(codes, weightText), percents: Array.from(codes, percentText),"
        " colours: [0, 0.25, 0.5, 1].map(v => scaleColour(stops, v))}));\n"
    )
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120, check=True)
    page = json.loads(result.stdout)
    rows, cols = np.tril_indices(5)
    expected_weights = [hover_text(w) for m in range(8) for w in maps[m, rows, cols]]
    expected_percents = [f"{float(w):.0%}" for m in range(8) for w in maps[m, rows, cols]]
    assert page["weights"] == expected_weights
    assert page["percents"] == expected_percents
    assert page["colours"] == [[255, 255, 255], [178, 128, 153], [100, 0, 50], [0, 0, 0]]
    assert EXPLORER_JS.endswith(JS.read_text(encoding="utf-8"))  # the file the page ships, after the DOM helpers


def test_the_page_sets_model_text_only_as_text():
    """Token text goes into the page through textContent and attributes only: never parsed as HTML."""
    for parsing in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser"):
        assert parsing not in EXPLORER_JS

"""Chart labels that must not be clipped or squeezed, checked on the figures (and on their presenter-mode copies):
the entropy curve's current-temperature label, the KV-cache page's "weights + KV" bar, the perplexity chart's mean."""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import pytest

from components.kv_cache import gpu_stack
from components.perplexity import loss_bars
from components.style import scaled
from components.temperature import entropy_curve
from core.kv_cache import GIB
from core.perplexity import PerplexityResult

GRID = [round(float(t), 3) for t in np.linspace(0.0, 3.0, 61)]  # the temperature page's grid for T <= 3


def _spec(fig) -> dict:
    return json.loads(plotly.io.to_json(fig))


def _curve(current: float) -> dict:
    """The five-word vocabulary's entropy curve (the page's toy example), marked at ``current``."""
    logits = np.array([3.0, 1.5, -1.0, -2.0, -3.0])

    def bits(t: float) -> float:
        if t == 0:
            return 0.0
        p = np.exp((logits - logits.max()) / t)
        p /= p.sum()
        return float(-(p * np.log2(p)).sum())

    return _spec(entropy_curve(GRID, [bits(t) for t in GRID], current, bits(current), max_bits=float(np.log2(5))))


@pytest.mark.parametrize("presenter", [False, True], ids=["plain", "presenter"])
def test_entropy_label_near_the_left_edge_runs_right_and_is_not_clipped(presenter):
    spec = _curve(0.5)
    if presenter:
        spec = _spec(scaled(plotly.io.from_json(json.dumps(spec))))
    marker = spec["data"][1]
    assert marker["text"] == ["T = 0.5: 0.28 bits"]
    # Centred on T = 0.5 (a sixth of the axis), the label's left half ran past the y axis and was cut off there.
    assert marker["textposition"] == "top right"
    assert marker["cliponaxis"] is False  # a label reaching past the plot area is drawn, not cut
    assert marker["textfont"]["shadow"]  # a halo where it crosses the line


def test_entropy_label_near_the_right_edge_runs_left():
    assert _curve(2.9)["data"][1]["textposition"] == "top left"
    assert _curve(1.5)["data"][1]["textposition"] == "top left"  # the free corner above a rising curve


def test_entropy_axis_leaves_room_above_the_uniform_line_and_the_label():
    spec = _curve(3.0)
    layout = spec["layout"]
    top = layout["yaxis"]["range"][1]
    uniform = layout["shapes"][0]["y0"]
    assert top >= 1.15 * uniform  # the label above a marker near the limit stays inside the plot area
    note = layout["annotations"][0]
    assert note["text"] == "uniform limit: 2.32 bits" and note["xanchor"] == "left" and note["x"] == 0
    # the uniform line's note is on the left, the high-T label on the right: they do not meet
    assert spec["data"][1]["textposition"] == "top left" and spec["data"][1]["x"] == [3.0]


@pytest.mark.parametrize("presenter", [False, True], ids=["plain", "presenter"])
def test_kv_cache_label_is_above_the_stack_at_full_size(presenter):
    weights, cache, gpu = int(14.96 * GIB), 1 * GIB, 80 * GIB  # the KV-cache estimate preset's bar
    fig = gpu_stack(weights, cache, gpu, title="80 GiB GPU")
    spec = _spec(scaled(fig) if presenter else fig)
    bars = {trace["name"]: trace for trace in spec["data"]}
    kv = bars["KV cache"]
    assert kv["text"][0].startswith("KV cache 1.00 GiB")
    # Inside a 1 GiB segment of an 80 GiB axis plotly shrank the label to a sliver; outside it keeps its size.
    assert kv["textposition"] == "outside" and kv["constraintext"] == "inside" and kv["cliponaxis"] is False
    assert bars["weights"]["textposition"] == "inside"  # 15 GiB of 80: tall enough for its own label
    assert spec["layout"]["yaxis"]["range"][1] >= 1.15 * gpu / GIB  # room above the stack and the GPU line


def test_kv_thin_weights_segment_puts_its_size_above_the_stack_too():
    spec = _spec(gpu_stack(int(0.25 * GIB), 40 * GIB, 80 * GIB, title="80 GiB GPU"))
    bars = {trace["name"]: trace for trace in spec["data"]}
    assert bars["weights"]["textposition"] == "none"
    assert "weights 0.25 GiB" in bars["KV cache"]["text"][0] and "KV cache 40.00 GiB" in bars["KV cache"]["text"][0]


def _scored(nll) -> PerplexityResult:
    n = len(nll)
    return PerplexityResult(
        model_name="m",
        token_ids=np.arange(n + 1),
        tokens=[f"t{i}" for i in range(n + 1)],
        nll=np.array(nll, dtype=float),
        ranks=np.ones(n, dtype=int),
        first_scored=1,
        n_bytes=4 * n,
        n_words=n,
        start_token=None,
        max_length=64,
        stride=64,
        windows=1,
        vocab_size=100,
    )


@pytest.mark.parametrize("presenter", [False, True], ids=["plain", "presenter"])
def test_perplexity_mean_label_is_above_the_plot_area_not_on_the_bars(presenter):
    result = _scored([5.0, 0.5, 3.0, 0.2, 4.0, 1.0])
    fig = loss_bars(result)
    spec = _spec(scaled(fig) if presenter else fig)
    notes = spec["layout"]["annotations"]
    assert len(notes) == 1
    note = notes[0]
    assert note["text"] == f"dashed line: mean {result.bits_per_token:.2f} bits/token"
    # On the line (yref "y" at the mean, left) it sat on the first bars; now above the plot area, in the margin.
    assert note["yref"] == "paper" and note["y"] >= 1 and note["yanchor"] == "bottom"
    assert note["xref"] == "paper" and note["xanchor"] == "right"
    line = spec["layout"]["shapes"][0]
    assert line["y0"] == pytest.approx(result.bits_per_token) and line["line"]["dash"] == "dash"
    assert spec["layout"]["margin"]["t"] >= 40  # the label's room above the plot area


def test_the_architecture_caption_shows_a_typed_model_name_inert():
    from components.kv_cache import spec_caption
    from core.kv_cache import KVSpec

    caption = spec_caption(KVSpec("my_org/__bold__[x](y)", 2, 4, 2, 8))
    assert "__bold__" not in caption and "[x](y)" not in caption  # markdown escaped: shown as typed, not styled
    assert caption.startswith("**") and "2 layers, 4 query heads" in caption

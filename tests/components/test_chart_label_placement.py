"""Chart labels that must not be clipped or squeezed, checked on the figures (and on their presenter-mode copies):
the KV-cache page's "weights + KV" bar, the perplexity chart's mean."""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import pytest

from components.kv_cache import gpu_stack
from components.perplexity import loss_bars
from components.style import scaled
from core.kv_cache import GIB
from core.perplexity import PerplexityResult


def _spec(fig) -> dict:
    return json.loads(plotly.io.to_json(fig))


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

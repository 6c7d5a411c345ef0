"""The figures built as plain dicts (no validation, no make_subplots) hold what plotly's own builders would."""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import pytest
from plotly.subplots import make_subplots

from components.attention import head_grid
from components.generation import cache_chart
from components.style import secondary_y_axes, subplot_grid
from components.temperature import temperature_panels


def _axes(layout: dict) -> dict:
    return {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}


@pytest.mark.parametrize("rows,cols,spacing", [(3, 3, (0.03, 0.06)), (2, 3, (0.03, 0.06)), (1, 4, (None, None))])
def test_subplot_grid_has_make_subplots_domains_and_titles(rows, cols, spacing):
    h, v = spacing
    kwargs = {k: x for k, x in (("horizontal_spacing", h), ("vertical_spacing", v)) if x is not None}
    titles = [f"cell {i}" for i in range(rows * cols)]
    reference = make_subplots(rows=rows, cols=cols, subplot_titles=titles, **kwargs).to_dict()["layout"]
    spec, cells = subplot_grid(rows, cols, horizontal_spacing=h, vertical_spacing=v, titles=titles)
    assert set(_axes(spec)) == set(_axes(reference))
    for name, axis in _axes(reference).items():
        assert spec[name]["anchor"] == axis["anchor"]
        assert spec[name]["domain"] == pytest.approx(axis["domain"], abs=1e-12)
    assert [(a["text"], round(a["x"], 9), round(a["y"], 9)) for a in spec["annotations"]] == [
        (a["text"], round(a["x"], 9), round(a["y"], 9)) for a in reference["annotations"]
    ]
    assert cells[0] == ("x", "y") and cells[-1] == (f"x{rows * cols}", f"y{rows * cols}")


def test_secondary_axes_match_make_subplots():
    reference = make_subplots(specs=[[{"secondary_y": True}]]).to_dict()["layout"]
    spec = secondary_y_axes({}, {}, {})
    assert spec["xaxis"]["domain"] == reference["xaxis"]["domain"]
    assert spec["yaxis2"]["overlaying"] == reference["yaxis2"]["overlaying"] == "y"
    assert spec["yaxis2"]["side"] == reference["yaxis2"]["side"] == "right"


def test_head_grid_puts_each_head_on_its_own_axes_with_masked_gaps():
    weights = np.tril(np.ones((9, 4, 4), dtype=np.float32))  # (H, T, T)
    weights /= weights.sum(-1, keepdims=True)
    spec = json.loads(plotly.io.to_json(head_grid(weights, list("abcd"), title="<b>", kv_groups=[0] * 9)))
    assert [(t["xaxis"], t["yaxis"]) for t in spec["data"]] == [("x", "y")] + [(f"x{i}", f"y{i}") for i in range(2, 10)]
    assert all(t["coloraxis"] == "coloraxis" for t in spec["data"])
    assert spec["layout"]["yaxis5"]["autorange"] == "reversed" and spec["layout"]["height"] == 240 * 3 + 80
    assert [a["text"] for a in spec["layout"]["annotations"]][:2] == ["head 0 · kv 0", "head 1 · kv 0"]
    assert spec["layout"]["title"]["text"] == "&lt;b&gt;"


def test_temperature_and_generation_figures_keep_their_parts():
    panels = temperature_panels(["a", "<i>"], np.array([[0.6, 0.3], [0.5, 0.4]]), [0.0, 1.0], np.array([0.1, 0.1]))
    spec = panels.to_dict()
    assert spec["layout"]["yaxis2"]["matches"] == "y" and spec["data"][1]["yaxis"] == "y2"
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["T = 0 (greedy)", "T = 1"]
    assert spec["data"][0]["y"] == ["a", "&lt;i&gt;", "all other tokens"]

    class Step:  # the fields cache_chart reads
        def __init__(self, i):
            self.index, self.cache_length, self.cache_bytes = i, 5 + i, 1024 * i

    chart = cache_chart([Step(1), Step(2)]).to_dict()
    assert chart["data"][1]["yaxis"] == "y2" and chart["data"][1]["y"] == [1.0, 2.0]


def test_the_bpe_sweep_axis_ticks_at_the_trained_sizes_as_whole_numbers():
    from components.tokenizer import merges_table, sweep_chart
    from core.bpe import SweepRow

    fig = sweep_chart([SweepRow(300, 257, 40, 2.0), SweepRow(500, 257, 40, 2.0)])
    assert list(fig.layout.xaxis.tickvals) == [257] and fig.layout.xaxis.tickformat == ",d"
    table = merges_table([("e", "l", "el"), ("h", "el", "hel")])
    assert table["merge"].tolist() == [1, 2] and table["new token"].tolist() == ["el", "hel"]


def test_the_longest_cache_bar_carries_its_label_inside():
    from components.kv_cache import attention_comparison

    rows = [("decompressed K and V (128 heads)", 128, 38 * 2**30), ("this model: MLA latent", 1, 2**29)]
    fig = attention_comparison(rows, title="t")
    assert list(fig.data[0].textposition) == ["inside", "outside"]  # outside, '38.12 GiB (40.94 GB)' ran off

"""Attention figures: masked cells are gaps, the colour scale runs white (0) to dark blue (1), labels escaped."""

import json

import numpy as np
import plotly.io

from components.attention import head_heatmap


def _spec(fig):
    return json.loads(plotly.io.to_json(fig, validate=False))


def test_heatmap_masks_the_future_and_uses_an_explicit_light_to_dark_scale():
    weights = np.array([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0], [0.2, 0.3, 0.5]], dtype=np.float32)
    fig = head_heatmap(weights, ["<b>", "a", "b"], title="layer 0, head 0")
    trace = fig.data[0]
    z = np.asarray(trace.z, dtype=np.float64)
    assert np.isnan(z[0, 1:]).all() and np.isnan(z[1, 2])  # the causal mask: gaps, not zeros
    np.testing.assert_allclose(z[2], weights[2])
    scale = _spec(fig)["data"][0]["colorscale"]
    assert isinstance(scale, list)  # never a name: plotly.js's "Blues" is reversed
    assert scale[0] == [0.0, "rgb(247,251,255)"] and scale[-1] == [1.0, "rgb(8,48,107)"]
    assert trace.hoverongaps is False
    assert "&lt;b&gt;" in trace.x[0] and "<b>" not in trace.x[0]


def test_heatmap_does_not_modify_the_cached_maps():
    weights = np.full((3, 3), 1 / 3, dtype=np.float32)
    head_heatmap(weights, ["a", "b", "c"], title="t")
    assert not np.isnan(weights).any()

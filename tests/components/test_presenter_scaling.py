"""Presenter mode's chart scaling (components.style.scaled), on real figures from the builders, without Streamlit:
every font the figure draws gets an explicit size of at least the minimum, and the input figure is left alone."""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import pytest

from components.attention import head_grid, head_heatmap, overview_chart, query_bars
from components.kv_cache import attention_comparison, gpu_stack
from components.next_token import probability_bars
from components.ngram import perplexity_chart
from components.style import PRESENTER_MIN_PX, figure, scaled
from components.tables import candidate_table
from components.temperature import temperature_panels
from components.training import loss_curve
from core.sampling import sampling_probs
from core.toy import toy_distribution

TOKENS = ["The", " <b>cat</b>", " sat", " on"]


def _weights() -> np.ndarray:
    w = np.tril(np.random.default_rng(0).random((4, 4)))  # (T, T)
    return w / w.sum(-1, keepdims=True)


def _bars():
    dist = toy_distribution(["correctly", "slowly", "angrily", "the", "</s>"], [3.0, 1.5, -1.0, -2.0, -3.0])
    return probability_bars(candidate_table(dist, 3, sampling_probs(dist.logits, temperature=0.7)))


FIGURES = {
    "probability bars (bar, text on bars, legend)": _bars,
    "attention heatmap (colour bar, annotation)": lambda: head_heatmap(_weights(), TOKENS, title="layer 0", boundary=2),
    "head grid (subplots, subplot titles, colour axis)": lambda: head_grid(
        np.stack([_weights()] * 4), TOKENS, title="Layer 0: all 4 heads"
    ),
    "overview (scatter, marker colour bar)": lambda: overview_chart(
        np.random.default_rng(1).random((3, 4)), "distance"
    ),
    "query bars": lambda: query_bars(_weights()[3], TOKENS, 3, title="query 3"),
    "temperature panels (subplots)": lambda: temperature_panels(
        ["a", "b"], np.array([[0.9, 0.1], [0.6, 0.4]]), [0.5, 2.0], other=np.array([0.0, 0.0])
    ),
    "KV heads (validated go.Bar)": lambda: attention_comparison(
        [("MHA", 32, 2**30), ("this model (GQA)", 8, 2**28)], title="Fewer heads"
    ),
    "GPU stack (stacked bars, a line and its annotation)": lambda: gpu_stack(2**33, 2**31, 2**34, title="16 GiB GPU"),
    "loss curve (add_hline annotation)": lambda: loss_curve([4.0, 3.0, 2.5], [(1, 4.0, 4.1), (3, 2.5, 2.9)], 50, 10),
}


def _spec(fig) -> dict:
    return json.loads(plotly.io.to_json(fig))


def _fonts(node, path=""):
    """Every font dict in a figure spec (``font``, ``tickfont``, ``textfont``…), with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "template":
                continue  # the theme's defaults, not what this figure sets
            if key.endswith("font") and isinstance(value, dict):
                yield f"{path}.{key}", value
            yield from _fonts(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _fonts(value, f"{path}[{i}]")


@pytest.mark.parametrize("name", list(FIGURES))
def test_scaling_sets_every_font_the_figure_draws(name):
    fig = FIGURES[name]()
    before = plotly.io.to_json(fig)
    spec = _spec(scaled(fig))
    assert plotly.io.to_json(fig) == before, "scaled() changed its input"
    layout = spec["layout"]
    fonts = dict(_fonts(spec))
    small = {where: font.get("size") for where, font in fonts.items() if (font.get("size") or 0) < PRESENTER_MIN_PX}
    assert not small, small
    # The places Streamlit's chart theme would otherwise draw at 12-14 px each carry their own size.
    axes = [k for k in layout if k[1:5] == "axis"]
    assert axes
    for axis in axes:
        assert layout[axis]["tickfont"]["size"] >= PRESENTER_MIN_PX, axis
        assert layout[axis]["automargin"] is True
    for key in ("font", "legend", "hoverlabel"):
        assert (layout[key] if key == "font" else layout[key]["font"])["size"] >= PRESENTER_MIN_PX, key
    assert layout["title"]["font"]["size"] > layout["font"]["size"]  # the title stays the largest text
    for note in layout.get("annotations", []):
        assert note["font"]["size"] >= PRESENTER_MIN_PX
    for trace in spec["data"]:
        assert trace["textfont"]["size"] >= PRESENTER_MIN_PX
        for bar in (trace.get("colorbar"), (trace.get("marker") or {}).get("colorbar")):
            if bar is not None:
                assert bar["tickfont"]["size"] >= PRESENTER_MIN_PX and bar["title"]["font"]["size"] >= PRESENTER_MIN_PX
    # Only fonts and room change: the data drawn is the same.
    original = _spec(fig)
    for old, new in zip(original["data"], spec["data"]):
        assert {k: v for k, v in old.items() if "font" not in k and k not in ("colorbar", "marker", "hoverlabel")} == {
            k: v for k, v in new.items() if "font" not in k and k not in ("colorbar", "marker", "hoverlabel")
        }
    assert layout["height"] >= original["layout"]["height"]


def test_every_axis_a_trace_uses_is_scaled_even_when_the_layout_does_not_name_it():
    spec = _spec(scaled(FIGURES["head grid (subplots, subplot titles, colour axis)"]()))
    used = {t["xaxis"] for t in spec["data"]} | {t["yaxis"] for t in spec["data"]}
    names = {f"{ref[0]}axis{ref[1:]}" for ref in used}
    assert names <= set(spec["layout"]) and len(names) == 8
    assert spec["layout"]["coloraxis"]["colorbar"]["tickfont"]["size"] >= PRESENTER_MIN_PX
    assert [a["font"]["size"] for a in spec["layout"]["annotations"]] == [
        max(PRESENTER_MIN_PX, round(16 * 1.45))
    ] * 4  # the subplot titles (16 px) grow by the factor


def test_scaling_grows_with_the_factor_and_caps_the_height():
    fig = FIGURES["probability bars (bar, text on bars, legend)"]()
    base = _spec(fig)["layout"]
    small, large = _spec(scaled(fig, 1.0, minimum=1)), _spec(scaled(fig, 2.0, minimum=1))
    assert small["layout"]["font"]["size"] == base["font"]["size"]  # factor 1: the house size, made explicit
    assert large["layout"]["font"]["size"] == 2 * base["font"]["size"]
    assert large["layout"]["yaxis"]["tickfont"]["size"] == 2 * base["font"]["size"]
    assert large["layout"]["height"] == min(2 * base["height"], max(base["height"], 1100))
    tall = head_heatmap(np.tril(np.ones((40, 40))), [str(i) for i in range(40)], title="tall")  # 900 px
    assert _spec(scaled(tall))["layout"]["height"] == 1100


def test_a_figure_given_as_validated_plotly_object_keeps_its_data_arrays():
    fig = head_heatmap(_weights(), TOKENS, title="x")
    z_before = np.array(fig.data[0].z, dtype=float)
    out = scaled(fig)
    decoded = np.array(out.data[0].z, dtype=float) if not isinstance(out.data[0].z, dict) else None
    spec_z = _spec(out)["data"][0]["z"]
    assert decoded is None or np.allclose(np.nan_to_num(decoded), np.nan_to_num(z_before))
    assert spec_z == _spec(fig)["data"][0]["z"]  # the same cells reach the browser


def test_text_is_never_shrunk_below_the_minimum_and_log_axes_minor_labels_stay_large():
    spec = _spec(scaled(perplexity_chart([("bigram (counts)", 12.5), ("SmolLM2 (neural)", 230.0)])))
    layout = spec["layout"]
    assert layout["uniformtext"] == {"minsize": PRESENTER_MIN_PX, "mode": "show"}  # bar text never shrunk to fit
    log_axes = [axis for axis in layout.values() if isinstance(axis, dict) and axis.get("type") == "log"]
    assert log_axes
    for axis in log_axes:  # plotly.js draws the 2, 5… labels of a log axis at 0.75 of tickfont
        assert axis["tickfont"]["size"] * 0.75 >= PRESENTER_MIN_PX


def test_a_legend_above_the_plot_gets_room_under_the_title():
    spec = _spec(scaled(FIGURES["probability bars (bar, text on bars, legend)"]()))
    layout = spec["layout"]
    title_px, legend_px = layout["title"]["font"]["size"], layout["legend"]["font"]["size"]
    # two legend entries may wrap onto two rows in a narrow column: both fit between the title and the plot
    assert layout["margin"]["t"] >= 2 * title_px + 2 * legend_px * 1.4
    assert layout["title"]["yref"] == "container" and layout["title"]["yanchor"] == "top"
    assert layout["legend"]["xanchor"] == "left"
    single = _spec(scaled(FIGURES["query bars"]()))["layout"]  # one trace, no legend: the margin only scales
    assert single["margin"]["t"] == round(60 * 1.45) and "yref" not in single["title"]


def test_a_long_title_is_wrapped_at_spaces_and_gets_its_room():
    title = "Attention of 12 ␣&lt;script&gt; in layer 3, head 2 (reads kv head 0)"  # as plotly_text escapes it
    fig = figure([dict(type="bar", x=[1], y=[1])], dict(title=dict(text=title), height=300, margin=dict(t=60)))
    layout = _spec(scaled(fig))["layout"]
    lines = layout["title"]["text"].split("<br>")
    assert len(lines) == 3 and " ".join(lines) == title  # nothing lost, the escaped entity kept whole
    assert all(len(line) <= 30 for line in lines)
    assert layout["margin"]["t"] >= 3 * layout["title"]["font"]["size"] * 1.35
    assert fig.layout.title.text == title  # the input keeps its one line

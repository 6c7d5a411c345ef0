"""components.pipeline: the figures carry the numbers they are given, escape token text, use the palette."""

from __future__ import annotations

import numpy as np

from components import palettes as P
from components.chart_text import figure_table
from components.pipeline import (
    CARD_WORDS,
    cache_chart,
    count_text,
    filter_chart,
    layer_chart,
    neighbour_table,
    norm_reason,
    shape_text,
    vector_strip,
)
from core.embeddings import Neighbour
from core.pipeline import CacheGrowth, FilterStage


def test_vector_strip_is_symmetric_around_zero():
    values = np.array([-2.0, 0.5, 1.0, 0.0], dtype=np.float32)
    fig = vector_strip(values, "Row 7")
    heat = fig.data[0]
    assert list(heat.z[0]) == [-2.0, 0.5, 1.0, 0.0]
    assert (heat.zmin, heat.zmax) == (-2.0, 2.0)
    assert [list(c) for c in heat.colorscale] == [list(c) for c in P.SIGNED]
    assert "dimension (0 to 3)" in fig.layout.xaxis.title.text


def test_layer_chart_splits_attention_and_mlp_and_draws_the_residual_norm():
    attention, mlp = np.array([1.0, -0.5, 2.0]), np.array([0.25, 3.0, -1.0])
    norms = np.array([1.0, 5.0, 9.0, 20.0])
    fig = layer_chart(norms, attention + mlp, attention, mlp, "<b>Paris</b>")
    bars = [t for t in fig.data if t.type == "bar"]
    assert [list(b.y) for b in bars] == [[1.0, -0.5, 2.0], [0.25, 3.0, -1.0]]
    assert [b.marker.color for b in bars] == [P.ATTENTION_PART, P.MLP_PART]
    line = next(t for t in fig.data if t.type == "scatter")
    assert list(line.x) == [0, 1, 2, 3] and list(line.y) == [1.0, 5.0, 9.0, 20.0] and line.yaxis == "y2"
    assert "<b>" not in fig.layout.title.text and "&lt;b&gt;Paris" in fig.layout.title.text
    assert "&lt;b&gt;" in fig.layout.yaxis.title.text


def test_layer_chart_without_a_split_shows_whole_layers():
    fig = layer_chart(np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.25]), None, None, "x")
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 1 and list(bars[0].y) == [0.5, -0.25] and "whole layer" in bars[0].name


def test_filter_chart_counts_what_each_filter_cut():
    stages = [
        FilterStage("temperature", "0.8", True, 1000, 0, 0.0, 0.5),
        FilterStage("top-k", "50", True, 50, 950, 0.125, 0.6),
        FilterStage("top-p", "off", False, 50, 0, 0.0, 0.6),
    ]
    fig = filter_chart(1000, stages)
    bar = fig.data[0]
    assert list(bar.x) == [1000, 1000, 50, 50]
    assert list(bar.y) == ["model (whole vocabulary)", "temperature 0.8", "top-k 50", "top-p off"]
    assert bar.text[2] == "50 kept, 950 cut, 12.5% of the probability removed"
    assert bar.text[3] == "50 kept, nothing cut"
    assert list(bar.marker.color) == [P.CUT_COLOUR, P.SAMPLING_COLOUR, P.SAMPLING_COLOUR, P.CUT_COLOUR]
    assert fig.layout.xaxis.type == "log"


def test_cache_chart_shows_bytes_and_shapes():
    growth = CacheGrowth((30, 3, 5, 64), (30, 3, 6, 64), 230_400, 276_480, 230_400, 276_480, 4, "float32")
    fig = cache_chart(growth)
    assert list(fig.data[0].x) == [230_400, 276_480]
    assert fig.data[0].text[1].startswith("(30, 3, 6, 64)")
    assert "270.00 KiB" in fig.data[0].text[1]
    assert growth.bytes_per_token == 2 * 30 * 3 * 64 * 4
    table = figure_table(fig)  # the "Chart as a table" alternative holds the same numbers
    assert 276_480 in table.to_numpy().ravel().tolist()


def test_neighbour_table_and_shape_text():
    table = neighbour_table([Neighbour(5, "␣cat", 0.81234), Neighbour(9, "<script>", 0.5)])
    assert table["token"].tolist() == ["␣cat", "<script>"] and table["cosine"].tolist() == [0.8123, 0.5]
    assert shape_text((576,)) == "(576,)" and shape_text((30, 3, 7, 64)) == "(30, 3, 7, 64)"
    assert shape_text((49152,)) == "(49152,)"  # no thousands separator inside a shape


def test_filter_chart_axis_ends_at_the_vocabulary_size():
    stages = [FilterStage("top-k", "1", True, 1, 49151, 0.2, 1.0)]
    fig = filter_chart(49152, stages)
    low, high = fig.layout.xaxis.range
    assert 10**high < 60_000  # the axis fits a 49,152-token vocabulary (it used to run to 10 M)
    assert 10**high >= 49152
    assert list(fig.data[0].textposition) == ["inside", "outside"]  # the long bar carries its label inside


def test_counts_take_the_right_number():
    assert count_text(1, "token") == "1 token"
    assert count_text(49152, "token") == "49,152 tokens"
    assert count_text(0, "token id") == "0 token ids"


def test_every_card_opens_with_plain_words_before_the_technical_term():
    assert sorted(CARD_WORDS) == list(range(1, 9))
    assert "the **residual stream**" in CARD_WORDS[3] and CARD_WORDS[3].index("running sum") < CARD_WORDS[3].index(
        "residual stream"
    )
    for words in CARD_WORDS.values():
        assert words.index("**") > 20  # a plain sentence first, the bold technical word after it


def test_the_final_norm_says_why_the_vector_shrinks():
    text = norm_reason("LlamaRMSNorm", 576, 619.4, 43.8)
    assert "from 619 to 43.8" in text and "√576 = 24.0" in text and "root-mean-square" in text
    assert "standard deviation" in norm_reason("LayerNorm", 64, 30.0, 9.0)

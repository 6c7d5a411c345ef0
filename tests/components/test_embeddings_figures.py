"""components.embeddings: the neighbour bars, the word map and the analogy verdict, built without Streamlit."""

from __future__ import annotations

from types import SimpleNamespace

from components.embeddings import (
    analogy_chart,
    analogy_table,
    analogy_verdict,
    map_chart,
    model_sentence,
    neighbour_chart,
)
from components.palettes import ACCENT, SAMPLING_COLOUR, SERIES


def test_neighbour_chart_keeps_order_and_escapes_token_text():
    fig = neighbour_chart(["␣King", "<script>alert(1)</script>", "a&b"], [0.8, 0.6, 0.5], "Nearest to <b>x</b>")
    bar = fig.data[0]
    assert list(bar.y) == ["␣King", "&lt;script&gt;alert(1)&lt;/script&gt;", "a&amp;b"]
    assert list(bar.x) == [0.8, 0.6, 0.5] and list(bar.text) == ["0.800", "0.600", "0.500"]
    assert fig.layout.yaxis.autorange == "reversed"  # the most similar at the top
    assert "<b>" not in fig.layout.title.text


def test_neighbour_chart_axis_reaches_negative_cosines():
    fig = neighbour_chart(["a", "b"], [0.2, -0.4], "t")
    assert fig.layout.xaxis.range[0] == -0.4


def test_map_chart_draws_one_labelled_trace_per_group_with_variance_in_the_axis_titles():
    fig = map_chart(
        ["France", "Paris", "<i>Rome</i>"],
        ["country", "capital", "capital"],
        [[1, 2], [3, 4], [5, 6]],
        (0.25, 0.1),
        "t",
    )
    assert [t.name for t in fig.data] == ["country", "capital"]
    assert list(fig.data[1].text) == ["Paris", "&lt;i&gt;Rome&lt;/i&gt;"]
    assert list(fig.data[1].x) == [3.0, 5.0] and fig.data[0].marker.color == SERIES[0]
    assert "25.0%" in fig.layout.xaxis.title.text and "10.0%" in fig.layout.yaxis.title.text


def test_free_word_list_is_one_trace_without_a_legend():
    fig = map_chart(["a", "b", "c"], ["", "", ""], [[0, 0], [1, 1], [2, 0]], (0.5, 0.5), "t")
    assert len(fig.data) == 1 and not fig.data[0].showlegend and fig.data[0].marker.color == SAMPLING_COLOUR


def test_analogy_chart_marks_the_expected_token():
    fig = analogy_chart(["␣queen", "␣Queen"], [0.7, 0.6], "␣queen", "t")
    assert list(fig.data[0].marker.color) == [ACCENT, SAMPLING_COLOUR]
    assert analogy_chart(["x"], [0.1], None, "t").data[0].marker.color == SAMPLING_COLOUR


def test_verdict_says_plainly_whether_analogies_work():
    kind, text = analogy_verdict(12, 4, 16, True, 16)
    assert kind == "markdown" and "mostly work" in text and "12 of 16" in text and "75%" in text and "4 of 16" in text
    kind, text = analogy_verdict(3, 2, 16, False, 16)
    assert kind == "warning" and "mostly do not work" in text and "19%" in text
    kind, text = analogy_verdict(0, 0, 0, False, 16)
    assert kind == "info" and "None of the 16" in text


def test_model_sentence_names_v_d_and_tying():
    assert "49,152 × 576 = 28,311,552" in model_sentence(49152, 576, True)
    assert "**tied**" in model_sentence(49152, 576, True) and "same list" in model_sentence(49152, 576, True)
    assert "not tied" in model_sentence(40, 64, False)


def test_analogy_table_holds_the_measurement():
    row = SimpleNamespace(
        words=("king", "man", "woman"),
        expected=SimpleNamespace(labels=("␣queen",)),
        neighbours=(SimpleNamespace(label="␣queen"),),
        hit=True,
        baseline=SimpleNamespace(label="␣women"),
        baseline_hit=False,
    )
    table = analogy_table([row])
    assert table.iloc[0].tolist() == ["king − man + woman", "␣queen", "␣queen", True, "␣women", False]


def test_labels_of_close_points_take_different_places():
    from components.embeddings import label_positions, map_chart

    coords = [(0.0, 0.0), (0.01, 0.005), (1.0, 1.0), (0.5, -0.8)]
    labels = ["Germany", "France", "Japan", "Russia"]
    places = label_positions(coords, labels)
    assert places[0] != places[1]  # the two nearly equal points no longer print their names on top of each other
    assert places[2] == places[3] == "top center"  # points far apart keep the usual place
    fig = map_chart(labels, ["countries"] * 4, coords, (0.5, 0.2), "map")
    assert list(fig.data[0].textposition) == places

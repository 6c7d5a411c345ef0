"""A chart's text alternative (components.chart_text), on real figures from the builders, without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from components.attention import head_grid, head_heatmap, overview_chart
from components.chart_text import figure_summary, figure_table, figure_title, plain
from components.kv_cache import attention_comparison
from components.next_token import probability_bars
from components.tables import candidate_table
from components.temperature import temperature_panels
from components.training import loss_curve
from core.sampling import sampling_probs
from core.toy import toy_distribution


def _bars():
    dist = toy_distribution(["correctly", "<script>x</script>", "angrily", "the", "</s>"], [3.0, 1.5, -1.0, -2, -3])
    table = candidate_table(dist, 3, sampling_probs(dist.logits, top_k=2))
    return table, probability_bars(table, title="After <b>the</b> prompt")


def test_plain_gives_label_text_back_as_typed():
    assert plain("1. &lt;script&gt;x&lt;/script&gt;") == "1. <script>x</script>"
    assert plain("rank<br>of <b>Paris</b>") == "rank of  Paris"
    assert plain(None) == ""


def test_probability_bars_table_has_every_bar_with_its_value_and_label():
    candidates, fig = _bars()
    assert figure_title(fig) == "After <b>the</b> prompt"  # the title as typed (escaped in the figure)
    table = figure_table(fig)
    assert list(table.columns) == ["series", "x: probability", "y", "text"]
    model = table[table["series"] == "model probability"]
    sampling = table[table["series"] == "sampling probability (after filters)"]
    assert len(model) == len(sampling) == len(candidates)
    assert model["x: probability"].tolist() == pytest.approx(candidates["model_probability"].tolist())
    assert model["y"].iloc[1] == "2. <script>x</script>"  # the token as typed: st.dataframe shows it as text
    assert sampling["text"].tolist()[-1] == "cut"  # top-k 2 cut the "all other tokens" bar
    summary = figure_summary(fig)
    assert summary.startswith("After <b>the</b> prompt. model probability: 4 bars;")


def test_heatmap_table_lists_its_largest_cells_and_leaves_the_mask_out():
    weights = np.tril(np.ones((6, 6)))  # (T, T)
    weights /= weights.sum(-1, keepdims=True)
    fig = head_heatmap(weights, list("abcdef"), title="layer 0, head 1")
    table = figure_table(fig, top_cells=5)
    assert list(table.columns) == ["x: key (the token looked at)", "y: query (the token looking)", "value: weight"]
    assert len(table) == 5
    assert table["value: weight"].tolist() == sorted(table["value: weight"], reverse=True)
    assert table.iloc[0].tolist() == ["0 a", "0 a", 1.0]  # the first token can only look at itself
    all_cells = figure_table(fig, top_cells=100)
    assert len(all_cells) == 21  # 6 * 7 / 2 cells under the causal mask; the masked (NaN) ones are not listed
    assert "a 6×6 heatmap, the 5 largest of 21 cells listed" in figure_summary(fig, top_cells=5)


def test_head_grid_rows_are_named_after_their_subplot():
    weights = np.stack([np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]] * 4)  # (H, T, T)
    table = figure_table(head_grid(weights, list("xyz"), title="Layer 2: all 4 heads"), top_cells=2)
    assert table["series"].tolist() == ["head 0", "head 0", "head 1", "head 1", "head 2", "head 2", "head 3", "head 3"]


def test_overview_table_gives_the_metric_each_square_shows():
    values = np.arange(6, dtype=float).reshape(2, 3)  # (layers, heads)
    table = figure_table(overview_chart(values, "distance"))
    assert list(table.columns) == ["x: head", "y: layer", "value: Mean distance looked back"]
    assert table["value: Mean distance looked back"].tolist() == list(range(6))
    assert table[["x: head", "y: layer"]].iloc[4].tolist() == [1, 2]  # values[1, 1]: layers are numbered from 1


def test_long_lines_are_sampled_evenly_and_the_summary_says_so():
    losses = list(np.linspace(4.0, 1.0, 500))
    fig = loss_curve(losses, [(250, 2.5, 2.7), (500, 1.0, None)], 50, 500)
    table = figure_table(fig, max_points=11)
    batch = table[table["series"] == "batch loss"]
    assert batch["x: step"].tolist() == [1 + round(i * 499 / 10) for i in range(11)]  # first and last included
    assert "batch loss: 500 points (11 evenly spaced listed)" in figure_summary(fig, max_points=11)
    assert "held-out text: 1 point;" not in figure_summary(fig) and "held-out text: 1 point." in figure_summary(fig)


@pytest.mark.parametrize(
    "fig",
    [
        temperature_panels(["a", "b"], np.array([[0.9, 0.1], [0.6, 0.4]]), [0.5, 2.0], other=np.array([0.0, 0.0])),
        attention_comparison([("MHA", 32, 2**30), ("this model (GQA)", 8, 2**28)], title="Fewer heads"),
    ],
    ids=["temperature panels", "kv heads (validated)"],
)
def test_every_builder_figure_has_a_title_and_a_non_empty_table(fig):
    assert figure_title(fig)
    table = figure_table(fig)
    assert len(table) > 0 and table.notna().any().all()
    assert figure_summary(fig).startswith(figure_title(fig))

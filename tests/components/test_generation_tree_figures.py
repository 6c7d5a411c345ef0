"""Generation-tree figures: the tidy layout, edge probabilities from the nodes, highlighted paths, escaped labels."""

from __future__ import annotations

import math

import pytest

from components.chart_text import figure_table
from components.generation_tree import frontier_table, paths_figure, paths_table, percent, tree_figure, tree_positions
from components.palettes import TREE_EDGE, TREE_PATHS
from core.generation_tree import ScoredPath, TreeNode


def node(path, token, p, parent_cum=0.0):
    lp = math.log(p)
    return TreeNode(tuple(path), token, token, lp, parent_cum + lp, 1)


@pytest.fixture
def nodes():
    a = node((1,), "␣Paris", 0.77)
    b = node((2,), "<b>x</b>", 0.06)
    return {
        (): TreeNode((), "", "", 0.0, 0.0, 0),
        (1,): a,
        (2,): b,
        (1, 3): node((1, 3), ".", 0.5, a.cum_logprob),
        (1, 4): node((1, 4), ",", 0.2, a.cum_logprob),
    }


def test_layout_puts_leaves_in_rows_and_parents_between_their_children(nodes):
    rows = tree_positions(nodes)
    assert rows[(1, 3)] == 0 and rows[(1, 4)] == 1 and rows[(2,)] == 2  # likeliest child first
    assert rows[(1,)] == 0.5 and rows[()] == pytest.approx((0.5 + 2) / 2)


def test_tree_figure_labels_edges_with_step_probabilities_and_escapes_tokens(nodes):
    fig = tree_figure(nodes, highlights={"beam": (1, 3), "greedy": (1, 4)}, frontier=[(2,)])
    tokens = fig.data[0]
    assert list(tokens.x) == [1, 1, 2, 2]
    assert "&lt;b&gt;x&lt;/b&gt;" in list(tokens.text) and "<b>" not in "".join(tokens.text)
    assert sorted(a.text for a in fig.layout.annotations) == sorted(["77%", "6%", "50%", "20%"])
    colours = {(s.x1, s.y1): s.line.color for s in fig.layout.shapes}
    rows = tree_positions(nodes)
    assert colours[(2, rows[(1, 3)])] == TREE_PATHS["beam"]
    assert colours[(2, rows[(1, 4)])] == TREE_PATHS["greedy"]
    assert colours[(1, rows[(2,)])] == TREE_EDGE
    widths = list(tokens.marker.line.width)
    assert widths[[tuple(map(int, c.split("."))) for c in tokens.customdata].index((2,))] == 3
    assert list(tokens.marker.color) == pytest.approx([nodes[p].cum_logprob for p in [(1,), (2,), (1, 3), (1, 4)]])
    table = figure_table(fig)
    assert "value: Σ ln p (path)" in table.columns


def test_percent_labels():
    assert [percent(p) for p in (0.773, 0.064, 0.0012, 3e-5)] == ["77%", "6.4%", "0.12%", "3e-05"]


def test_paths_table_and_figure_sum_the_logs():
    greedy = ScoredPath("greedy", (1, 2), (" a", " b"), (math.log(0.5), math.log(0.5)))
    beam = ScoredPath("beam", (3, 4), (" c", " d"), (math.log(0.4), math.log(0.9)))
    table = paths_table([greedy, beam])
    assert table["Σ ln p"].tolist() == pytest.approx([math.log(0.25), math.log(0.36)])
    assert table["∏ p"].tolist() == pytest.approx([0.25, 0.36])
    fig = paths_figure([greedy, beam])
    assert list(fig.data[1].y) == pytest.approx([math.log(0.4), math.log(0.36)])
    assert fig.data[0].line.color == TREE_PATHS["greedy"]


def test_frontier_table_reads_the_path(nodes):
    table = frontier_table([nodes[(1, 3)]], nodes)
    assert table["branch"].tolist() == ["␣Paris."]
    assert table["∏ p"].tolist() == pytest.approx([0.77 * 0.5])


def test_a_projector_tree_labels_only_the_highlighted_paths_and_spaces_its_rows(nodes):
    normal = tree_figure(nodes, highlights={"beam": (1, 3)})
    large = tree_figure(nodes, highlights={"beam": (1, 3)}, large=True)
    edges = len([s for s in normal.layout.shapes if s.type == "line"])
    assert len(normal.layout.annotations) == edges  # every edge carries its step probability
    assert len(large.layout.annotations) == 2  # the two edges of the beam's path
    assert large.layout.height >= normal.layout.height
    assert large.layout.xaxis.range[0] < normal.layout.xaxis.range[0]  # room for "prompt" in large type

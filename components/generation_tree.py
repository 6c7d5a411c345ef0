"""Figures and tables for the generation-tree page, built from ``core.generation_tree`` nodes and scored paths."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from components.palettes import GRID, SUMMARY, TREE_EDGE, TREE_PATHS
from components.style import figure, layout, plotly_text
from core.generation_tree import ScoredPath, TreeNode
from core.text import visible_text

LABEL_CHARS = 14  # a node's label is cut after this many characters (the hover has it whole)
ROW_PX = 30  # vertical room per leaf
MAX_HEIGHT = 2400


def short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def percent(p: float) -> str:
    """A probability for a small label: 77%, 6.4%, 0.12%, 3e-05."""
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 0.001:
        return f"{p * 100:.2g}%"
    return f"{p:.0e}"


def tree_positions(nodes: Mapping[tuple, TreeNode]) -> dict[tuple, float]:
    """A left-to-right tidy layout: leaves one row apart in depth-first order (likeliest child first), each parent
    at the middle of its children. Returns path -> row (0 at the top)."""
    kids: dict[tuple, list[TreeNode]] = {}
    for path, node in nodes.items():
        if path:
            kids.setdefault(path[:-1], []).append(node)
    rows: dict[tuple, float] = {}
    next_row = 0

    def place(path: tuple) -> float:
        nonlocal next_row
        children = sorted(kids.get(path, []), key=lambda n: (-n.logprob, n.path))
        if not children:
            rows[path] = float(next_row)
            next_row += 1
        else:
            ys = [place(c.path) for c in children]
            rows[path] = (ys[0] + ys[-1]) / 2
        return rows[path]

    place(())  # recursion depth is the tree's depth (core.generation_tree.MAX_DEPTH)
    return rows


def node_hover(node: TreeNode, nodes: Mapping[tuple, TreeNode]) -> str:
    """The node's path as text, its step probability and the path's sum of logs and product."""
    text = "".join(nodes[node.path[:i]].text for i in range(1, node.depth + 1))
    return (
        f"{plotly_text(visible_text(text)[-80:])}<br>step p = {node.probability:.4g} (rank {node.rank})"
        f"<br>Σ ln p = {node.cum_logprob:.3f}<br>∏ p = {node.cum_probability:.4g}"
    )


def tree_figure(
    nodes: Mapping[tuple, TreeNode],
    *,
    highlights: Mapping[str, Sequence[int]] | None = None,
    frontier: Sequence[tuple] = (),
    title: str = "Generation tree",
    large: bool = False,
) -> go.Figure:
    """The tree left to right: the prompt on the left, one column per generated token.

    Nodes are coloured by the path's log-probability (Σ ln p, viridis); each edge carries the child's step
    probability (full-vocabulary softmax at the parent). ``highlights`` draws paths (method -> token ids) in
    their colours where they run through the tree; ``frontier`` nodes get a thick ring. ``large`` (presenter
    mode, whose fonts are bigger) spaces the rows further apart, leaves room left of the prompt and writes step
    probabilities on the highlighted paths only (every edge's is in the hover and the chart's table).
    """
    highlights = highlights or {}
    rows = tree_positions(nodes)
    order = sorted(nodes, key=lambda p: (len(p), rows[p]))
    shapes, notes = [], []
    on_path: dict[tuple, str] = {}
    for method, ids in highlights.items():
        for i in range(1, len(ids) + 1):
            on_path.setdefault(tuple(ids[:i]), method)
    for path in order:
        if not path:
            continue
        parent, child = path[:-1], path
        x0, y0, x1, y1 = len(parent), rows[parent], len(child), rows[child]
        method = on_path.get(child)
        colour, width = (TREE_PATHS[method], 4) if method else (TREE_EDGE, 1.5)
        shapes.append(
            dict(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=colour, width=width), layer="below")
        )
        if large and not method:
            continue  # a projector's large type has no room for every edge: the highlighted paths keep theirs
        notes.append(
            dict(
                x=(x0 + x1) / 2,
                y=(y0 + y1) / 2,
                text=percent(nodes[child].probability),
                showarrow=False,
                font=dict(size=11, color="#333"),
                bgcolor="rgba(255,255,255,0.8)",
            )
        )
    ring = set(frontier)
    real = [p for p in order if p]
    data = [
        dict(
            type="scatter",
            name="tokens",
            mode="markers+text",
            x=[len(p) for p in real],
            y=[rows[p] for p in real],
            text=[plotly_text(short(nodes[p].token)) for p in real],
            textposition="middle right",
            hovertext=[node_hover(nodes[p], nodes) for p in real],
            hoverinfo="text",
            customdata=[".".join(str(i) for i in p) for p in real],
            marker=dict(
                size=14,
                color=[nodes[p].cum_logprob for p in real],
                colorscale=SUMMARY,
                colorbar=dict(title=dict(text="Σ ln p (path)"), thickness=14),
                line=dict(
                    color=["#000" if p in ring else "#fff" for p in real], width=[3 if p in ring else 1 for p in real]
                ),
            ),
            showlegend=False,
        ),
        dict(
            type="scatter",
            name="prompt",
            mode="markers+text",
            x=[0],
            y=[rows[()]],
            text=["prompt"],
            textposition="middle left",
            marker=dict(size=16, color="#495057", symbol="square"),
            hoverinfo="text",
            hovertext=["the prompt"],
            showlegend=False,
        ),
    ]
    depth = max((len(p) for p in nodes), default=1)
    leaves = sum(1 for p in nodes if not any(len(q) == len(p) + 1 and q[:-1] == p for q in nodes))
    spec = layout(
        title,
        int(min(MAX_HEIGHT * (1.6 if large else 1), max(360, ROW_PX * (1.6 if large else 1) * leaves + 120))),
        margin=(70, 40, 60, 40),
        legend=False,
        shapes=shapes,
        annotations=notes,
        xaxis=dict(
            title=dict(text="tokens after the prompt"),
            tickmode="array",
            tickvals=list(range(depth + 1)),
            ticktext=["prompt"] + [str(i) for i in range(1, depth + 1)],
            range=[-1.0 if large else -0.6, depth + (1.2 if large else 0.9)],
            gridcolor=GRID,
            zeroline=False,
        ),
        yaxis=dict(visible=False, autorange="reversed"),
        hovermode="closest",
    )
    return figure(data, spec)


def paths_figure(paths: Sequence[ScoredPath], title: str = "Cumulative log-probability along each path") -> go.Figure:
    """One line per method: Σ ln p after each token (it only falls), with each token as the point's label."""
    data = []
    for path in paths:
        cum = [sum(path.logprobs[: i + 1]) for i in range(len(path.logprobs))]
        data.append(
            dict(
                type="scatter",
                name=f"{path.method} (Σ ln p = {path.total_logprob:.2f})",
                mode="lines+markers+text",
                x=list(range(1, len(cum) + 1)),
                y=cum,
                text=[plotly_text(short(visible_text(t), 10)) for t in path.tokens],
                textposition="top center",
                line=dict(color=TREE_PATHS.get(path.method, "#000"), width=3),
                hovertemplate="token %{x}: %{text}<br>Σ ln p = %{y:.3f}<extra></extra>",
            )
        )
    spec = layout(
        title,
        420,
        xaxis=dict(title=dict(text="tokens after the prompt"), dtick=1, gridcolor=GRID),
        yaxis=dict(title=dict(text="Σ ln p (0 = certain)"), gridcolor=GRID),
    )
    return figure(data, spec)


def paths_table(paths: Sequence[ScoredPath]) -> pd.DataFrame:
    """One row per method: the continuation, its length, Σ ln p, ∏ p and the mean per token."""
    rows = []
    for path in paths:
        n = len(path.logprobs)
        rows.append(
            {
                "method": path.method,
                "continuation": visible_text(path.text),
                "tokens": n,
                "Σ ln p": path.total_logprob,
                "∏ p": path.probability,
                "per token (geometric mean p)": math.exp(path.total_logprob / n) if n else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def frontier_table(frontier: Sequence[TreeNode], nodes: Mapping[tuple, TreeNode]) -> pd.DataFrame:
    """The likeliest unexplored branches: the path's text, its last step's p, Σ ln p and ∏ p."""
    return pd.DataFrame(
        [
            {
                "branch": visible_text("".join(nodes[n.path[:i]].text for i in range(1, n.depth + 1))),
                "tokens": n.depth,
                "last step p": n.probability,
                "Σ ln p": n.cum_logprob,
                "∏ p": n.cum_probability,
            }
            for n in frontier
        ],
        columns=["branch", "tokens", "last step p", "Σ ln p", "∏ p"],
    )

"""The live architecture diagram: one connected picture of the model for the user's prompt (core.architecture's
parts as boxes, top to bottom, the decoder block framed "x L", the loop back to the start), and each part's
plain-language explanation. Every token label is escaped for plotly."""

from __future__ import annotations

import plotly.graph_objects as go

from components.palettes import ACCENT, CUT_COLOUR, GUIDE, MUTED, SAMPLING_COLOUR
from components.pipeline import shape_text
from components.style import plotly_text, styled
from core.architecture import LEARNED, Architecture, Part

ROW = 1.0  # one part per row, top to bottom
BOX_HALF_HEIGHT = 0.40
X_LEFT, X_RIGHT = 1.0, 9.0  # a part outside the block
BLOCK_LEFT, BLOCK_RIGHT = 1.6, 8.4  # a part inside the decoder block's frame
BLOCK_FILL = "#f1f3f9"
BOX_FILL = "#ffffff"
TEXT = "#212529"  # the parts' titles: near black on white
SELECTED_FILL = "#fde8de"  # a light vermillion: the part being explained

# Each part: two or three sentences a 16-year-old follows, then the technical word the lessons use.
PLAIN = {
    "tokens": (
        "The model cannot read letters. A tokenizer cuts your text into pieces it knows (words or bits of words) "
        "and gives each piece a number.",
        "tokens and token ids",
    ),
    "embedding": (
        "Each token's number picks one row from a big table of numbers. That row is where the token starts: "
        "tokens used in similar ways have similar rows.",
        "the embedding (a row of the embedding matrix)",
    ),
    "positions_rotary": (
        "Word order matters, so the model must know where each token sits. This model adds nothing to the token's "
        "row for that: inside attention it turns each token's query and key by an angle that grows with its "
        "position, so attention can tell near tokens from far ones.",
        "rotary position embeddings (RoPE)",
    ),
    "positions_learned": (
        "Word order matters, so the model must know where each token sits. This model keeps a second learned row "
        "for every position (1st, 2nd, 3rd, ...) and adds it to the token's row before the first block.",
        "learned position embeddings",
    ),
    "norm1": (
        "Before attention, each token's vector is scaled to a standard size. Without this the numbers would keep "
        "growing from block to block, and no block could count on inputs of a size it knows.",
        "normalisation (RMSNorm or LayerNorm)",
    ),
    "attention": (
        "Each token looks back at the tokens before it (never ahead) and takes in what it needs from them. Several "
        "heads do this at once, each looking for something different.",
        "causal self-attention with several heads (grouped-query when heads share keys and values)",
    ),
    "add1": (
        "What attention found is added to the token's vector instead of replacing it. This running sum goes from "
        "block to block, and every block adds its bit.",
        "the residual stream (a residual connection)",
    ),
    "norm2": (
        "Before the MLP, the running sum is scaled to a standard size again. Every block does this twice: once "
        "before attention and once before the MLP.",
        "normalisation",
    ),
    "mlp": (
        "Each token's vector then goes through a small network of its own: made wider, passed through a bend "
        "(a non-linear function) and made narrow again. Much of what the model knows is thought to live here.",
        "the MLP (feed-forward network)",
    ),
    "add2": (
        "The MLP's result is added to the running sum too. Attention plus MLP is one block; the model repeats it "
        "once per layer, each with its own weights.",
        "a decoder block; the residual stream",
    ),
    "kv_cache": (
        "Attention needs every earlier token's keys and values. The model keeps them, so for the next token it "
        "only works out the new token's instead of reading the whole prompt again.",
        "the KV cache",
    ),
    "final_norm": (
        "After the last block the running sum is large, because every block added to it. The final norm scales "
        "it back to the size the output layer expects.",
        "the final norm",
    ),
    "unembedding": (
        "The final vector is compared with one row per token of an output table: one score for every token the "
        "model knows. A higher score means a more likely next token.",
        "the unembedding (output head) and its logits",
    ),
    "softmax": (
        "The scores become probabilities that add up to 1 over the whole vocabulary; a bigger score gets a much "
        "bigger share. Nothing is left out.",
        "softmax over the full vocabulary",
    ),
    "sampler": (
        "Now one token is chosen. Temperature sharpens or flattens the probabilities, top-k and top-p cut the "
        "unlikely tail, then a seeded random draw picks. Temperature 0 always takes the top token.",
        "sampling: temperature, top-k, top-p (greedy at temperature 0)",
    ),
    "append": (
        "The chosen token is added to the end of the text, and the whole picture runs again for the next one. "
        "That is how a model writes: one token at a time.",
        "autoregressive generation (the decode loop)",
    ),
}


def shapes_text(part: Part) -> str:
    """A part's tensor shape(s) as Python prints them: "(7, 576)", or "(576,) → (49152,)" for a mapping."""
    return " → ".join(shape_text(shape) for shape in part.shapes)


def explanation(arch: Architecture, key: str) -> tuple[str, str]:
    """(plain-language sentences, the technical word) for one part of ``arch``."""
    if key == "positions":
        key = "positions_learned" if arch.positions == LEARNED else "positions_rotary"
    return PLAIN[key]


def _rows(arch: Architecture) -> dict[str, float]:
    """Each part's row centre (y grows downwards); the block's frame takes one extra row for its header."""
    y, rows, inside = 0.0, {}, False
    for part in arch.parts:
        if part.in_block and not inside:
            y += 0.6  # room for the frame's header
        if not part.in_block and inside:
            y += 0.3
        inside = part.in_block
        rows[part.key] = y
        y += ROW
    return rows


def _box(part: Part, y: float, selected: bool) -> dict:
    left, right = (BLOCK_LEFT, BLOCK_RIGHT) if part.in_block else (X_LEFT, X_RIGHT)
    return dict(
        type="rect",
        x0=left,
        x1=right,
        y0=y - BOX_HALF_HEIGHT,
        y1=y + BOX_HALF_HEIGHT,
        line=dict(color=ACCENT if selected else GUIDE, width=3 if selected else 1),
        fillcolor=SELECTED_FILL if selected else BOX_FILL,
        layer="below",
    )


def _arrow(tail: tuple[float, float], head: tuple[float, float], colour: str, width: float) -> dict:
    """An arrow annotation from ``tail`` to ``head`` in data coordinates."""
    return dict(
        x=head[0],
        y=head[1],
        ax=tail[0],
        ay=tail[1],
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowwidth=width,
        arrowcolor=colour,
    )


def architecture_figure(arch: Architecture, selected: str | None = None) -> go.Figure:
    """The model as one picture, top to bottom: each part a numbered box with its title, its tensor shape and one
    real value; the decoder block's parts inside a frame marked "x L"; arrows between parts and one loop from the
    appended token back to the tokens. Each box's centre is a point (customdata = the part's key), so a click
    selects the part; the selected part is drawn in the accent colour."""
    rows = _rows(arch)
    shapes, annotations = [], []
    block = [rows[p.key] for p in arch.parts if p.in_block]
    if block:
        shapes.append(
            dict(
                type="rect",
                x0=1.3,
                x1=8.7,
                y0=min(block) - 0.95,
                y1=max(block) + 0.55,
                line=dict(color=SAMPLING_COLOUR, width=2, dash="dot"),
                fillcolor=BLOCK_FILL,
                layer="below",
            )
        )
        annotations.append(
            dict(
                x=1.45,
                y=min(block) - 0.72,
                text=f"<b>Block × {arch.layers}</b> (layers 1 to {arch.layers})",
                showarrow=False,
                xanchor="left",
                font=dict(color=SAMPLING_COLOUR, size=13),
            )
        )
    for add, before in (("add1", "norm1"), ("add2", "norm2")):  # the residual connections: around, then added back
        if add in rows and before in rows:
            top, bottom = rows[before] - BOX_HALF_HEIGHT - 0.1, rows[add]
            shapes.append(
                dict(
                    type="path",
                    path=f"M 5.0,{top} L 1.45,{top} L 1.45,{bottom} L {BLOCK_LEFT - 0.05},{bottom}",
                    line=dict(color=SAMPLING_COLOUR, width=1.5),
                )
            )
    keys = [p.key for p in arch.parts]
    for number, part in enumerate(arch.parts, start=1):
        y = rows[part.key]
        shapes.append(_box(part, y, part.key == selected))
        left = BLOCK_LEFT if part.in_block else X_LEFT
        annotations.append(
            dict(
                x=left + 0.15,
                y=y - 0.14,
                text=f"<b>{number}. {plotly_text(part.title)}</b>",
                showarrow=False,
                xanchor="left",
                font=dict(size=13, color=TEXT),
            )
        )
        annotations.append(
            dict(
                x=left + 0.15,
                y=y + 0.18,
                text=f"{shapes_text(part)} · {plotly_text(part.value)}",
                showarrow=False,
                xanchor="left",
                font=dict(size=12, color=MUTED),
            )
        )
        if number < len(arch.parts):  # an arrow down to the next part
            below = rows[keys[number]]
            annotations.append(_arrow((5.0, y + BOX_HALF_HEIGHT), (5.0, below - BOX_HALF_HEIGHT), GUIDE, 1.5))
    first, last = rows[keys[0]], rows[keys[-1]]
    shapes.append(  # the loop: from the appended token back up to the tokens, along the right edge
        dict(
            type="path",
            path=f"M {X_RIGHT},{last} L 9.6,{last} L 9.6,{first} L {X_RIGHT + 0.12},{first}",
            line=dict(color=ACCENT, width=2),
        )
    )
    annotations.append(_arrow((9.6, first), (X_RIGHT + 0.02, first), ACCENT, 2))
    annotations.append(
        dict(
            x=9.75,
            y=(first + last) / 2,
            text="repeat for the next token",
            textangle=-90,
            showarrow=False,
            font=dict(color=ACCENT, size=12),
        )
    )
    points = go.Scatter(
        x=[(BLOCK_LEFT + BLOCK_RIGHT) / 2 if p.in_block else (X_LEFT + X_RIGHT) / 2 for p in arch.parts],
        y=[rows[p.key] for p in arch.parts],
        customdata=keys,
        text=[plotly_text(p.title) for p in arch.parts],
        mode="markers",
        marker=dict(size=28, symbol="square", color=CUT_COLOUR, opacity=0.01),
        hovertemplate="%{text}: click to explain<extra></extra>",
        name="parts",
        showlegend=False,
    )
    fig = go.Figure(points)
    height = int(60 * (last - first + 2))
    return styled(
        fig,
        "Your prompt through the model",
        height,
        shapes=shapes,
        annotations=annotations,
        xaxis=dict(range=[0.6, 10.0], visible=False, fixedrange=True),
        yaxis=dict(range=[last + 0.7, first - 1.0], visible=False, fixedrange=True),
        hovermode="closest",
        hoverdistance=-1,
        dragmode=False,
        margin=(4, 4, 40, 4),
        legend=False,
    )


def clicked_part(event) -> str | None:
    """The key of the part clicked in ``architecture_figure``, from a Streamlit plotly selection event."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError, AttributeError):
        return None
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if isinstance(data, str):
            return data
    return None

"""components.diagram: one clickable point per part (its key as customdata), the selected part drawn in the accent
colour, every label escaped, a plain-language explanation for every part, and the click parsed back."""

from __future__ import annotations

import pytest

from components.diagram import PLAIN, architecture_figure, clicked_part, explanation, shapes_text
from components.palettes import ACCENT
from core.architecture import LEARNED, PART_KEYS, ROTARY, Architecture, Part


def arch(positions: str = ROTARY, token: str = "␣Paris") -> Architecture:
    parts = tuple(
        Part(
            key,
            f"title {key}",
            ((5, 576),),
            f"value {token}",
            key in ("norm1", "attention", "add1", "norm2", "mlp", "add2"),
        )
        for key in PART_KEYS
    )
    return Architecture(parts, 30, positions, "LlamaRMSNorm", token)


def test_every_part_is_a_clickable_point_with_its_key():
    fig = architecture_figure(arch())
    points = fig.data[0]
    assert list(points.customdata) == list(PART_KEYS)
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # top to bottom: the first part is drawn on top


def test_the_selected_part_is_drawn_in_the_accent_colour():
    fig = architecture_figure(arch(), "attention")
    accented = [s for s in fig.layout.shapes if s.type == "rect" and s.line.color == ACCENT]
    assert len(accented) == 1
    plain = architecture_figure(arch())
    assert not [s for s in plain.layout.shapes if s.type == "rect" and s.line.color == ACCENT]


def test_the_block_frame_says_how_many_layers_repeat():
    texts = [a.text for a in architecture_figure(arch()).layout.annotations]
    assert any("Block × 30" in t for t in texts)
    assert any("repeat for the next token" in t for t in texts)


def test_shapes_read_as_python_prints_them():
    texts = " ".join(a.text for a in architecture_figure(arch()).layout.annotations)
    assert "(5, 576) · value" in texts
    assert shapes_text(Part("unembedding", "t", ((576,), (49152,)), "v")) == "(576,) → (49152,)"


def test_token_labels_are_escaped():
    texts = " ".join(a.text for a in architecture_figure(arch(token="<b>x</b>")).layout.annotations)
    assert "<b>x</b>" not in texts and "&lt;b&gt;x&lt;/b&gt;" in texts


@pytest.mark.parametrize("key", PART_KEYS)
def test_every_part_explains_itself_then_names_the_technical_word(key):
    plain, word = explanation(arch(), key)
    assert plain.count(". ") + 1 in (2, 3) and plain.endswith(".")  # two or three sentences
    assert word


def test_positions_are_explained_for_the_model_at_hand():
    assert "rotary" in explanation(arch(ROTARY), "positions")[1]
    assert "learned" in explanation(arch(LEARNED), "positions")[1]
    assert set(PLAIN) >= set(PART_KEYS) - {"positions"}


def test_a_click_event_gives_the_part_key():
    assert clicked_part({"selection": {"points": [{"customdata": "mlp", "x": 5, "y": 7}]}}) == "mlp"
    assert clicked_part({"selection": {"points": [{"customdata": ["softmax"]}]}}) == "softmax"
    assert clicked_part({"selection": {"points": []}}) is None
    assert clicked_part(None) is None

"""AppTest: the layer-by-layer (logit lens) page through app.py."""

from __future__ import annotations

import pytest

from core.next_token import next_token_distribution
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs
from ui import state

PAGE = "app_pages/logit_lens.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_page_shows_lens_heatmap_rank_chart_and_table(at, bundled_lm):
    specs = plotly_specs(at)
    heat = [s for s in specs if s["data"][0]["type"] == "heatmap"][0]["data"][0]
    assert len(heat["y"]) == 31 and heat["y"][0] == "embeddings" and heat["y"][-1] == "layer 30 (output)"
    assert len(heat["x"]) == 5 and heat["x"][-1].endswith("is")
    dist = next_token_distribution(bundled_lm, "The capital of France is")
    top = dist.top_rows(1)[0]
    assert heat["z"][-1][-1] == pytest.approx(top.probability, abs=1e-5)  # the output row is the model's own
    rank = [s for s in specs if s["data"][0]["type"] == "scatter"][0]["data"][0]
    assert len(rank["x"]) == 31 and rank["y"][-1] == 1
    assert top.token in all_text(at)
    frame = at.dataframe[0].value
    assert list(frame["layer"])[0] == "layer 30 (output)" and len(frame) == 31
    assert frame.iloc[0]["#1"].startswith(top.token)


def test_position_picker_and_last_position_only(at):
    at.selectbox(key=state.LENS_POSITION).set_value(1).run()
    assert_clean(at)
    assert at.dataframe[0].value.shape[0] == 31
    at.toggle(key=state.LENS_EVERY_POSITION).set_value(False).run()
    assert_clean(at)
    heat = [s for s in plotly_specs(at) if s["data"][0]["type"] == "heatmap"][0]["data"][0]
    assert len(heat["x"]) == 1


def test_bad_prompts():
    at = open_page(PAGE)
    at.text_area(key=state.LENS_PROMPT).set_value("").run()
    assert_clean(at)
    assert "Type a prompt first" in all_text(at) and not plotly_specs(at)
    at.text_area(key=state.LENS_PROMPT).set_value("<img src=x onerror=alert(1)>").run()
    assert_clean(at)
    heat = [s for s in plotly_specs(at) if s["data"][0]["type"] == "heatmap"][0]["data"][0]
    assert "<img" not in " ".join(heat["x"]) and "&lt;" in " ".join(heat["x"])

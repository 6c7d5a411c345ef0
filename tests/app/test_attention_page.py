"""AppTest: the attention page through app.py — heatmap, head switching without re-running the model, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.attention import clicked_head
from components.attention_explorer import decode_cells
from tests.app.helpers import ROOT, all_text, assert_clean, matrix, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/attention.py"


def explorer(at) -> dict:
    """The data the in-page explorer (head heatmap and query bars, ui/attention_explorer.py) was sent."""
    found = [e for e in at.get("bidi_component") if e.proto.component_name == "nte.attention_explorer"]
    assert len(found) == 1
    return json.loads(found[0].proto.json)


def heatmap(at):
    """The picked head's map as the explorer draws it: (T, K) weights shown (NaN where masked), the key labels
    ("3 ␣cat", from token 1 with the sink hidden) and the title."""
    data = explorer(at)
    head = data["selected"]["head"]
    m = data["heads"] if head is None else head
    shown, _ = decode_cells(data)
    keys = [f"{i} {t}" for i, t in enumerate(data["tokens"])][data["offset"] :]
    return shown[m] / 1000, keys, data["titles"][m]


def pick(at, *, head=..., query=...):
    """What the explorer's change callback stores when the browser picks a head or query token."""
    if head is not ...:
        at.session_state[state.ATT_HEAD] = head
    if query is not ...:
        at.session_state[state.ATT_QUERY] = query
    at.run()


def memo_entry(at):
    return next(iter(at.session_state[state.MEMO]["attention"].values()))


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_page_shows_a_causal_heatmap_of_the_prompt(at):
    z, keys, title = heatmap(at)
    assert title.startswith("layer 1, head 0")  # layers 1..30, as the logit lens and the pipeline number them
    T = len(z)
    assert T == len(keys) == 5 and keys[-1].endswith("is")
    for q, row in enumerate(z):
        assert np.isnan(row[q + 1 :]).all()  # the upper triangle is masked (a gap in the heatmap)
        assert row[: q + 1].sum() == pytest.approx(1.0, abs=0.003)  # thousandths, as the page shows them
    text = all_text(at)
    assert "30 layers × 9 heads" in text
    assert "3 key/value heads" in text and "query heads 0, 1, 2" in text
    assert len(plotly_specs(at)) >= 1 and explorer(at)["selected"] == {"head": 0, "query": 4}  # overview, explorer


def test_switching_head_and_layer_reuses_the_cached_maps(at):
    maps = memo_entry(at)
    pick(at, head=4)
    assert_clean(at)
    z, _, title = heatmap(at)
    assert title.startswith("layer 1, head 4")
    np.testing.assert_allclose(z[2][:3], maps.weights[0, 4, 2, :3], atol=5e-4)  # to the thousandth shown
    at.selectbox(key=state.ATT_LAYER).set_value(7).run()
    z, _, title = heatmap(at)
    assert title.startswith("layer 7, head 4") and "kv head 1" in title
    np.testing.assert_allclose(z[2][:3], maps.weights[6, 4, 2, :3], atol=5e-4)  # the 7th layer
    assert memo_entry(at) is maps  # the model did not run again


def test_average_over_heads(at):
    pick(at, head=None)
    assert_clean(at)
    z, _, title = heatmap(at)
    assert "average over heads" in title
    expected = memo_entry(at).weights[at.session_state[state.ATT_LAYER] - 1].mean(0)
    np.testing.assert_allclose(z[-1], expected[-1], atol=5e-4)


def test_hiding_the_sink_renormalises_without_the_first_column(at):
    at.toggle(key=state.ATT_HIDE_SINK).set_value(True).run()
    assert_clean(at)
    z, keys, _ = heatmap(at)
    assert len(keys) == 4 and keys[0].startswith("1 ")
    assert np.isnan(z[0]).all()
    assert z[-1].sum() == pytest.approx(1.0, abs=0.003)
    assert "attention sink" in all_text(at)
    at.toggle(key=state.ATT_HIDE_SINK).set_value(False).run()


def test_query_bars_follow_the_chosen_token(at):
    pick(at, query=2)
    assert_clean(at)
    assert explorer(at)["selected"]["query"] == 2 and at.query_params["query"] in ("2", ["2"])
    z, _, _ = heatmap(at)  # the bars are the query's row of the map, drawn in the browser
    assert (~np.isnan(z[2])).sum() == 3 and np.nansum(z[2]) == pytest.approx(1.0, abs=0.003)


def test_generation_rows(at):
    at.toggle(key=state.ATT_GEN_SHOW).set_value(True).run()
    at.slider(key=state.ATT_GEN_TOKENS).set_value(3).run()
    assert_clean(at)
    spec = [s for s in plotly_specs(at) if "generation steps" in s["layout"]["title"]["text"]][0]
    z = matrix(spec["data"][0]["z"])
    assert len(z) == 3  # one row per generated token
    for i, row in enumerate(z):  # the staircase: row i sees 5 + i + 1 keys
        assert int((~np.isnan(row)).sum()) == 5 + i + 1
    assert "Generated:" in all_text(at)


def test_layers_are_numbered_1_to_30_in_the_selector_the_overview_and_the_link(at):
    assert at.selectbox(key=state.ATT_LAYER).options == [f"layer {n}" for n in range(1, 31)]
    overview = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Every head"))
    layers = sorted(set(values(overview["data"][0]["y"])))
    assert layers == list(range(1, 31)) and "layer %{y}" in overview["data"][0]["hovertemplate"]
    at.selectbox(key=state.ATT_LAYER).set_value(12).run()
    assert at.query_params["layer_number"] in ("12", ["12"]) and "layer" not in at.query_params


@pytest.mark.parametrize(("query", "shown"), [({"layer_number": "5"}, 5), ({"layer": "4"}, 5)])
def test_a_link_opens_its_layer_and_an_older_0_based_link_the_same_one(query, shown):
    """Links made before layers were numbered 1..L carried the 0-based index: layer=4 was the fifth layer."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({**query, "head": "2"})
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    z, _, title = heatmap(at)
    assert title.startswith(f"layer {shown}, head 2")
    np.testing.assert_allclose(z[-1], memo_entry(at).weights[shown - 1, 2, -1], atol=5e-4)
    assert "layer" not in at.query_params and "Ignored" not in all_text(at)


def test_the_average_over_heads_travels_in_the_link(at):
    pick(at, head=2)
    assert at.query_params["head"] in ("2", ["2"])
    pick(at, head=None)  # average over heads: the link says so instead of keeping head 2
    assert at.query_params["head"] in ("none", ["none"])
    opened = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    opened.query_params.update({"prompt": "The capital of France is", "head": "none"})
    opened.run()
    opened.switch_page(PAGE).run()
    assert_clean(opened)
    assert opened.session_state[state.ATT_HEAD] is None and heatmap(opened)[2].startswith("layer 1, average")
    pick(at, head=0)


def test_clicked_head_reads_a_selection_event():
    event = {"selection": {"points": [{"curve_number": 0, "x": 3, "y": 12, "point_index": 111}]}}
    assert clicked_head(event) == (12, 3)
    assert clicked_head({"selection": {"points": []}}) is None
    assert clicked_head(None) is None


def test_empty_one_token_long_and_html_prompts():
    at = open_page(PAGE)
    at.text_area(key=state.ATT_PROMPT).set_value("   ").run()
    assert_clean(at)
    assert "Type a prompt first" in all_text(at) and not plotly_specs(at) and not at.get("bidi_component")
    at.text_area(key=state.ATT_PROMPT).set_value("Hello").run()
    assert_clean(at)
    assert "1 × 1" in all_text(at)
    at.text_area(key=state.ATT_PROMPT).set_value("<b>bold</b> <script>alert(1)</script>").run()
    assert_clean(at)
    tokens = "".join(explorer(at)["tokens"])  # sent as data; the page sets it only as text (textContent)
    assert "<b>" in tokens and "<script" in tokens
    at.text_area(key=state.ATT_PROMPT).set_value("word " * 400).run()
    assert_clean(at)
    assert "showing the last 160 tokens" in all_text(at)
    assert heatmap(at)[0].shape == (160, 160)


def test_model_without_attentions_gets_a_clear_message(bundled_lm):
    from transformers import GPT2Config, GPT2LMHeadModel

    from core.models import wrap_model
    from ui.model_picker import TRAINED_LABEL

    config = GPT2Config(
        n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=len(bundled_lm.tokenizer), attn_implementation="sdpa"
    )
    at = open_page()
    at.session_state[state.TRAINED_MODEL] = wrap_model(GPT2LMHeadModel(config), bundled_lm.tokenizer, "sdpa-gpt2")
    at.switch_page(PAGE).run()  # the picker now offers the session's model
    at.selectbox(key=state.MODEL_CHOICE).set_value(TRAINED_LABEL).run()
    assert_clean(at)
    assert any("eager" in e.value for e in at.error)


def test_generation_uses_the_generation_pages_stepper(bundled_lm):
    from types import SimpleNamespace

    ids = bundled_lm.tokenizer("The capital of France is Paris. It is", add_special_tokens=False)["input_ids"]
    at = open_page(PAGE)
    at.session_state[state.GEN_STEPPER] = SimpleNamespace(model_name=bundled_lm.name, all_ids=ids, prompt_len=5)
    at.toggle(key=state.ATT_GEN_SHOW).set_value(True).run()
    assert_clean(at)
    assert f"Using the {len(ids) - 5} tokens generated" in all_text(at)
    spec = [s for s in plotly_specs(at) if "generation steps" in s["layout"]["title"]["text"]][0]
    assert len(matrix(spec["data"][0]["z"])) == len(ids) - 5


def test_generation_rows_follow_the_sink_toggle():
    at = open_page(PAGE)
    at.toggle(key=state.ATT_GEN_SHOW).set_value(True).run()
    at.slider(key=state.ATT_GEN_TOKENS).set_value(2).run()
    at.toggle(key=state.ATT_HIDE_SINK).set_value(True).run()
    assert_clean(at)
    spec = [s for s in plotly_specs(at) if "generation steps" in s["layout"]["title"]["text"]][0]["data"][0]
    assert spec["x"][0].startswith("1 ") and len(matrix(spec["z"])) == 2
    for row in matrix(spec["z"]):
        assert np.nansum(row) == pytest.approx(1.0, abs=1e-4)

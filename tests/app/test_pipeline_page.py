"""AppTest: the whole-pipeline page through app.py; its numbers agree with the other pages' cores."""

from __future__ import annotations

import pytest

from core.architecture import PART_KEYS
from core.kv_cache import measure_cache
from core.logit_lens import layer_predictions
from core.next_token import next_token_distribution
from core.sampling import make_generator, sample_token, sampling_probs
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/pipeline.py"
PROMPT = "The capital of France is"


def charts(at) -> dict[str, dict]:
    return {spec["layout"]["title"]["text"]: spec for spec in plotly_specs(at)}


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


@pytest.mark.slow  # make test only: every layer's sums on the real model
def test_every_stage_shows_the_real_numbers(at, bundled_lm):
    text = all_text(at)
    for n, name in enumerate(["Tokens", "Embedding", "layers", "Final norm", "Logits", "Sampling", "Sampled", "KV"], 1):
        assert f"{n}. " in text and name in text
    assert "504, 3575, 282, 4649, 314" in text  # the token ids
    found = charts(at)
    dist = next_token_distribution(bundled_lm, PROMPT)
    lens = layer_predictions(bundled_lm, PROMPT, grid_positions=1)
    target = dist.top_ids(1)[0]

    layers = found["What each layer adds to the logit of ␣Paris"]["data"]
    attention, mlp = (values(t["y"]) for t in layers[:2])
    assert len(attention) == len(mlp) == 30
    total = float(lens.last_logits[0, target]) + sum(attention) + sum(mlp)
    assert total == pytest.approx(float(dist.logits[target]), abs=0.02)  # the bars add up to the model's logit

    bars = found["Top logits, softmax over the whole vocabulary"]["data"][0]
    assert values(bars["x"])[0] == pytest.approx(float(dist.probs[target]), abs=1e-5)
    assert bars["y"][-1].startswith("all other tokens")

    filters = found["The sampler's filters, in order"]["data"][0]  # the page's defaults: T 0.8, top-k 50, top-p 0.9
    probs = sampling_probs(dist.logits, temperature=0.8, top_k=50, top_p=0.9)
    assert values(filters["x"])[:3] == [dist.vocab_size, dist.vocab_size, 50]
    assert values(filters["x"])[3] == int((probs > 0).sum())
    token = sample_token(probs, make_generator(0))
    assert f"Seed 0 drew token id {token}" in text

    cache = found["KV cache: (layers, kv_heads, tokens, head_dim)"]["data"][0]
    assert values(cache["x"]) == [
        measure_cache(bundled_lm, 5).measured_bytes,
        measure_cache(bundled_lm, 6).measured_bytes,
    ]
    assert "(30, 3, 5, 64)" in text and "(30, 3, 6, 64)" in text


def test_greedy_and_another_seed(at, bundled_lm):
    at.slider(key=state.PIPE_TEMPERATURE).set_value(0.0).run()
    assert_clean(at)
    filters = charts(at)["The sampler's filters, in order"]["data"][0]
    assert values(filters["x"])[1:] == [1, 1, 1]
    assert "drew token id 7042" in all_text(at)  # greedy: ␣Paris whatever the seed
    at.slider(key=state.PIPE_TEMPERATURE).set_value(1.0)
    at.number_input(key=state.PIPE_TOP_K).set_value(0)
    at.slider(key=state.PIPE_TOP_P).set_value(1.0)
    at.number_input(key=state.PIPE_SEED).set_value(5).run()
    assert_clean(at)
    probs = next_token_distribution(bundled_lm, PROMPT).probs
    token = sample_token(probs, make_generator(5))
    assert f"Seed 5 drew token id {token}" in all_text(at)
    assert values(charts(at)["The sampler's filters, in order"]["data"][0]["x"])[-1] == len(probs)


def test_a_changed_prompt_and_bad_input():
    at = open_page(PAGE)
    at.text_area(key=state.PIPE_PROMPT).set_value("Hello world").run()
    assert_clean(at)
    assert "2. Embedding of the last token ␣world" in all_text(at)
    at.text_area(key=state.PIPE_PROMPT).set_value("   ").run()
    assert_clean(at)
    assert "Type a prompt first" in all_text(at) and not plotly_specs(at)
    at.text_area(key=state.PIPE_PROMPT).set_value("<img src=x onerror=alert(1)>").run()
    assert_clean(at)
    assert "<img" not in " ".join(at.markdown[i].value for i in range(len(at.markdown)))
    assert all("<img" not in spec["layout"]["title"]["text"] for spec in plotly_specs(at))


def test_page_works_on_the_trained_character_model():
    at = open_page("app_pages/train.py")  # seed 003's character GPT-2 for a few steps: it joins the picker
    at.number_input(key=state.TRAIN_STEPS).set_value(20).run()
    at.button(key=state.TRAIN_START_BUTTON).click().run()
    lm = at.session_state[state.TRAINED_MODEL]
    at.switch_page(PAGE).run()
    assert_clean(at)
    at.text_area(key=state.PIPE_PROMPT).set_value("the cat").run()
    assert_clean(at)
    text = all_text(at)
    assert "learned position vector" in text  # GPT-2 adds one to the embedding row
    layers = [k for k in charts(at) if k.startswith("What each layer adds")][0]
    assert len(values(charts(at)[layers]["data"][0]["y"])) == lm.facts.layers
    cache = charts(at)["KV cache: (layers, kv_heads, tokens, head_dim)"]["data"][0]
    assert values(cache["x"]) == [measure_cache(lm, 7).measured_bytes, measure_cache(lm, 8).measured_bytes]


def test_the_diagram_explains_the_part_picked_and_opens_its_page_with_the_prompt():
    at = open_page(PAGE)
    diagram = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "Your prompt through the model")
    assert list(diagram["data"][0]["customdata"]) == list(PART_KEYS)
    assert "The technical word: **tokens and token ids**." in [m.value for m in at.markdown]
    at.selectbox(key=state.PIPE_PART).set_value("attention").run()
    assert_clean(at)
    assert any("causal self-attention" in m.value for m in at.markdown)
    assert any("Attention: 9 heads, 3 KV heads" in m.value for m in at.markdown)
    at.session_state[state.ATT_PROMPT] = "an older prompt on the attention page"
    at.button(key=state.PIPE_OPEN).click().run()
    assert_clean(at)
    assert at.session_state[state.ATT_PROMPT] == PROMPT  # the detailed page opens on the same prompt
    assert any(t.value == "Attention" for t in at.title)

"""AppTest: the pages with the operator's llama.cpp server picked in the sidebar."""

from __future__ import annotations

import pytest

from core.serving.remote_backend import RemoteBackend
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, values
from ui import state

LABEL = "Remote server: smollm2"


@pytest.fixture(scope="module")
def at(llama_server):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NTE_REMOTE_BASE_URL", llama_server.url)
        env.setenv("NTE_REMOTE_MODEL", llama_server.model)
        env.setenv("NTE_REMOTE_TIMEOUT", "120")
        at = open_page()
        assert LABEL in at.selectbox(key=state.MODEL_CHOICE).options
        at.selectbox(key=state.MODEL_CHOICE).set_value(LABEL).run()
        assert_clean(at)
        yield at


def test_the_picker_offers_no_server_unless_the_operator_set_one():
    at = open_page()
    assert not [o for o in at.selectbox(key=state.MODEL_CHOICE).options if o.startswith("Remote server")]


def test_next_token_page_shows_the_servers_top_n_and_the_unreported_mass(at, llama_server):
    at.switch_page("app_pages/next_token.py").run()
    assert_clean(at)
    at.text_area(key=state.NT_PROMPT).set_value("The capital of France is").run()
    at.slider(key=state.NT_TOP_N).set_value(10).run()
    assert_clean(at)
    bars = plotly_specs(at)[0]["data"]
    labels, model_p = list(bars[0]["y"]), values(bars[0]["x"])
    assert len(labels) == 11 and labels[-1] == "not reported by the server"
    top = RemoteBackend(llama_server.url, llama_server.model, timeout=120).next_token("The capital of France is", 10)
    assert model_p[:10] == pytest.approx([t.prob for t in top.tokens], abs=1e-6)  # as the server gave them
    assert model_p[-1] == pytest.approx(1 - sum(model_p[:10]), abs=1e-9)  # the rest, never renormalised
    assert 0 < model_p[-1] < 1
    text = all_text(at)
    assert "re-applied locally on the server's top-N" in text and "not reported by the server" in text
    at.slider(key=state.NT_TEMPERATURE).set_value(0.5).run()
    sampling = values(plotly_specs(at)[0]["data"][1]["x"])
    assert sum(sampling[:10]) == pytest.approx(1.0, abs=1e-5) and sampling[-1] == 0.0


@pytest.mark.parametrize(
    "page, reason",
    [
        ("app_pages/attention.py", "attention weights"),
        ("app_pages/logit_lens.py", "hidden state"),
        ("app_pages/kv_cache.py", "a real KV cache, measured"),
        ("app_pages/temperature.py", "whole-vocabulary distributions"),
    ],
)
def test_pages_that_need_the_weights_say_so(at, page, reason):
    at.switch_page(page).run()
    assert_clean(at)
    notes = [i.value for i in at.info if i.value.startswith("This needs the local model")]
    assert len(notes) == 1 and reason in notes[0]
    assert at.button(key=state.REMOTE_USE_LOCAL)


def test_generation_runs_on_the_server_with_per_step_logprobs(at):
    at.switch_page("app_pages/generation.py").run()
    assert_clean(at)
    at.text_area(key=state.REMOTE_GEN_PROMPT).set_value("The capital of France is").run()
    at.button(key=state.REMOTE_GEN_RUN).click().run()
    assert_clean(at)
    frame = at.dataframe[0].value
    assert len(frame) == 30 and (frame["probability"] > 0).all() and (frame["reported mass"] <= 1 + 1e-6).all()
    assert "Paris" in "".join(frame["token"])


def test_perplexity_says_plainly_that_this_server_has_no_usable_prompt_logprobs(at):
    at.switch_page("app_pages/perplexity.py").run()
    at.text_area(key=state.REMOTE_PPL_TEXT).set_value("The warehouse shipped every package on time.").run()
    at.button(key=state.REMOTE_PPL_RUN).click().run()
    assert_clean(at)
    notes = [i.value for i in at.info if "cannot measure perplexity through it" in i.value]
    assert notes and "shifted by one position" in notes[0] and "vLLM" in notes[0]
    assert not at.metric  # no number is shown


def test_use_the_local_model_switches_back(at):
    at.switch_page("app_pages/attention.py").run()
    at.button(key=state.REMOTE_USE_LOCAL).click().run()
    assert_clean(at)
    assert at.session_state[state.MODEL_NAME] != LABEL
    assert not [i for i in at.info if i.value.startswith("This needs the local model")]


def test_a_shared_link_opens_the_same_remote_view(llama_server):
    from streamlit.testing.v1 import AppTest

    from tests.app.helpers import ROOT

    with pytest.MonkeyPatch.context() as env:
        env.setenv("NTE_REMOTE_BASE_URL", llama_server.url)
        env.setenv("NTE_REMOTE_MODEL", llama_server.model)
        env.setenv("NTE_REMOTE_TIMEOUT", "120")
        teacher = open_page()
        teacher.selectbox(key=state.MODEL_CHOICE).set_value(LABEL).run()
        teacher.switch_page("app_pages/next_token.py").run()
        teacher.text_area(key=state.NT_PROMPT).set_value("The package left the").run()
        teacher.slider(key=state.NT_TOP_N).set_value(7).run()
        assert_clean(teacher)
        link = {key: teacher.query_params[key] for key in teacher.query_params}
        assert link["model"] == LABEL and link["prompt"] == "The package left the" and link["top_n"] == "7"
        student = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        for key, value in link.items():
            student.query_params[key] = value
        student.switch_page("app_pages/next_token.py").run()
        assert_clean(student)
        assert student.selectbox(key=state.MODEL_CHOICE).value == LABEL  # the link carries the server
        assert student.text_area(key=state.NT_PROMPT).value == "The package left the"
        assert len(plotly_specs(student)[0]["data"][0]["y"]) == 8  # the top 7 and the unreported rest

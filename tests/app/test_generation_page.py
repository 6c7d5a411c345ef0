"""AppTest: the step-by-step generation page through app.py: step, pick a candidate, rewind, run to the end."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from tests.app.helpers import all_text, assert_clean, html_blocks, open_page, plotly_specs
from ui import state

PAGE = "app_pages/generation.py"


def stepper(at):
    return at.session_state[state.GEN_STEPPER]


def set_prompt(at, text):
    at.text_area(key=state.GEN_PROMPT).set_value(text).run()
    assert_clean(at)


@pytest.fixture
def at():
    at = open_page(PAGE)
    at.number_input(key=state.GEN_MAX_NEW).set_value(6).run()
    assert_clean(at)
    return at


def test_page_shows_candidates_and_steps(at):
    text = all_text(at)
    assert "Step-by-step generation" in text and "Step 1: candidates for the next token" in text
    bars = plotly_specs(at)[0]
    assert any("all other tokens" in str(label) for label in bars["data"][0]["y"])
    assert at.button(key="generation.pick.0") is not None
    before = stepper(at)
    assert before.steps == [] and before.cache_length == before.prompt_len  # prefill only

    at.button(key="generation.step").click().run()
    assert_clean(at)
    st_ = stepper(at)
    assert st_ is before and len(st_.steps) == 1  # the same session stepper, one step further
    assert "Step 1 chose" in all_text(at) and "Step 2: candidates" in all_text(at)
    assert st_.cache_length == st_.prompt_len + 1
    timeline = at.dataframe[0].value
    assert list(timeline["step"]) == [1] and timeline["cache length"][0] == st_.prompt_len + 1
    assert "measured from the cache object" in all_text(at) and "(the same)" in all_text(at)


def test_be_the_sampler_rewind_and_branch(at):
    at.button(key="generation.step").click().run()
    fourth = at.button(key="generation.pick.3")
    dist = stepper(at).next_distribution()
    at.button(key="generation.pick.3").click().run()
    assert_clean(at)
    last = stepper(at).steps[-1]
    assert fourth is not None and last.chosen_by == "you" and last.rank == 4
    assert last.token_id == dist.top_ids(4)[3]
    assert "picked by you" in all_text(at)

    at.number_input(key=state.GEN_REWIND_TO).set_value(1).run()
    at.button(key="generation.rewind").click().run()
    assert_clean(at)
    st_ = stepper(at)
    assert len(st_.steps) == 1 and st_.cache_length == st_.prompt_len + 1 and len(st_.branches) == 1
    at.button(key="generation.branch.0").click().run()
    assert_clean(at)
    assert stepper(at).steps[-1].token_id == last.token_id


def test_run_to_the_end_says_why_it_stopped(at):
    at.button(key="generation.run_all").click().run()
    assert_clean(at)
    st_ = stepper(at)
    assert st_.finished and 1 <= len(st_.steps) <= 6
    assert any("Stopped:" in s.value for s in at.success)
    assert len(at.dataframe[0].value) == len(st_.steps)
    assert len(plotly_specs(at)) >= 3  # probability/entropy, cache, time per step (+ past-step bars)
    assert at.button(key="generation.step").disabled


def test_chat_mode_answers_and_no_cache_switch(at):
    at.radio(key=state.GEN_CHAT).set_value("Chat (the tokenizer's chat template)").run()
    set_prompt(at, "What is the capital of France?")
    at.slider(key=state.GEN_TEMPERATURE).set_value(0.0).run()
    at.toggle(key=state.GEN_NO_CACHE).set_value(True).run()
    at.button(key="generation.run_all").click().run()
    assert_clean(at)
    st_ = stepper(at)
    assert st_.chat and "Paris" in st_.text
    assert all(not s.used_cache and s.cache_length == 0 for s in st_.steps)
    assert set(at.dataframe[0].value["KV cache"]) == {"off"}
    assert any("The KV cache is off" in w.value for w in at.warning)  # the cache panel says so
    assert any(m.label == "Tokens in the cache (cache off)" for m in at.metric)


def test_bad_input_gives_messages_not_tracebacks(at):
    set_prompt(at, "   ")
    assert any("Type a prompt first" in i.value for i in at.info)
    set_prompt(at, "<script>alert(1)</script> The package left the")
    at.text_input(key=state.GEN_STOP_STRINGS).set_value("  |").run()
    at.number_input(key=state.GEN_MAX_NEW).set_value(100_000).run()
    assert_clean(at)
    text = all_text(at)
    # the widget's maximum is this server's limit (tests/app/test_limits.py): 100,000 is never used
    assert "Ignored 2 empty or whitespace-only stop string" in text and "at most 256 tokens per run" in text
    assert stepper(at).max_new_tokens <= 256
    html = "".join(b for b in html_blocks(at) if "nte-generation" in b)
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_state_survives_navigation_and_sessions_are_separate(at):
    at.radio(key=state.GEN_CHAT).set_value("Chat (the tokenizer's chat template)").run()
    at.button(key="generation.step").click().run()
    at.button(key="generation.step").click().run()
    mine = stepper(at)
    at.switch_page("app_pages/next_token.py").run()
    assert_clean(at)
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert stepper(at) is mine and len(mine.steps) == 2 and mine.chat  # settings and steps kept
    other = open_page(PAGE)
    assert stepper(other) is not mine and stepper(other).steps == []


# The page's builders, tested on their returned objects (no Streamlit needed).
def make_step(index, text, p, *, used_cache=True, chosen_by="sampled"):
    from core.generation import Candidate, Step

    top = (Candidate(7, text, p, min(1.0, p * 1.5)), Candidate(8, "other", (1 - p) / 2, 0.0))
    return Step(
        index=index,
        token_id=7,
        token=text,
        text=text,
        chosen_by=chosen_by,
        model_probability=p,
        sampling_probability=top[0].sampling_probability,
        rank=1,
        entropy_bits=1.5,
        top=top,
        cache_length=10 + index,
        cache_bytes=(10 + index) * 1024,
        seconds=0.01 * index,
        used_cache=used_cache,
        temperature=0.7,
        top_k=0,
        top_p=0.9,
        seed=0,
    )


def test_view_builders_escape_and_measure():
    from components.generation import (
        cache_formula,
        generated_html,
        median_ms,
        step_candidate_table,
        timeline_table,
        timing_chart,
    )
    from tests.app.helpers import values

    steps = [make_step(1, "<b>bold</b>", 0.9), make_step(2, " & more", 0.2, used_cache=False), make_step(3, "\n", 0.5)]
    page = generated_html("<script>alert(1)</script>", steps)
    assert "<script>" not in page and "<b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count('class="nte-chip"') == 3
    table = timeline_table(steps)
    assert list(table["KV cache"]) == ["on", "off", "on"] and list(table["time (ms)"]) == pytest.approx([10, 20, 30])
    reused = timeline_table([steps[0], dataclasses.replace(steps[2], reused=True)])  # served from the shared steps
    assert list(reused["KV cache"]) == ["on", "on, reused"]
    assert reused["time (ms)"].iloc[0] == pytest.approx(10) and pd.isna(reused["time (ms)"].iloc[1])
    candidates = step_candidate_table(steps[0], 5)
    assert candidates["token"].iloc[0].endswith("chosen") and candidates["model_probability"].sum() == pytest.approx(
        1.0
    )
    assert median_ms(steps, True) == pytest.approx(20) and median_ms(steps, False) == pytest.approx(20)
    assert [trace.name for trace in timing_chart(steps).data] == ["with KV cache", "without KV cache"]
    assert values(timing_chart(steps).data[1].y) == pytest.approx([20])
    assert "(the same)" in cache_formula(30, 3, 64, 10, 4, 2 * 30 * 3 * 64 * 10 * 4)
    assert "(different)" in cache_formula(30, 3, 64, 10, 4, 1)


def test_a_shared_link_replays_the_same_steps_and_picks():
    from streamlit.testing.v1 import AppTest

    from tests.app.helpers import ROOT

    first = open_page("app_pages/generation.py")
    first.text_area(key="generation.prompt").set_value("Once upon a time").run()
    first.button(key="generation.step").click().run()
    first.button(key="generation.pick.3").click().run()
    first.button(key="generation.step").click().run()
    assert_clean(first)
    original = first.session_state[state.GEN_STEPPER]
    assert [s.chosen_by for s in original.steps][1] == "you" and len(original.steps) == 3
    link = {k: first.query_params[k] for k in first.query_params}
    link = {k: (v[0] if isinstance(v, list) else v) for k, v in link.items()}
    assert link["steps"] == "3" and link["picks"].startswith("1:")
    second = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    second.query_params.update(link)
    second.run()
    second.switch_page("app_pages/generation.py").run()
    assert_clean(second)
    again = second.session_state[state.GEN_STEPPER]
    assert again.generated_ids == original.generated_ids
    assert [s.chosen_by for s in again.steps] == [s.chosen_by for s in original.steps]


def test_a_step_another_session_computed_says_it_was_reused():
    """Two students on the same new prompt: the second one's step comes from the server's shared steps, and the
    page says so instead of showing a model time it did not measure."""
    prompt = "Two students on one server step the same sentence about a"
    first, second = open_page(PAGE), open_page(PAGE)
    for at in (first, second):
        set_prompt(at, prompt)
        at.button(key="generation.step").click().run()
        assert_clean(at)
    one, two = stepper(first).steps[-1], stepper(second).steps[-1]
    assert not one.reused and two.reused
    assert (two.token_id, two.model_probability, two.rank, two.entropy_bits, two.cache_length, two.cache_bytes) == (
        one.token_id,
        one.model_probability,
        one.rank,
        one.entropy_bits,
        one.cache_length,
        one.cache_bytes,
    )
    assert "reused from an identical generation on this server" in all_text(second)
    assert "reused from an identical generation" not in all_text(first)

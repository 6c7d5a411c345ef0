"""AppTest: every model forward a page run makes goes through the one inference service (its worker thread).

A global forward hook records the thread of each call of a causal LM (a module with an ``lm_head``) while a page
runs; the service's worker threads are named ``inference-<model>``. A call made in the script thread (a prefill
outside the queue, a second decode loop, a measurement that bypasses it) shows up here with the page it came from.
"""

from __future__ import annotations

import threading

import pytest
import torch

from tests.app.helpers import assert_clean, open_page
from ui import state
from ui.navigation import available_pages

pytestmark = pytest.mark.slow  # make test only: every page with a hook on every forward


@pytest.fixture
def forward_threads():
    """Names of the threads that ran a causal LM's forward while the fixture is active."""
    seen: list[str] = []

    def record(module, args):
        if hasattr(module, "lm_head"):
            seen.append(threading.current_thread().name)

    handle = torch.nn.modules.module.register_module_forward_pre_hook(record)
    yield seen
    handle.remove()


def outside_service(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith("inference-")]


PAGES = [p.path for p in available_pages()]  # every page, so a new one is checked without touching this file


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_every_forward_on_the_service(page, forward_threads):
    open_page(page)
    assert outside_service(forward_threads) == []


def test_generation_prefill_and_steps_run_on_the_service(forward_threads):
    at = open_page("app_pages/generation.py")
    at.text_area(key=state.GEN_PROMPT).set_value("A prompt this session has not read before:").run()
    assert_clean(at)
    at.button(key="generation.step").click().run()
    assert_clean(at)
    assert len(at.session_state[state.GEN_STEPPER].steps) == 1
    assert forward_threads and outside_service(forward_threads) == []


def test_generation_tree_beam_step_runs_on_the_service(forward_threads):
    at = open_page("app_pages/generation_tree.py")
    at.button(key=state.TREE_STEP_BUTTON).click().run()
    assert_clean(at)
    assert forward_threads and outside_service(forward_threads) == []


def test_attention_greedy_continuation_runs_on_the_service(forward_threads):
    at = open_page("app_pages/attention.py")
    at.toggle(key=state.ATT_GEN_SHOW).set_value(True).run()
    assert_clean(at)
    assert "Rows added by" in str([c.proto.spec for c in at.get("plotly_chart")])
    assert forward_threads and outside_service(forward_threads) == []


def test_kv_cache_measurement_runs_on_the_service(forward_threads):
    at = open_page("app_pages/kv_cache.py")
    at.slider(key=state.KV_MEASURE_N).set_value(7).run()
    assert_clean(at)
    assert any("ran on 7 tokens" in s.value for s in at.success)
    assert forward_threads and outside_service(forward_threads) == []

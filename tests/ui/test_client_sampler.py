"""Letting go of the client-side sampler: the settings the browser sends are checked before they reach the page's
session-state keys (a browser is not to be trusted), and a value out of range keeps the old one."""

from __future__ import annotations

import math

import pytest
import streamlit as st

from ui import state
from ui.client_sampler import SamplerKeys, let_go

KEYS = SamplerKeys(state.NT_SAMPLER, state.NT_TEMPERATURE, state.NT_TOP_K, state.NT_TOP_P)
BEFORE = {state.NT_TEMPERATURE: 1.0, state.NT_TOP_K: 0, state.NT_TOP_P: 1.0}


@pytest.fixture
def session(monkeypatch):
    """A plain dict as session state: let_go reads and writes it as it would Streamlit's."""
    values = dict(BEFORE)
    monkeypatch.setattr(st, "session_state", values)
    return values


def sent(session, settings) -> dict:
    session[state.NT_SAMPLER] = {"settings": settings}
    let_go(KEYS)
    return {key: session[key] for key in BEFORE}


def test_settings_let_go_of_reach_the_page_keys(session):
    after = sent(session, {"temperature": 0.35, "top_k": 5, "top_p": 0.9})
    assert after == {state.NT_TEMPERATURE: 0.35, state.NT_TOP_K: 5, state.NT_TOP_P: 0.9}
    assert isinstance(after[state.NT_TOP_K], int) and isinstance(after[state.NT_TEMPERATURE], float)


@pytest.mark.parametrize(
    "bad",
    [
        {"temperature": -0.5, "top_k": -1, "top_p": 1.5},
        {"temperature": 3.05, "top_k": 1_000_001, "top_p": -0.01},  # just past each end
        {"temperature": math.inf, "top_k": 2.5, "top_p": math.nan},
        {"temperature": "0.5", "top_k": "5", "top_p": None},
        {"temperature": True, "top_k": False, "top_p": [0.5]},
        {},
    ],
)
def test_values_out_of_range_or_of_the_wrong_kind_keep_the_old_ones(session, bad):
    assert sent(session, bad) == BEFORE


def test_no_settings_at_all_changes_nothing(session):
    session[state.NT_SAMPLER] = {"settings": "T=0"}
    let_go(KEYS)
    session[state.NT_SAMPLER] = None
    let_go(KEYS)
    assert {key: session[key] for key in BEFORE} == BEFORE


def test_the_temperature_page_takes_up_to_five_and_has_no_filters(monkeypatch):
    values = {state.TEMP_VALUE: 1.0, state.TEMP_SAMPLER: {"settings": {"temperature": 4.5, "top_k": 3}}}
    monkeypatch.setattr(st, "session_state", values)
    let_go(SamplerKeys(state.TEMP_SAMPLER, state.TEMP_VALUE, max_temperature=5.0))
    assert values[state.TEMP_VALUE] == 4.5 and state.NT_TOP_K not in values

"""The memo's memory budget: values are counted in bytes, a session over its own budget forgets
its least recently used values, the process over the class budget forgets the least recently used of any session,
and a session that ends stops counting."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ui.memo
from core.next_token import NextTokenDistribution
from ui import state
from ui.memo import MB, nbytes_of, session_memo

KB400 = 400 * 1024  # float32 values of a 100 k-element array


@pytest.fixture
def sessions(monkeypatch):
    """Switch between fake sessions: ``use(name)`` makes ``name``'s session state the current one."""
    states: dict[str, dict] = {}
    holder = SimpleNamespace(session_state={})
    monkeypatch.setattr(ui.memo, "st", holder)
    monkeypatch.setattr(ui.memo, "BUDGET", ui.memo._Budget())  # other tests' sessions may still be counted

    def use(name: str) -> dict:
        holder.session_state = states.setdefault(name, {})
        return holder.session_state

    use.states = states
    return use


def array(n_bytes: int, fill: float = 1.0) -> np.ndarray:
    return np.full(n_bytes // 4, fill, dtype=np.float32)


def test_nbytes_counts_tensors_arrays_and_strings_once_and_never_the_shared_tokenizer(bundled_lm):
    t = torch.zeros(1000)  # 4,000 bytes
    assert nbytes_of(t) == 4000
    assert 4000 <= nbytes_of([t, t, t[:10]]) < 4200  # one storage, counted once (plus the list itself)
    a = np.zeros((10, 100), dtype=np.float32)
    assert 4000 <= nbytes_of((a, a[2:5])) < 4200  # a view of a counted array adds nothing
    dist = NextTokenDistribution(torch.zeros(49152), torch.zeros(49152), [1, 2, 3], 0, bundled_lm.tokenizer)
    size = nbytes_of(dist)
    assert 2 * 49152 * 4 <= size < 2 * 49152 * 4 + 10_000  # logits + probs; the 49k-entry tokenizer is not ours


def test_a_session_over_its_budget_forgets_its_least_recently_used_values(sessions, monkeypatch):
    monkeypatch.setenv("NTE_MEMO_SESSION_MB", "1")
    sessions("a")
    for n in range(3):  # 3 x 300 KB fit in 1 MB
        session_memo("kind", n, lambda n=n: array(300 * 1024, n))
    session_memo("kind", 0, lambda: pytest.fail("0 is still memoised"))  # a hit makes 0 the most recent
    session_memo("kind", 3, lambda: array(300 * 1024, 3))
    memo = sessions.states["a"][state.MEMO]
    assert list(memo["kind"]) == [2, 0, 3]  # 1 was the least recently used: forgotten
    assert memo.nbytes <= 1 * MB


def test_the_class_budget_forgets_the_least_recently_used_values_of_any_session(sessions, monkeypatch):
    monkeypatch.setenv("NTE_MEMO_SESSION_MB", "10")
    monkeypatch.setenv("NTE_MEMO_TOTAL_MB", "1")  # room for two 400 KB values
    sessions("left-earlier")
    session_memo("kind", "x", lambda: array(KB400))
    sessions("active")
    session_memo("kind", "y", lambda: array(KB400))
    session_memo("kind", "z", lambda: array(KB400))
    assert "x" not in sessions.states["left-earlier"][state.MEMO]["kind"]  # the oldest, another session's
    assert list(sessions.states["active"][state.MEMO]["kind"]) == ["y", "z"]
    assert ui.memo.BUDGET.total <= 1 * MB


def test_a_session_that_ends_stops_counting(sessions):
    sessions("student")
    before = ui.memo.BUDGET.total
    session_memo("kind", "big", lambda: array(2 * MB))
    assert ui.memo.BUDGET.total - before >= 2 * MB
    sessions.states.pop("student")  # Streamlit drops a finished session's state
    sessions("someone-else")
    gc.collect()
    assert ui.memo.BUDGET.total - before < 1024


def test_forward_records_count_against_the_budget(sessions, bundled_lm, monkeypatch):
    """A forward record with attention maps is the biggest value a page memoises: it is counted in full."""
    from core.forward import Need

    monkeypatch.setenv("NTE_MEMO_SESSION_MB", "200")
    sessions("reader")
    forward = ui.memo.session_forward()
    ids = bundled_lm.tokenizer("The capital of France is", add_special_tokens=False)["input_ids"]
    record = forward(bundled_lm, ids, Need(attentions=True))
    memo = sessions.states["reader"][state.MEMO]
    assert memo.nbytes >= record.attentions.nbytes + record.logits.numel() * 4

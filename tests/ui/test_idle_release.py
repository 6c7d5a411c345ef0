"""What the server gives back when it goes idle: the memos of sessions that have left (their tab is closed, their
state still kept by Streamlit for a reconnect), never an active session's; nothing without a runtime."""

from __future__ import annotations

import numpy as np

import ui.idle_release
from ui.memo import SessionMemo, _Budget


def memo_with(budget: _Budget, session_id: str, n_bytes: int) -> SessionMemo:
    memo = SessionMemo(session_id)
    budget.track(memo)
    for i in range(2):
        value = np.ones(n_bytes // 4, dtype=np.float32)  # (n_bytes / 4,)
        memo.setdefault("forward", {})[i] = value
        memo.sizes[("forward", i)] = value.nbytes
        budget.add(memo, "forward", i, value.nbytes)
    return memo


def test_the_memos_of_sessions_that_left_are_forgotten_and_the_others_kept():
    budget = _Budget()
    gone = memo_with(budget, "left", 1_000_000)
    here = memo_with(budget, "here", 1_000_000)
    freed = budget.forget_sessions(lambda session_id: session_id == "left")
    assert freed == 2_000_000
    assert gone.nbytes == 0 and not gone["forward"]
    assert here.nbytes == 2_000_000 and len(here["forward"]) == 2
    assert budget.total == 2_000_000
    assert budget.forget_sessions(lambda session_id: session_id == "left") == 0


def test_a_memo_without_a_session_is_never_forgotten():
    budget = _Budget()
    memo = memo_with(budget, "", 400)
    assert budget.forget_sessions(lambda session_id: True) == 0
    assert memo.nbytes == 800


def test_without_a_runtime_no_session_counts_as_gone(monkeypatch):
    assert ui.idle_release.session_gone("any") is False
    budget = _Budget()
    memo = memo_with(budget, "some-session", 400)
    monkeypatch.setattr(ui.idle_release, "BUDGET", budget)
    monkeypatch.setattr(ui.idle_release, "forget_shared_results", lambda: 0)
    done = ui.idle_release.release_idle_memory()
    assert done["memo_bytes_forgotten"] == 0 and memo.nbytes == 800
    assert done["collected"] >= 0


def test_the_release_forgets_the_sessions_the_runtime_no_longer_has(monkeypatch):
    budget = _Budget()
    gone, here = memo_with(budget, "left", 4000), memo_with(budget, "here", 4000)
    monkeypatch.setattr(ui.idle_release, "BUDGET", budget)
    monkeypatch.setattr(ui.idle_release, "session_gone", lambda session_id: session_id == "left")
    monkeypatch.setattr(ui.idle_release, "forget_shared_results", lambda: 123)
    done = ui.idle_release.release_idle_memory()
    assert done["memo_bytes_forgotten"] == 8000 and done["shared_bytes_forgotten"] == 123
    assert gone.nbytes == 0 and here.nbytes == 8000


def test_every_live_service_forgets_its_shared_results(monkeypatch):
    import weakref

    import ui.inference

    class Service:
        def __init__(self, held: int) -> None:
            self.held = held

        def forget_results(self) -> int:
            held, self.held = self.held, 0
            return held

    services = [Service(100), Service(20)]
    registry = weakref.WeakSet(services)
    monkeypatch.setattr(ui.inference, "_SERVICES", registry)
    assert ui.inference.forget_shared_results() == 120
    assert [s.held for s in services] == [0, 0]
    assert ui.inference.forget_shared_results() == 0

"""The idle memory release: one collection and one malloc_trim when the process goes quiet, never once per run, and
a no-op where glibc's functions are missing."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import numpy as np

import core.serving.idle_release as idle_release
from core.serving.idle_release import IdleRelease, fix_mmap_threshold, malloc_trim, release_memory


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_release():
    calls = []
    return calls, (lambda: calls.append(1))


def test_the_release_runs_once_after_the_idle_delay_not_on_every_run():
    clock = FakeClock()
    calls, release = counting_release()
    idle = IdleRelease(10.0, release, clock=clock)
    idle._ensure_thread = lambda: None  # this test drives ``check`` itself
    for t in range(6):  # six script runs, one a second
        clock.now = float(t)
        idle.touch()
        assert not idle.check()
    assert not idle.check(14.9)  # 9.9 s after the last run
    assert idle.check(15.0)
    assert calls == [1]
    assert not idle.check(100.0) and not idle.check(1000.0)  # once per quiet moment, not again and again
    clock.now = 2000.0
    idle.touch()  # the next run arms it again
    assert not idle.check(2009.0)
    assert idle.check(2010.0)
    assert calls == [1, 1] and idle.releases == 2


def test_no_release_while_a_run_is_going():
    clock = FakeClock()
    calls, release = counting_release()
    idle = IdleRelease(10.0, release, clock=clock)
    idle._ensure_thread = lambda: None
    idle.begin()
    assert not idle.check(500.0)  # a long page run: quiet clock, but not idle
    clock.now = 500.0
    idle.end()
    assert not idle.check(509.0)
    assert idle.check(510.0) and calls == [1]


def test_the_thread_releases_once_after_a_burst_of_runs():
    released = threading.Event()
    calls = []

    def release():
        calls.append(threading.current_thread().name)
        released.set()

    idle = IdleRelease(0.05, release)
    for _ in range(50):
        idle.touch()
    assert released.wait(30), "the idle release never ran"
    released.clear()
    assert not released.wait(0.5)  # nothing new happened: no second release
    assert calls == ["idle-memory-release"]
    idle.touch()
    assert released.wait(30)
    assert len(calls) == 2


def test_switched_off_it_never_runs():
    calls, release = counting_release()
    idle = IdleRelease(0, release)
    idle.touch()
    assert not idle.check(10**9) and calls == [] and idle._thread is None


def test_a_failing_release_is_logged_and_the_next_quiet_moment_tries_again(caplog):
    clock = FakeClock()
    idle = IdleRelease(1.0, lambda: 1 / 0, clock=clock)
    idle._ensure_thread = lambda: None
    idle.touch()
    assert idle.check(2.0)  # ran (and failed) without raising
    assert "idle memory release failed" in caplog.text


def test_a_release_that_asks_for_another_gets_it_later_if_the_server_is_still_idle():
    """A session kept for a reconnect ends after the first release: the release asks to run again then."""
    clock = FakeClock()
    answers = [{idle_release.AGAIN_IN: 7.0}, {}]
    calls = []

    def release():
        calls.append(clock.now)
        return answers[len(calls) - 1]

    idle = IdleRelease(10.0, release, clock=clock)
    idle._ensure_thread = lambda: None
    idle.touch()
    clock.now = 10.0
    assert idle.check()
    clock.now = 16.9
    assert not idle.check()
    clock.now = 17.0
    assert idle.check() and calls == [10.0, 17.0]
    clock.now = 1000.0
    assert not idle.check()  # the second release asked for nothing more


def test_activity_before_the_asked_release_puts_it_off_by_the_usual_delay():
    clock = FakeClock()
    calls, _ = counting_release()
    idle = IdleRelease(10.0, lambda: calls.append(clock.now) or {idle_release.AGAIN_IN: 5.0}, clock=clock)
    idle._ensure_thread = lambda: None
    idle.touch()
    clock.now = 10.0
    assert idle.check()
    clock.now = 12.0
    idle.touch()  # a student comes back
    clock.now = 15.0
    assert not idle.check()
    clock.now = 22.0
    assert idle.check() and calls == [10.0, 22.0]


def test_the_thread_runs_the_asked_release_by_itself():
    done = threading.Event()
    calls = []

    def release():
        calls.append(1)
        if len(calls) == 2:
            done.set()
        return {idle_release.AGAIN_IN: 0.05} if len(calls) == 1 else {}

    idle = IdleRelease(0.05, release)
    idle.touch()
    assert done.wait(30)


def test_malloc_trim_is_a_no_op_where_it_is_missing(monkeypatch):
    assert malloc_trim(None) is False
    assert fix_mmap_threshold(1 << 20, mallopt=None) is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert idle_release._load_malloc_trim() is None


def test_malloc_trim_and_mallopt_are_called_with_their_arguments():
    seen = []
    assert malloc_trim(lambda pad: seen.append(("trim", pad)) or 1) is True
    assert fix_mmap_threshold(4096, mallopt=lambda p, v: seen.append(("mallopt", p, v)) or 1) is True
    assert seen == [("trim", 0), ("mallopt", idle_release.M_MMAP_THRESHOLD, 4096)]


def test_release_memory_frees_an_array_held_only_by_a_reference_cycle():
    class Holder:
        pass

    gc.disable()  # as between a server's rare full collections
    try:
        a, b = Holder(), Holder()
        a.other, b.other = b, a
        a.array = np.ones(1_000_000, dtype=np.float32)  # (1_000_000,) 4 MB
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # unreachable, but nothing has collected it yet
        done = release_memory()
    finally:
        gc.enable()
    assert alive() is None
    assert done["collected"] >= 2
    assert done["trimmed"] is (idle_release._MALLOC_TRIM is not None)


def test_an_idle_service_forgets_its_shared_results_and_runs_the_model_again(tiny_gpt2_lm):
    from core.forward import Need
    from core.serving.inference import InferenceService

    service = InferenceService(tiny_gpt2_lm, cache_bytes=64 * 2**20)
    try:
        ids = [464, 3139, 286]
        first = service.forward(ids, Need(), "a").result(timeout=120)
        assert service.cached(ids) is not None
        calls = service.stats().model_calls
        freed = service.forget_results()
        assert freed == first.nbytes > 0
        assert service.cached(ids) is None and service.stats().cache_bytes == 0
        assert service.stats().cache_entries == 0
        again = service.forward(ids, Need(), "b").result(timeout=120)
        assert service.stats().model_calls == calls + 1  # not served from a cache
        assert (again.logits == first.logits).all()
    finally:
        service.close()

"""The server's memory between bursts of work: glibc's mmap threshold fixed once per process, and one release each
time the server goes idle (shut down the sessions kept for a reconnect whose reconnect time has passed, forget the
memos of sessions that have left and the shared inference caches, one full collection, ``malloc_trim``; once more
when the last kept session's reconnect time ends).

app.py calls ``note_script_run()`` first and runs the page inside ``script_run()``; the release runs in one
daemon thread of the process (core.serving.idle_release.IdleRelease) ``idle_release_seconds()`` after the last run
ended, never per run, so the CPU that ``postScriptGC = false`` saves stays saved. A fragment rerun does not pass
through app.py: it neither delays nor triggers the release.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import streamlit
from streamlit.runtime import Runtime

from core.serving.idle_release import AGAIN_IN, IdleRelease, fix_mmap_threshold, release_memory
from ui.charts import forget_shared
from ui.inference import forget_shared_results
from ui.memo import BUDGET
from ui.settings import idle_release_seconds

LOG = logging.getLogger(__name__)
# The Streamlit major.minor whose private session store this module was written and measured against: the runtime's
# ``_session_mgr`` and ``_get_async_objs()``, the manager's ``_session_storage._cache`` (a TTLCache with ``expire()``,
# ``_on_remove``, ``_expirations`` and ``timer``), a session's ``_fragment_storage``. On another version the kept
# sessions are left to Streamlit (the rest of the release still runs), the log says so once, and
# tests/ui/test_idle_release.py fails until someone re-checks those details and the memory bench.
STREAMLIT_WRITTEN_FOR = "1.67"
_SKIPPED_LOGGED: list[bool] = []
_LOCK = threading.Lock()
_PROCESS: list[IdleRelease] = []  # the process's one IdleRelease, made by the first script run
_SWEEP: list[DepartedSweep] = []  # and its one DepartedSweep


def session_gone(session_id: str) -> bool:
    """Whether Streamlit no longer has this session connected (False when there is no runtime: a test, bare mode)."""
    try:
        return Runtime.exists() and not Runtime.instance().is_active_session(session_id)
    except Exception:  # no runtime, or one shutting down: forget nothing
        return False


def streamlit_version_supported(version: str | None = None) -> bool:
    """Whether the running Streamlit (or ``version``) is the major.minor the kept-session release was written for."""
    return ".".join((version or streamlit.__version__).split(".")[:2]) == STREAMLIT_WRITTEN_FOR


def release_departed_sessions(manager: Any) -> dict[str, Any]:
    """Shut down the sessions Streamlit kept for a reconnect whose reconnect time has passed (run on the runtime's
    event loop, where Streamlit moves sessions between connected and kept).

    A kept session holds everything its page made: its fragments with the arguments of their last call, and its
    widgets' ``format_func`` closures (the attention maps, the lens's predictions: 5-40 MB a session), which the
    memo's forgetting cannot reach. Streamlit's store (a TTLCache of ``server.disconnectedSessionTTL`` seconds)
    drops an expired session only when another session disconnects, and without shutting it down: a server that
    went quiet kept its last sessions for good. A reconnect after that time gets a new session, which restores the
    view from the link.

    Args:
        manager: Streamlit's session manager (its ``_session_storage._cache`` is the TTLCache).
    Returns:
        ``sessions_closed`` (shut down now) and ``next_expiry_in`` (seconds until the next kept session's reconnect
        time ends; None when none is kept).
    """
    if not streamlit_version_supported():
        if not _SKIPPED_LOGGED:
            _SKIPPED_LOGGED.append(True)
            LOG.warning(
                "Kept sessions are left to Streamlit: ui/idle_release.py was written for Streamlit %s, not %s.",
                STREAMLIT_WRITTEN_FOR,
                streamlit.__version__,
            )
        return {"sessions_closed": 0, "next_expiry_in": None}
    cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    if not callable(getattr(cache, "expire", None)):  # another session store: it manages its own sessions
        return {"sessions_closed": 0, "next_expiry_in": None}
    if getattr(cache, "_on_remove", False) is None:
        # Streamlit's own removals end the session too (it reaps expired ones when another session leaves).
        cache._on_remove = lambda session_id, info: _end_unless_resumed(manager, session_id, info)
    closed = len(cache.expire())  # each ended by the hook
    expirations = getattr(cache, "_expirations", {})
    soonest = min(expirations.values(), default=None)
    later = None if soonest is None else max(0.0, soonest - cache.timer())
    return {"sessions_closed": closed, "next_expiry_in": later}


def end_session(session: Any) -> None:
    """Shut a kept session down and empty its state and fragments. Shut down, a session is only dropped: its
    objects form cycles that wait for a full collection, which postScriptGC = false makes rare, and meanwhile its
    widgets' closures keep the maps; emptied, they are freed at once, by reference count."""
    session.shutdown()
    state = getattr(session, "session_state", None)
    if state is not None:
        state.clear()
    fragments = getattr(session, "_fragment_storage", None)
    if fragments is not None:
        fragments.clear()


def _end_unless_resumed(manager: Any, session_id: str, info: Any) -> None:
    """Called by Streamlit's session store for every session it removes: a reconnect takes its session back (it is
    connected again by then) and keeps everything; any other removal (reconnect time over, too many kept, closed)
    ends the session."""
    try:
        if not manager.is_active_session(session_id):
            end_session(info.session)
    except Exception:  # inside Streamlit's store: never raise
        LOG.exception("Ending a departed session failed.")


def _on_event_loop(fn: Callable[[], Any], timeout: float = 30.0, *, wait: bool = True) -> Any:
    """Run ``fn`` on the Streamlit runtime's event loop and wait for its result (None without a running runtime, or
    with ``wait=False``: then ``fn`` runs later and its errors are logged)."""
    try:
        loop = Runtime.instance()._get_async_objs().eventloop if Runtime.exists() else None
    except Exception:  # a runtime not started yet, or shutting down
        loop = None
    if loop is None or loop.is_closed():
        return None
    done: Future[Any] = Future()

    def call() -> None:
        try:
            done.set_result(fn())
        except BaseException as error:  # handed to the waiting thread
            if not wait:
                LOG.exception("Closing the sessions that left failed.")
            done.set_exception(error)

    loop.call_soon_threadsafe(call)
    return done.result(timeout=timeout) if wait else None


class DepartedSweep:
    """While the server is busy (no idle moment comes), at most once every ``every`` seconds of script runs: forget
    the memos of sessions that have left and, on the event loop without waiting, shut down the kept sessions whose
    reconnect time has passed. Otherwise a class's departed sessions fill the process's memo budget and keep their
    maps until the server goes quiet, which a busy server's peak pays for.

    Args:
        sweep: what to run (default ``sweep_departed``).
        every: seconds between sweeps (a dict lookup per memo and a small cache's expiry: well under a millisecond).
        clock: monotonic seconds.
    """

    def __init__(
        self,
        sweep: Callable[[], Any] | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sweep = sweep if sweep is not None else sweep_departed
        self.every = every
        self.clock = clock
        self._next = clock()
        self._lock = threading.Lock()

    def maybe(self) -> bool:
        """Sweep if ``every`` seconds have passed since the last sweep; returns whether it did."""
        now = self.clock()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.every
        try:
            self.sweep()
        except Exception:  # never break the script run that happened to pass by
            LOG.exception("The sweep of departed sessions failed.")
        return True


def sweep_departed() -> int:
    """Forget the memos of sessions that have left and ask the event loop to shut down the kept sessions whose
    reconnect time has passed (not waited for); returns the memo bytes forgotten."""
    freed = BUDGET.forget_sessions(session_gone)
    _on_event_loop(lambda: release_departed_sessions(Runtime.instance()._session_mgr), wait=False)
    return freed


def release_idle_memory() -> dict[str, Any]:
    """What the server gives back when it goes idle: what Streamlit keeps of sessions that have left (their
    fragments; the whole session once its reconnect time passed), their memoised values, the shared inference caches
    (no one is waiting for a result: the next request of a prompt runs the model again) and the views sessions share
    (ui.charts.shared), then whatever a full collection frees, then glibc's free pages (``malloc_trim``)."""
    try:
        departed = _on_event_loop(lambda: release_departed_sessions(Runtime.instance()._session_mgr)) or {}
    except Exception:  # the rest of the release still runs
        LOG.exception("Closing the sessions that left failed.")
        departed = {}
    later = departed.pop("next_expiry_in", None)
    freed = BUDGET.forget_sessions(session_gone)
    shared = forget_shared_results()
    views = forget_shared()
    done = release_memory()
    done.update(departed)
    if later is not None:  # a kept session's reconnect time ends later: release again then (while still idle)
        done[AGAIN_IN] = later + 1.0
    done["memo_bytes_forgotten"] = freed
    done["shared_bytes_forgotten"] = shared
    done["shared_views_forgotten"] = views
    LOG.info("Idle memory release: %s", done)
    report = os.environ.get(REPORT_ENV)
    if report:
        _write_report(report, done)
    return done


REPORT_ENV = "NTE_MEMORY_REPORT"  # a file the bench reads: what is still held after each release (off by default)


def held_after_release() -> dict[str, Any]:
    """What the process still holds (for the memory bench, off by default): Streamlit's sessions (connected, and
    disconnected ones kept for a reconnect) with their session-state bytes, and every torch tensor the collector
    can see, counted once per storage (core.serving.memory.tensors_held)."""
    from core.serving.memory import nbytes_of, tensors_held

    out: dict[str, Any] = {}
    if Runtime.exists():
        mgr = Runtime.instance()._session_mgr
        active = {info.session.id for info in mgr.list_active_sessions()}
        stored = [info for info in mgr.list_sessions() if info.session.id not in active]
        out["sessions_active"] = len(active)
        out["sessions_stored"] = len(stored)
        out["stored_state_bytes"] = sum(nbytes_of(dict(info.session.session_state.filtered_state)) for info in stored)
    out.update(tensors_held())
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    except OSError:
        pass
    return out


def _write_report(path: str, done: dict[str, Any]) -> None:
    try:
        line = json.dumps({**done, **held_after_release()})
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except Exception:  # a report must never break the release
        LOG.exception("The memory report could not be written.")


def process_release() -> IdleRelease:
    """The process's IdleRelease (made, and glibc's mmap threshold fixed, on the first call)."""
    with _LOCK:
        if not _PROCESS:
            fix_mmap_threshold()
            _PROCESS.append(IdleRelease(idle_release_seconds(), release=release_idle_memory))
        return _PROCESS[0]


def note_script_run() -> None:
    """A script run starts (app.py's first line of work): the first one fixes glibc's mmap threshold, before the
    model loads; every one puts the idle release off, and now and then sweeps the sessions that have left."""
    process_release().touch()
    with _LOCK:
        if not _SWEEP:
            _SWEEP.append(DepartedSweep())
        sweep = _SWEEP[0]
    if process_release().enabled:
        sweep.maybe()


@contextmanager
def script_run() -> Iterator[None]:
    """Around one script run: the idle release waits until no run is going and then ``idle_release_seconds()``."""
    idle = process_release()
    idle.begin()
    try:
        yield
    finally:
        idle.end()

"""The server's memory between bursts of work: glibc's mmap threshold fixed once per process, and one release each
time the server goes idle (forget the memos of sessions that have left and the shared inference caches, one full
collection, ``malloc_trim``).

app.py calls ``note_script_run()`` first and runs the page inside ``script_run()``; the release runs in one
daemon thread of the process (core.serving.idle_release.IdleRelease) ``idle_release_seconds()`` after the last run
ended, never per run, so the CPU that ``postScriptGC = false`` saves stays saved. A fragment rerun does not pass
through app.py: it neither delays nor triggers the release.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from streamlit.runtime import Runtime

from core.serving.idle_release import IdleRelease, fix_mmap_threshold, release_memory
from ui.inference import forget_shared_results
from ui.memo import BUDGET
from ui.settings import idle_release_seconds

LOG = logging.getLogger(__name__)
_LOCK = threading.Lock()
_PROCESS: list[IdleRelease] = []  # the process's one IdleRelease, made by the first script run


def session_gone(session_id: str) -> bool:
    """Whether Streamlit no longer has this session connected (False when there is no runtime: a test, bare mode)."""
    try:
        return Runtime.exists() and not Runtime.instance().is_active_session(session_id)
    except Exception:  # no runtime, or one shutting down: forget nothing
        return False


def release_idle_memory() -> dict[str, Any]:
    """What the server gives back when it goes idle: the memoised values of sessions that have left, the shared
    inference caches (no one is waiting for a result: the next request of a prompt runs the model again), then
    whatever a full collection frees, then glibc's free pages (``malloc_trim``)."""
    freed = BUDGET.forget_sessions(session_gone)
    shared = forget_shared_results()
    done = release_memory()
    done["memo_bytes_forgotten"] = freed
    done["shared_bytes_forgotten"] = shared
    LOG.info("Idle memory release: %s", done)
    return done


def process_release() -> IdleRelease:
    """The process's IdleRelease (made, and glibc's mmap threshold fixed, on the first call)."""
    with _LOCK:
        if not _PROCESS:
            fix_mmap_threshold()
            _PROCESS.append(IdleRelease(idle_release_seconds(), release=release_idle_memory))
        return _PROCESS[0]


def note_script_run() -> None:
    """A script run starts (app.py's first line of work): the first one fixes glibc's mmap threshold, before the
    model loads; every one puts the idle release off."""
    process_release().touch()


@contextmanager
def script_run() -> Iterator[None]:
    """Around one script run: the idle release waits until no run is going and then ``idle_release_seconds()``."""
    idle = process_release()
    idle.begin()
    try:
        yield
    finally:
        idle.end()

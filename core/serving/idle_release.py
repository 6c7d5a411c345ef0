"""Memory that comes back: once the server goes idle, one full collection and one glibc ``malloc_trim``.

The server runs with Streamlit's ``postScriptGC = false`` (a full ``gc.collect()`` after every script run cost
~0.3 CPU-s per interaction with torch loaded). Python's generational collector still runs, but its oldest
generation rarely does, so reference cycles that hold a finished session's arrays stay; and glibc keeps freed heap
pages of every thread's arena for reuse. Neither matters while the server is busy; both keep a class server's RSS
high long after the class left. ``IdleRelease`` waits for a quiet moment (no script run for ``idle_seconds``) and
then runs its release once: ``gc.collect()`` and ``malloc_trim(0)``; the next script run arms it again, and a release
may ask for one more (``AGAIN_IN``) when something it waits for ends later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

AGAIN_IN = "again_in"  # a release's result may ask for one more release this many seconds later, if still idle
DEFAULT_IDLE_SECONDS = 20.0  # a class that reads the page for 20 s is idle; the release costs well under 1 CPU-s


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()  # looked up once; a read-only handle to a C function

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
MMAP_THRESHOLD = 4 << 20  # bytes: a larger block gets pages of its own, returned to the system when freed


def _load_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where there is none."""
    if _MALLOC_TRIM is None:  # the same libc: without malloc_trim it is not glibc
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


_MALLOPT = _load_mallopt()


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD, mallopt: Callable[[int, int], int] | None = _MALLOPT) -> bool:
    """Make glibc serve every block over ``threshold`` bytes with its own mapped pages, for good.

    glibc's threshold moves: after a large block (a (positions, vocabulary) logits tensor, an attention map) is
    freed, blocks up to that size come from the heap of the thread that asked, and each script thread may have an
    arena of its own. Freed, they stay in that arena, so a busy server's RSS climbs towards the sum of every arena's
    high-water mark (measured in this process: four threads calling next-token, attention, logit lens and pipeline
    six times took RSS from 0.95 to 2.37 GB; with the threshold fixed at 4 MiB, to 1.08 GB, and 1.06 GB at 1 MiB,
    which maps and zeroes more blocks). Setting it switches the moving threshold off. Call once per process, early.

    Returns:
        Whether glibc accepted it (False, and nothing done, where there is no mallopt).
    """
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold)))


def malloc_trim(trim: Callable[[int], int] | None = _MALLOC_TRIM) -> bool:
    """Give the free pages of every glibc arena back to the operating system; False (and nothing done) where
    ``malloc_trim`` is missing.

    Args:
        trim: the C function (tests pass their own, or None for a libc without it).
    Returns:
        Whether ``malloc_trim`` ran.
    """
    if trim is None:
        return False
    trim(0)
    return True


def release_memory() -> dict[str, Any]:
    """One full collection of every generation, then ``malloc_trim(0)``.

    Returns:
        What was done: ``collected`` (unreachable objects found) and ``trimmed`` (whether malloc_trim ran).
    """
    collected = gc.collect()
    return {"collected": collected, "trimmed": malloc_trim()}


class IdleRelease:
    """Runs ``release`` once each time the process goes idle: ``idle_seconds`` after the last ``touch`` with no run
    in progress (``busy``), never once per script run.

    A single daemon thread sleeps while nothing happened since the last release; ``touch`` (cheap: a clock read
    under a lock) records activity and wakes the thread only when it was asleep. The thread is started by the first
    ``touch`` and stays for the process. ``idle_seconds <= 0`` switches the release off.

    Args:
        idle_seconds: quiet time before the release.
        release: what to run (default ``release_memory``); an exception is logged, never raised.
        clock: monotonic seconds (tests pass a fake one and call ``check``).
    """

    def __init__(
        self,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        release: Callable[[], Any] = release_memory,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_seconds = float(idle_seconds)
        self.release = release
        self.clock = clock
        self.releases = 0  # times the release ran
        self._last = clock()
        self._armed = False  # something happened since the last release
        self._running = 0  # runs in progress
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.idle_seconds > 0

    def touch(self) -> None:
        """Record activity (a script run starts or ends): the release waits for ``idle_seconds`` of quiet again."""
        if not self.enabled:
            return
        with self._wake:
            self._last = self.clock()
            if not self._armed:
                self._armed = True
                self._wake.notify()
        self._ensure_thread()

    def begin(self) -> None:
        """A run starts: no release until it ends (``end``) and ``idle_seconds`` more have passed."""
        with self._wake:
            self._running += 1
        self.touch()

    def end(self) -> None:
        with self._wake:
            self._running = max(0, self._running - 1)
        self.touch()

    def due(self, now: float | None = None) -> bool:
        """Whether the release should run now: activity since the last one, no run going, ``idle_seconds`` quiet."""
        now = self.clock() if now is None else now
        with self._wake:
            return self.enabled and self._armed and not self._running and now - self._last >= self.idle_seconds

    def check(self, now: float | None = None) -> bool:
        """Run the release if it is due (and disarm until the next activity); returns whether it ran."""
        now = self.clock() if now is None else now
        with self._wake:
            if not (self.enabled and self._armed and not self._running and now - self._last >= self.idle_seconds):
                return False
            self._armed = False
        again = None
        try:
            done = self.release()
            again = done.get(AGAIN_IN) if isinstance(done, dict) else None
        except Exception:  # a failed release must never take the server down; the next idle moment tries again
            LOG.exception("The idle memory release failed.")
        self.releases += 1
        if again is not None and again >= 0:
            self.again_after(float(again))
        return True

    def again_after(self, seconds: float) -> None:
        """Run the release once more ``seconds`` from now unless activity comes first (activity re-arms it anyway:
        the usual ``idle_seconds`` after the last run)."""
        with self._wake:
            if self._armed:  # activity since the release: the usual rule applies
                return
            self._armed = True
            self._last = self.clock() + seconds - self.idle_seconds
            self._wake.notify()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="idle-memory-release", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._armed:  # asleep until there is something to give back
                    self._wake.wait()
                wait = self._last + self.idle_seconds - self.clock()
                if self._running or wait > 0:
                    self._wake.wait(max(wait, 0.5) if wait > 0 else self.idle_seconds)
                    continue
            self.check()

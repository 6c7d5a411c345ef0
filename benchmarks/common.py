"""What every benchmark shares: a result row, alternating timing of two callables, and peak memory."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the `make bench` table."""

    name: str  # what was measured
    value: float  # the figure (a ratio, seconds, MB, ...)
    unit: str  # "x", "s", "MB", "%", ...
    target: str = ""  # the target, e.g. ">= 0.9" or "< 5%"
    passed: bool | None = None  # whether the target holds; None when there is no target
    note: str = ""


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def alternate(ours: Callable[[], object], reference: Callable[[], object], rounds: int = 5) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``reference``, measured alternately in the same process (after a warm-up)."""
    ours()
    reference()
    a, b = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        ours()
        a.append(time.perf_counter() - started)
        started = time.perf_counter()
        reference()
        b.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

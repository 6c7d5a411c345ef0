"""The server's memory under a hostile mix of sessions, and whether it comes back when the server goes idle.

One fresh `streamlit run` (bench_class's Server), warmed by one visit to every page of the mix (the model load is not
counted), then N sessions (default 200) in sequence, 3 at a time, each a light client of Streamlit's websocket
protocol (benchmarks/streamlit_client.py) that opens the next-token, attention, and logit-lens (every position) or
whole-pipeline pages, each with a prompt no session used before; every 10th session also scores a new ~3,990-character
text on the perplexity page, and every 10th (another one) opens the logit lens on a long new prompt. The server's RSS
is sampled from /proc (VmRSS every 0.2 s; the peak is the kernel's VmHWM), through the mix and one minute of idle.

The CPU rows compare the same first K sessions of the mix on three more servers: as shipped (the idle memory release
on, postScriptGC off), the idle release off, and Streamlit's default postScriptGC on (a full collection after every
script run): the release must cost next to nothing, and the CPU that postScriptGC=false saved must stay saved.

Runnable alone: ``python -m benchmarks.bench_memory --sessions 200`` (``--quick``: 20 sessions, K = 6); in
``make bench`` through ``run()``. Environment: NTE_MEMORY_SESSIONS (200), NTE_MEMORY_COMPARE (K, 20),
NTE_MEMORY_QUICK=1, NTE_MEMORY_IDLE (seconds of idle before the after-idle reading, 60).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_class import REPO, Server  # noqa: E402
from benchmarks.common import Row  # noqa: E402
from benchmarks.streamlit_client import StreamlitClient, run_coroutine  # noqa: E402

REPORT_ENV = "NTE_MEMORY_REPORT"  # ui.idle_release writes what the server still holds after each release there

SESSIONS = 200
QUICK_SESSIONS = 20
COMPARE_SESSIONS = 20  # K: sessions of each CPU comparison run
QUICK_COMPARE = 6
AT_ONCE = 3  # sessions running at the same time
IDLE_SECONDS = 60.0  # idle time before the after-idle reading
SAMPLE_SECONDS = 0.2
PROGRESS_EVERY = 25  # sessions between progress lines
PERPLEXITY_EVERY = 10  # every 10th session also scores a long text
LONG_LENS_EVERY = 10  # every 10th session (offset by 5) also opens the lens on a long prompt
PERPLEXITY_CHARS = 3_990  # a shared link's text may hold 4,000
PEAK_TARGET_MB = 2000.0
IDLE_TARGET_MB = 1300.0
RELEASE_CPU_TARGET = 1.10  # CPU per session with the idle release within 10 % of without
CORPUS = REPO / "core" / "data" / "village_corpus.txt"
MB = 1024.0

# Operator switches of the three servers compared (unknown ones are ignored by an older tree).
AS_SHIPPED: dict[str, str] = {}
RELEASE_OFF = {"NTE_IDLE_RELEASE_SECONDS": "0"}
POST_SCRIPT_GC = {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "true"}


@dataclass
class MixRun:
    """What one server measured over the mix and the idle time after it."""

    sessions: int
    completed: int = 0
    failures: list[str] = field(default_factory=list)
    start_rss_mb: float = 0.0  # after the warm-up, before the first session
    peak_rss_mb: float = 0.0  # VmHWM at the end of the mix (the process's highest RSS so far, warm-up included)
    peak_sampled_mb: float = 0.0  # the highest VmRSS sampled during the mix
    end_rss_mb: float = 0.0  # when the last session closed
    idle_rss_mb: float = 0.0  # after the idle time
    mix_cpu: float = 0.0  # server CPU-seconds from the first session to the last one closing
    idle_cpu: float = 0.0  # server CPU-seconds during the idle time
    wall: float = 0.0
    idle_seconds: float = 0.0
    held: dict = field(default_factory=dict)  # the server's last idle-release report (what it still holds)


# -- the mix ----------------------------------------------------------------------------------------------------


def _sentences() -> list[str]:
    return [line.strip().capitalize() for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def prompt_for(rng: random.Random, sentences: list[str], words: int) -> str:
    """A new prompt of about ``words`` words: corpus sentences in a random order, plus a random number so that no
    two sessions ever send the same text (nothing is served from a cache)."""
    out: list[str] = [f"Story {rng.randrange(10**9)}."]
    while sum(len(s.split()) for s in out) < words:
        out.append(rng.choice(sentences))
    return " ".join(out)


def long_text(rng: random.Random, sentences: list[str], chars: int = PERPLEXITY_CHARS) -> str:
    """A new text of at most ``chars`` characters (a perplexity link's text)."""
    text = f"Day {rng.randrange(10**9)}."
    while True:
        more = text + " " + rng.choice(sentences)
        if len(more) > chars:
            return text
        text = more


def session_plan(index: int, sentences: list[str]) -> list[tuple[str, str]]:
    """The pages (url path, query string) session ``index`` opens, in order; the same index gives the same plan."""
    rng = random.Random(1_000 + index)
    plan = [
        ("next_token", urlencode({"prompt": prompt_for(rng, sentences, rng.randint(8, 60))})),
        ("attention", urlencode({"prompt": prompt_for(rng, sentences, rng.randint(20, 120))})),
    ]
    third = prompt_for(rng, sentences, rng.randint(20, 120))
    if index % 2 == 0:
        plan.append(("logit_lens", urlencode({"prompt": third, "every": "true"})))
    else:
        plan.append(("pipeline", urlencode({"prompt": third})))
    if index % PERPLEXITY_EVERY == PERPLEXITY_EVERY - 1:
        plan.append(("perplexity", urlencode({"text": long_text(rng, sentences)})))
    if index % LONG_LENS_EVERY == LONG_LENS_EVERY // 2:  # an odd index: its lens visit is the first (the link counts)
        plan.append(("logit_lens", urlencode({"prompt": prompt_for(rng, sentences, 140), "every": "true"})))
    return plan


WARM_UP = [
    ("next_token", ""),
    ("attention", ""),
    ("logit_lens", "every=true"),
    ("pipeline", ""),
    ("perplexity", ""),
]


async def _visit(url: str, plan: list[tuple[str, str]]) -> list[str]:
    """One session: open each page of ``plan`` in one tab; returns the errors the pages showed."""
    async with StreamlitClient(url, timeout=600) as client:
        for path, query in plan:
            await client.open(path, query)
        return list(client.errors)


async def _mix(url: str, first: int, count: int, run: MixRun, pid: int | None = None) -> None:
    sentences = _sentences()
    gate = asyncio.Semaphore(AT_ONCE)
    started = time.perf_counter()

    def progress() -> None:  # a long mix says where it is (stderr), every PROGRESS_EVERY sessions
        done = run.completed + len(run.failures)
        if pid is not None and done % PROGRESS_EVERY == 0:
            print(
                f"  {done}/{count} sessions, {time.perf_counter() - started:.0f} s, RSS {rss_mb(pid):,.0f} MB, "
                f"peak {_status_kb(pid, 'VmHWM') / MB:,.0f} MB",
                file=sys.stderr,
                flush=True,
            )

    async def one(index: int) -> None:
        async with gate:
            try:
                errors = await _visit(url, session_plan(index, sentences))
                if errors:
                    run.failures.append(f"session {index}: {errors[0][:100]}")
                else:
                    run.completed += 1
            except Exception as error:  # a session that could not finish is counted, not fatal
                run.failures.append(f"session {index}: {type(error).__name__}: {error}"[:160])
            progress()

    await asyncio.gather(*(one(i) for i in range(first, first + count)))


# -- the server's memory ----------------------------------------------------------------------------------------


def _status_kb(pid: int, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples one process's VmRSS every SAMPLE_SECONDS in a thread; ``peak`` is the highest seen since ``reset``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))

    def reset(self) -> None:
        self.peak_kb = _status_kb(self.pid, "VmRSS")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / MB


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overrides`` while a server starts (it copies the environment)."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def measure(app_root: Path, sessions: int, *, idle: float, config: dict[str, str]) -> MixRun:
    """The mix of ``sessions`` sessions against a fresh server of ``app_root`` started with ``config`` in its
    environment, then ``idle`` seconds of nothing (0: no idle reading)."""
    run = MixRun(sessions)
    server = Server(app_root)
    report = Path(tempfile.gettempdir()) / f"nte-memory-report-{os.getpid()}-{server.port}.jsonl"
    report.unlink(missing_ok=True)
    with _environment({**config, **({REPORT_ENV: str(report)} if idle > 0 else {})}):
        server.start()
    pid = server.proc.pid
    try:

        async def warm() -> None:
            async with StreamlitClient(server.url, timeout=600) as client:
                for path, query in WARM_UP:
                    await client.open(path, query)

        run_coroutine(warm())
        time.sleep(2.0)  # let the warm-up's last messages leave
        run.start_rss_mb = rss_mb(pid)
        with RssSampler(pid) as sampler:
            sampler.reset()
            cpu0, started = server.cpu_seconds(), time.perf_counter()
            run_coroutine(_mix(server.url, 0, sessions, run, pid))
            run.wall = time.perf_counter() - started
            run.mix_cpu = server.cpu_seconds() - cpu0
            run.end_rss_mb = rss_mb(pid)
            run.peak_sampled_mb = sampler.peak_kb / MB
        run.peak_rss_mb = _status_kb(pid, "VmHWM") / MB
        if idle > 0:
            cpu1, idle_started = server.cpu_seconds(), time.perf_counter()
            time.sleep(idle)
            run.idle_seconds = time.perf_counter() - idle_started
            run.idle_cpu = server.cpu_seconds() - cpu1
            run.idle_rss_mb = rss_mb(pid)
            run.held = last_report(report)
        return run
    finally:
        server.stop()
        report.unlink(missing_ok=True)


def last_report(path: Path) -> dict:
    """The server's last idle-release report ({} when none was written)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


# -- rows -------------------------------------------------------------------------------------------------------


def settings() -> tuple[int, int, float]:
    """(sessions, comparison sessions K, idle seconds) from the environment."""
    quick = os.environ.get("NTE_MEMORY_QUICK", "") not in ("", "0")
    sessions = int(os.environ.get("NTE_MEMORY_SESSIONS") or (QUICK_SESSIONS if quick else SESSIONS))
    compare = int(os.environ.get("NTE_MEMORY_COMPARE") or (QUICK_COMPARE if quick else COMPARE_SESSIONS))
    idle = float(os.environ.get("NTE_MEMORY_IDLE") or IDLE_SECONDS)
    return sessions, compare, idle


def held_note(held: dict) -> str:
    """What the server's last idle release reported still held, in a few words ('' without a report)."""
    if not held:
        return "; no idle release reported"
    return (
        f"; after its last release: {held.get('sessions_stored', '?')} sessions kept for a reconnect, "
        f"{held.get('tensor_mb', 0):,.0f} MB of tensors (the model's included)"
    )


def rows_for(
    main: MixRun, shipped: MixRun | None = None, off: MixRun | None = None, gc_on: MixRun | None = None
) -> list[Row]:
    """The table's rows: the main run's memory, and CPU per session of the same first K sessions on three servers
    (as shipped, idle release off, postScriptGC on): like for like, since the later sessions score long texts."""
    n = main.sessions
    failed = "; ".join(main.failures[:2])
    rows = [
        Row(f"{n} sessions (3 at a time): completed", main.completed / n, "", "= 1", main.completed == n, failed),
        Row("server RSS after the warm-up (model loaded, before the mix)", main.start_rss_mb, "MB"),
        Row(
            f"peak server RSS over the mix ({n} sessions + long texts)",
            main.peak_rss_mb,
            "MB",
            f"<= {PEAK_TARGET_MB:.0f}",
            main.peak_rss_mb <= PEAK_TARGET_MB,
            f"VmHWM (warm-up included); highest sampled VmRSS in the mix {main.peak_sampled_mb:,.0f} MB",
        ),
        Row("server RSS when the last session closed", main.end_rss_mb, "MB"),
    ]
    if main.idle_seconds:
        rows.append(
            Row(
                f"server RSS after {main.idle_seconds:.0f} s idle",
                main.idle_rss_mb,
                "MB",
                f"<= {IDLE_TARGET_MB:.0f}",
                main.idle_rss_mb <= IDLE_TARGET_MB,
                f"server used {main.idle_cpu:.2f} CPU-s while idle" + held_note(main.held),
            )
        )
    rows.append(
        Row(
            f"server CPU-s per session over the {n}, as shipped (mix + idle)",
            (main.mix_cpu + main.idle_cpu) / n,
            "s",
            note=f"{main.mix_cpu:.1f} CPU-s mix + {main.idle_cpu:.2f} idle for {n}; wall {main.wall:.0f} s",
        )
    )
    if shipped is None:
        return rows
    on_cpu = shipped.mix_cpu / shipped.sessions
    rows.append(
        Row(
            "server CPU-s per session, as shipped",
            on_cpu,
            "s",
            note=f"{shipped.mix_cpu:.1f} CPU-s for the first {shipped.sessions} sessions",
        )
    )
    if off is not None:
        off_cpu = off.mix_cpu / off.sessions
        rows += [
            Row(
                "server CPU-s per session, idle release off",
                off_cpu,
                "s",
                note=f"{off.mix_cpu:.1f} CPU-s for the first {off.sessions} sessions",
            ),
            Row(
                "CPU per session: as shipped / idle release off",
                on_cpu / off_cpu,
                "x",
                f"<= {RELEASE_CPU_TARGET:g}",
                on_cpu / off_cpu <= RELEASE_CPU_TARGET,
                "the idle release costs next to nothing per session",
            ),
        ]
    if gc_on is not None:
        gc_cpu = gc_on.mix_cpu / gc_on.sessions
        rows += [
            Row(
                "server CPU-s per session, postScriptGC on (Streamlit default)",
                gc_cpu,
                "s",
                note=f"{gc_on.mix_cpu:.1f} CPU-s for the first {gc_on.sessions} sessions",
            ),
            Row(
                "CPU per session: as shipped / postScriptGC on",
                on_cpu / gc_cpu,
                "x",
                "< 1",
                on_cpu / gc_cpu < 1,
                "the CPU that postScriptGC=false saves is kept",
            ),
        ]
    return rows


def run() -> list[Row]:
    app_root = Path(os.environ.get("NTE_MEMORY_APP_ROOT", str(REPO))).resolve()
    sessions, compare, idle = settings()
    started = time.perf_counter()
    main = measure(app_root, sessions, idle=idle, config=AS_SHIPPED)
    print(f"  mix of {sessions}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if compare <= 0:
        return rows_for(main)
    shipped = measure(app_root, compare, idle=0, config=AS_SHIPPED)
    off = measure(app_root, compare, idle=0, config=RELEASE_OFF)
    gc_on = measure(app_root, compare, idle=0, config=POST_SCRIPT_GC)
    return rows_for(main, shipped, off, gc_on)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-root", help="the app to serve (default: this repository)")
    parser.add_argument("--sessions", type=int, help=f"sessions in the mix (default {SESSIONS})")
    parser.add_argument("--compare", type=int, help=f"sessions of each CPU comparison run (default {COMPARE_SESSIONS})")
    parser.add_argument("--idle", type=float, help=f"seconds of idle before the after-idle reading ({IDLE_SECONDS:g})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} sessions, K = {QUICK_COMPARE}")
    args = parser.parse_args(argv)
    for name, value in (
        ("NTE_MEMORY_APP_ROOT", args.app_root),
        ("NTE_MEMORY_SESSIONS", args.sessions),
        ("NTE_MEMORY_COMPARE", args.compare),
        ("NTE_MEMORY_IDLE", args.idle),
        ("NTE_MEMORY_QUICK", "1" if args.quick else None),
    ):
        if value is not None:
            os.environ[name] = str(value)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    for row in run():
        ok = "" if row.passed is None else ("yes" if row.passed else "NO")
        print(f"| {row.name:<62} | {row.value:>10,.3f} {row.unit:<2} | {row.target:<8} | {ok:<3} | {row.note}")
    print(f"bench_memory took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

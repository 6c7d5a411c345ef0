"""The class poll under a class: one teacher opens a room, N students join by its link and guess at about one moment.

Every person is a light client of Streamlit's websocket protocol (benchmarks/streamlit_client.py) in this process,
against one fresh `streamlit run` (bench_class's Server), warmed by a first view of the poll and of the next-token
page (the model load is not counted). Each tab also does what the browser's timers do: every ``st.fragment(
run_every=2)`` on its page (the teacher's live results, each student's live check) is rerun every 2 s.

What people wait for: a student's Submit -> "Your guess is in" (p50/p95, N = 30 against N = 1 measured alone, in
the same run); the last Submit -> the teacher's live results counting every guess; the server's CPU-seconds per
student for joining and guessing (teacher's and students' polling included), against one first view of the
next-token page (bench_class's link); the server's peak RSS. One correctness row: the teacher's count and bars equal
the guesses sent. Environment: NTE_POLL_STUDENTS (30), NTE_POLL_SOLO (5 single-student rounds for the reference).

The whole-class rehearsal rows: the same class of N over two replicas behind nginx with a Redis room store
(``Replicated``: deploy/replicas.py's own functions), so students land on both replicas: the teacher's count equals
the guesses sent, the time from the last guess to the teacher's screen, the replicas' CPU-seconds per student.
NTE_POLL_REPLICAS=0 skips them (they need nginx and redis-server).
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_class import REPO, Server, _percentile, _proc_cpu, _tree, _vm_hwm_kb  # noqa: E402
from benchmarks.class_lesson import LINK_QUERY  # noqa: E402
from benchmarks.common import Row  # noqa: E402
from benchmarks.streamlit_client import StreamlitClient, plotly_array, run_coroutine  # noqa: E402
from ui import state  # noqa: E402

PAGE = "class_poll"
STUDENTS = 30
SOLO_ROUNDS = 5  # N = 1 classes, one after another, for the reference latencies
GUESSES = ("Paris", "Lyon", "Marseille", "Nice", "France", "the")  # handed out in turn: 5 each at N = 30
TYPING_SECONDS = 3.0  # between the last student joining and everyone pressing Submit
SEEN_TIMEOUT = 120.0  # seconds after the last Submit before the teacher's screen is given up on
CLIENT_TIMEOUT = 300.0
CONFIRMED = "Your guess is in"
GUESSES_IN = "Guesses in"  # the teacher's st.metric
P95_RATIO_TARGET = 5.0  # confirmation p95 at N = 30 within 5x of N = 1
SEEN_SLACK = 1.0  # all guesses on the teacher's screen within 2 poll periods + 1 s
CPU_RATIO_TARGET = 1.0  # joining + guessing costs the server no more than one first view of the next-token page
RSS_TARGET_MB = 2000.0


@dataclass
class PollRun:
    """What one class (a teacher and ``size`` students in a room of their own) measured."""

    size: int
    sent: Counter = field(default_factory=Counter)  # guess -> students who pressed Submit with it
    joins: list[float] = field(default_factory=list)  # seconds: open the room link -> page drawn
    confirmations: list[float] = field(default_factory=list)  # seconds: Submit pressed -> "Your guess is in"
    failures: list[str] = field(default_factory=list)
    last_submit: float = 0.0  # perf_counter of the last Submit press
    last_confirmed: float = 0.0
    seen_all: float | None = None  # perf_counter of the end of the teacher's first run that counted every guess
    poll_period: float = float("nan")  # the teacher fragment's run_every, as the server announced it
    teacher_count: str = ""  # the teacher's "Guesses in" metric at the end
    teacher_bars: dict[str, int] = field(default_factory=dict)  # the teacher's histogram: guess -> students
    teacher_polls: int = 0
    student_polls: int = 0  # the students' live checks, all together
    server_cpu: float = 0.0  # CPU-seconds from the first join to the teacher seeing every guess
    client_cpu: float = 0.0
    wall: float = 0.0


class Tab:
    """One person's browser tab: a client, a lock so one request runs at a time, and its fragments' timers."""

    def __init__(self, url: str) -> None:
        self.client = StreamlitClient(url, timeout=CLIENT_TIMEOUT)
        self.lock = asyncio.Lock()
        self.polls = 0
        self._timers: asyncio.Task | None = None

    def start_timers(self, stop: asyncio.Event, after_poll: object = None) -> None:
        self._timers = asyncio.create_task(self._poll(stop, after_poll))

    async def _poll(self, stop: asyncio.Event, after_poll: object) -> None:
        """Rerun each ``run_every`` fragment at its period, as the frontend's setInterval does (a tick that falls
        while a request is running is sent when it ends)."""
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.perf_counter()
            for fragment_id, period in list(self.client.auto_reruns.items()):
                at = due.setdefault(fragment_id, now + period)
                if now < at:
                    continue
                due[fragment_id] = max(at + period, now)
                async with self.lock:
                    await self.client.auto_rerun(fragment_id, kind="poll")
                self.polls += 1
                if callable(after_poll):
                    after_poll()
            try:
                await asyncio.wait_for(stop.wait(), 0.05)
            except TimeoutError:
                pass

    async def close(self) -> None:
        if self._timers is not None:
            self._timers.cancel()
            try:
                await self._timers
            except (asyncio.CancelledError, Exception):
                pass
        await self.client.close()


async def open_room(tab: Tab) -> str:
    """The teacher's steps: open the poll page (the teacher's role is the default), press "Start a poll"; the code."""
    await tab.client.connect()
    await tab.client.open(PAGE, kind="teacher opens")
    await tab.client.click(state.POLL_START, kind="start poll")
    for block in tab.client.elements("markdown"):
        if found := re.search(r"Room code: `([A-Z0-9]+)`", block.body):
            return found.group(1)
    raise RuntimeError(f"no room code on the teacher's page; errors: {tab.client.errors[:2]}")


def teacher_bars(client: StreamlitClient) -> dict[str, int]:
    """The teacher's histogram as guess -> students (the "students" trace of the live chart)."""
    for trace in client.chart(state.POLL_LIVE)["data"]:
        if trace.get("name") == "students":
            labels = [html.unescape(str(y)) for y in plotly_array(trace.get("y"))]
            return {label: int(x) for label, x in zip(labels, plotly_array(trace.get("x"))) if int(x)}
    return {}


async def _student(url: str, code: str, guess: str, run: PollRun, joined: asyncio.Event, go: asyncio.Event,
                   stop: asyncio.Event) -> Tab:  # fmt: skip
    tab = Tab(url)
    try:
        await tab.client.connect()
        started = time.perf_counter()
        await tab.client.open(PAGE, f"room={code}", kind="join")
        run.joins.append(time.perf_counter() - started)
        tab.start_timers(stop)
    except Exception as error:  # a student who could not join is counted, not fatal
        run.failures.append(f"join: {type(error).__name__}: {error}"[:160])
        return tab
    finally:
        joined.set()
    await go.wait()
    pressed = time.perf_counter()  # the press; a poll still running makes the student wait, as in the browser
    try:
        async with tab.lock:
            tab.client.widget(state.POLL_GUESS).value = guess  # typed into the form: sent with the submit only
            await tab.client.click(state.POLL_SUBMIT, kind="submit")
        done = time.perf_counter()
        run.sent[guess] += 1
        run.last_submit = max(run.last_submit, pressed)
        if not any(a.body.startswith(CONFIRMED) for a in tab.client.elements("alert")):
            raise RuntimeError(f"no confirmation; errors: {tab.client.errors[:2]}")
        run.confirmations.append(done - pressed)
        run.last_confirmed = max(run.last_confirmed, done)
    except Exception as error:
        run.last_submit = max(run.last_submit, pressed)
        run.failures.append(f"submit: {type(error).__name__}: {error}"[:160])
    return tab


async def poll_class(url: str, size: int, server: Server) -> PollRun:
    """One room: the teacher opens it, ``size`` students join by its link, all press Submit together; measured
    until the teacher's live results count every guess (or SEEN_TIMEOUT after the last Submit)."""
    run = PollRun(size)
    teacher = Tab(url)
    stop, go = asyncio.Event(), asyncio.Event()
    students: list[asyncio.Task] = []
    try:
        code = await open_room(teacher)
        run.poll_period = min(teacher.client.auto_reruns.values(), default=float("nan"))

        def after_poll() -> None:
            try:
                count = teacher.client.metric(GUESSES_IN)
            except Exception:
                return
            run.teacher_count = count
            if go.is_set() and run.seen_all is None and count == f"{size:,}":
                run.seen_all = time.perf_counter()
                stop.set()

        teacher.start_timers(stop, after_poll)
        cpu0, own0, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
        joined = [asyncio.Event() for _ in range(size)]
        for i in range(size):
            guess = GUESSES[i % len(GUESSES)]
            students.append(asyncio.create_task(_student(url, code, guess, run, joined[i], go, stop)))
        for event in joined:
            await event.wait()
        await asyncio.sleep(TYPING_SECONDS)
        go.set()
        await asyncio.gather(*students, return_exceptions=True)
        deadline = time.perf_counter() + SEEN_TIMEOUT
        while not stop.is_set() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        run.wall = time.perf_counter() - started
        run.server_cpu = server.cpu_seconds() - cpu0
        run.client_cpu = time.process_time() - own0
        async with teacher.lock:
            run.teacher_count = teacher.client.metric(GUESSES_IN)
            run.teacher_bars = teacher_bars(teacher.client)
        run.teacher_polls = teacher.polls
        run.student_polls = sum(t.result().polls for t in students if not t.cancelled() and t.exception() is None)
    finally:
        stop.set()
        for task in students:
            if not task.done():
                task.cancel()
        await asyncio.gather(*students, return_exceptions=True)
        tabs = [t.result() for t in students if t.done() and not t.cancelled() and t.exception() is None]
        for tab in [teacher, *tabs]:
            await tab.close()
    return run


class Replicated:
    """Two (``replicas``) `streamlit run app.py` behind nginx with a Redis room store, as deploy/replicas.py runs
    them, on free localhost ports; ``url`` is nginx. ``cpu_seconds`` and ``peak_rss_mb`` add up the replicas."""

    def __init__(self, replicas: int = 2) -> None:
        import tempfile

        self.replicas = replicas
        self.run_dir = Path(tempfile.mkdtemp(prefix="nte-rehearsal-"))
        self.procs: list = []
        self.replica_procs: list = []
        self.ports: list[int] = []
        self.url = ""

    def start(self) -> None:
        from deploy.replicas import (
            free_port,
            nginx_binary,
            render_config,
            replica_env,
            start_nginx,
            start_redis,
            wait_healthy,
        )

        nginx = nginx_binary()
        if nginx is None:
            raise RuntimeError("nginx is not installed (make nginx)")
        redis_url, redis_proc = start_redis(self.run_dir)
        self.procs.append(redis_proc)
        env = dict(replica_env(self.replicas, redis_url), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        while len(self.ports) < self.replicas:
            port = free_port()
            self.ports += [port] if port not in self.ports else []
        self.replica_procs = [self._start_replica(port, env) for port in self.ports]
        self.procs += self.replica_procs
        for port, proc in zip(self.ports, self.replica_procs):
            wait_healthy(f"http://127.0.0.1:{port}", proc)
        listen = free_port()
        config = render_config(f"127.0.0.1:{listen}", self.ports, self.run_dir)
        self.procs.append(start_nginx(config, self.run_dir, nginx))
        self.url = f"http://127.0.0.1:{listen}"
        wait_healthy(self.url, self.procs[-1])

    def _start_replica(self, port: int, env: dict[str, str]) -> Any:
        """One replica on ``port``: deploy/replicas.py's own command (this repository's app.py)."""
        from deploy.replicas import start_replica

        return start_replica(port, self.run_dir, env)

    def stop(self) -> None:
        import shutil

        from deploy.replicas import stop

        stop(self.procs[::-1])
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def cpu_seconds(self) -> float:
        return sum(_proc_cpu(pid) for proc in self.replica_procs for pid in _tree(proc.pid))

    def peak_rss_mb(self) -> float:
        return sum(_vm_hwm_kb(pid) for proc in self.replica_procs for pid in _tree(proc.pid)) / 1024

    def upstreams(self) -> dict[str, int]:
        """How many websocket connections (/_stcore/stream) nginx sent to each replica (from its access log)."""
        counts: Counter = Counter()
        log = self.run_dir / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            if "/_stcore/stream" in line and (found := re.search(r"127\.0\.0\.1:\d+", line.split('"', 2)[-1])):
                counts[found.group(0)] += 1
        return dict(counts)


async def _rehearse(deployment: Replicated, size: int) -> PollRun:
    async with StreamlitClient(deployment.url, timeout=CLIENT_TIMEOUT) as warm:  # each replica loads the model
        await warm.open(PAGE)
    for _ in range(2 * deployment.replicas):  # fresh websockets land on both replicas: warm them all
        async with StreamlitClient(deployment.url, timeout=CLIENT_TIMEOUT) as warm:
            await warm.open("next_token", LINK_QUERY)
    return await poll_class(deployment.url, size, deployment)


def rehearsal_rows(run: PollRun, upstreams: dict[str, int], rss_mb: float) -> list[Row]:
    n = run.size
    counted = int(run.teacher_count.replace(",", "")) if run.teacher_count.replace(",", "").isdigit() else -1
    sent = sum(run.sent.values())
    seen = (run.seen_all - run.last_submit) if run.seen_all is not None else float("nan")
    target = 2 * run.poll_period + SEEN_SLACK
    spread = ", ".join(f"{k}: {v}" for k, v in sorted(upstreams.items()))
    return [
        Row(f"2 replicas + Redis, N={n}: guesses the teacher counted / sent", counted / n, "", "= 1",
            counted == n == sent and run.teacher_bars == dict(run.sent),
            f"metric {run.teacher_count or '-'}, {sent} sent, {len(run.failures)} failures; websockets per replica: "
            f"{spread}"),
        Row(f"2 replicas + Redis, N={n}: last guess -> teacher shows all {n}", seen, "s", f"<= {target:g} s",
            seen <= target, "the teacher on one replica, students on both; Redis in between"),
        Row(f"2 replicas + Redis, N={n}: replicas' CPU-s per student", run.server_cpu / n, "s",
            note=f"{run.server_cpu:.1f} s over {run.wall:.0f} s, both replicas; peak RSS {rss_mb:.0f} MB together"),
    ]  # fmt: skip


async def first_view_cpu(url: str, server: Server, views: int = 5) -> float:
    """Median server CPU-seconds of one new session's first view of the next-token page at bench_class's link."""
    spent = []
    for _ in range(views):
        cpu0 = server.cpu_seconds()
        async with StreamlitClient(url, timeout=CLIENT_TIMEOUT) as client:
            await client.open("next_token", LINK_QUERY)
        spent.append(server.cpu_seconds() - cpu0)
    return statistics.median(spent)


async def _bench(server: Server, size: int, solo_rounds: int) -> tuple[list[PollRun], PollRun, float]:
    async with StreamlitClient(server.url, timeout=CLIENT_TIMEOUT) as warm:  # loads the model: not counted
        await warm.open("next_token", LINK_QUERY)
        await warm.open(PAGE)
    reference_cpu = await first_view_cpu(server.url, server)
    solos = [await poll_class(server.url, 1, server) for _ in range(solo_rounds)]
    return solos, await poll_class(server.url, size, server), reference_cpu


def rows_for(solos: list[PollRun], run: PollRun, reference_cpu: float, rss_mb: float) -> list[Row]:
    n = run.size
    solo_times = [t for s in solos for t in s.confirmations]
    solo_p50, solo_p95 = _percentile(solo_times, 50), _percentile(solo_times, 95)
    p50, p95 = _percentile(run.confirmations, 50), _percentile(run.confirmations, 95)
    period = run.poll_period
    seen_target = 2 * period + SEEN_SLACK
    seen = (run.seen_all - run.last_submit) if run.seen_all is not None else float("nan")
    after_confirmed = (run.seen_all - run.last_confirmed) if run.seen_all is not None else float("nan")
    solo_seen = [s.seen_all - s.last_submit for s in solos if s.seen_all is not None]
    cpu = run.server_cpu / n
    counted = int(run.teacher_count.replace(",", "")) if run.teacher_count.replace(",", "").isdigit() else -1
    sent = sum(run.sent.values())
    bars_equal = run.teacher_bars == dict(run.sent)
    failed = "; ".join(run.failures[:2])
    joins = sorted(run.joins)
    return [
        Row(f"N={n}: students confirmed", len(run.confirmations) / n, "", "= 1", len(run.confirmations) == n,
            failed[:120]),
        Row(f"N={n}: guesses the teacher counted / sent", counted / n, "", "= 1",
            counted == n and sent == n and bars_equal,
            f"metric {run.teacher_count or '-'}, {sent} sent; bars {'equal' if bars_equal else 'DIFFER'}: "
            f"{dict(run.teacher_bars)}"),
        Row("N=1: Submit -> 'Your guess is in' p95", solo_p95, "s",
            note=f"p50 {solo_p50:.2f} s over {len(solo_times)} single-student rooms"),
        Row(f"N={n}: Submit -> 'Your guess is in' p50", p50, "s", note=f"{len(run.confirmations)} students at once"),
        Row(f"N={n}: Submit -> 'Your guess is in' p95", p95, "s",
            note=f"max {max(run.confirmations, default=0):.2f} s"),
        Row(f"N={n}: confirmation p95 / N=1 p95", p95 / solo_p95, "x", f"<= {P95_RATIO_TARGET:g}",
            p95 / solo_p95 <= P95_RATIO_TARGET, f"{p95:.2f} s vs {solo_p95:.2f} s"),
        Row(f"N={n}: last Submit -> teacher shows all {n}", seen, "s", f"<= {seen_target:g} s", seen <= seen_target,
            f"2 polls of {period:g} s + {SEEN_SLACK:g} s; {after_confirmed:.2f} s after the last confirmation; "
            f"{run.teacher_polls} teacher polls"),
        Row("N=1: Submit -> teacher shows the guess (median)", statistics.median(solo_seen) if solo_seen else
            float("nan"), "s", f"<= {seen_target:g} s", bool(solo_seen) and statistics.median(solo_seen) <= seen_target,
            f"{len(solo_seen)} of {len(solos)} rooms seen"),
        Row(f"N={n}: server CPU-s per student (join + guess)", cpu, "s",
            note=f"{run.server_cpu:.1f} s over {run.wall:.0f} s incl. {run.teacher_polls}+{run.student_polls} polls"),
        Row(f"N={n}: CPU per student / next-token first view", cpu / reference_cpu, "x",
            f"<= {CPU_RATIO_TARGET:g}", cpu / reference_cpu <= CPU_RATIO_TARGET,
            f"{cpu:.2f} s vs {reference_cpu:.2f} s (median of 5 new sessions, model loaded)"),
        Row(f"N={n}: open the room link (join) p95", _percentile(joins, 95), "s",
            note=f"p50 {_percentile(joins, 50):.2f} s, {len(joins)} joined at once"),
        Row("peak server RSS", rss_mb, "MB", f"<= {RSS_TARGET_MB:g}", rss_mb <= RSS_TARGET_MB,
            "after the warm-up, the reference views and every class"),
        Row(f"N={n}: wall time of the class", run.wall, "s",
            note=f"clients used {run.client_cpu:.1f} CPU-s, server {run.server_cpu:.1f}; machine shared, noisy"),
    ]  # fmt: skip


def run() -> list[Row]:
    size = int(os.environ.get("NTE_POLL_STUDENTS", STUDENTS))
    solo_rounds = int(os.environ.get("NTE_POLL_SOLO", SOLO_ROUNDS))
    server = Server(REPO)
    server.start()
    try:
        started = time.perf_counter()
        solos, big, reference_cpu = run_coroutine(_bench(server, size, solo_rounds))
        print(f"  poll of {size}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        rows = rows_for(solos, big, reference_cpu, server.peak_rss_mb())
    finally:
        server.stop()
    if os.environ.get("NTE_POLL_REPLICAS", "2") != "0":
        deployment = Replicated()
        try:
            deployment.start()
            rehearsal = run_coroutine(_rehearse(deployment, size))
            rows += rehearsal_rows(rehearsal, deployment.upstreams(), deployment.peak_rss_mb())
        except RuntimeError as error:
            rows.append(Row("2 replicas + Redis: rehearsal", float("nan"), "", "runs", False, str(error)[:160]))
        finally:
            deployment.stop()
    return rows


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for row in run():
        ok = "" if row.passed is None else ("yes" if row.passed else "NO")
        print(f"| {row.name:<52} | {row.value:>10,.3f} {row.unit:<2} | {row.target:<10} | {ok:<3} | {row.note}")

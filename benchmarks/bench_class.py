"""A class on one server: N simulated students follow the lesson at once against a fresh `streamlit run`.

Each student is a light client of Streamlit's own websocket protocol (benchmarks/streamlit_client.py), all of them in
this one process, so 30 students cost far less CPU than the server they load. For each class size the server is
started afresh, warmed by one visit to every lesson page (the model load is not counted), and then measured from
/proc: its CPU-seconds (utime + stime, its children's too) and its peak RSS (VmHWM). During the largest class one
real Chromium follows steps 1-2 of the lesson and its bars must equal the light clients'.

The same class is then run through nginx in front of two replicas of the app (benchmarks/class_replicas.py: a
Redis room store, each student keeping its own route cookie so about half land on each replica), at the smallest and
the largest size, each on a fresh deployment: CPU-seconds per student over both replicas, p50/p95 against one student
through the same nginx, peak RSS per replica, how many students each replica served.

Before and after in one table: with a baseline tree (``--baseline-root``, e.g. a ``git worktree add /tmp/baseline
<commit>``; served by this venv's streamlit from its own folder, like ``--app-root``) the same classes run against it
too, in the same run, and its figures stand beside this tree's (rows "before (<commit>)", notes "before ...").

Runnable alone: ``python -m benchmarks.bench_class --baseline-root /tmp/baseline --sizes 1,8``; in ``make bench``
through ``run()``. Environment: NTE_CLASS_SIZES ("1,8,16,30"), NTE_CLASS_APP_ROOT (default: this repository),
NTE_CLASS_BASELINE_ROOT (unset: no before rows), NTE_CLASS_BROWSER=0 to skip the browser check,
NTE_CLASS_REPLICAS=0 to skip the two-replica runs (they need nginx and redis-server), NTE_CLASS_ROUNDS (3: classes of
the largest size, each on a fresh server, pooled), NTE_CLASS_SOLO_ROUNDS (3: the one-student classes, each on a fresh
server, pooled into the N=1 reference).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.class_lesson import (  # noqa: E402
    HEAD_LABEL,
    HEAD_SWITCH,
    KINDS,
    LINK_QUERY,
    PROMPT,
    SAMPLER,
    SAMPLER_TRACES,
    TEMPERATURE,
    TEMPERATURES,
    bars_answer,
    run_lesson,
    sampler_answer,
    sampler_settings,
    visit_every_page,
)
from benchmarks.common import Row  # noqa: E402
from benchmarks.streamlit_client import Interaction, StreamlitClient, run_coroutine  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZES = (1, 8, 16, 30)
CHROMIUM = "/usr/bin/chromium"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 180  # seconds for a fresh server to answer /_stcore/health
P95_TARGET = 10.0  # p95 at N = 30 within 10x of N = 1, one process
REPLICA_P95_TARGET = 5.0  # p95 at N = 30 within 5x of N = 1, two replicas through nginx
CPU_TARGET_S = 0.8  # server CPU-seconds per student for the lesson, at N = 30 (the class shares its work)
TARGET_SIZE = 30  # the class size the latency and CPU targets are stated for
RSS_TARGET_MB = 2000.0
FLOOR_APP = """
import streamlit as st

@st.fragment
def part():
    st.write(st.slider("t", 0.0, 2.0, 1.0, key="next_token.temperature"))

part()
"""


@dataclass
class ClassRun:
    """What one class size measured."""

    size: int
    completed: int = 0
    answers: list[dict[str, Any] | None] = field(default_factory=list)  # per student; None = did not finish
    failures: list[str] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU-seconds the server spent on the class (after the warm-up)
    client_cpu: float = 0.0  # CPU-seconds this process (every light client) spent meanwhile
    wall: float = 0.0
    peak_rss_mb: float = 0.0
    browser: tuple[bool, str] | None = None  # (bars equal, note) when the browser check ran
    routes: list[Any] = field(default_factory=list)  # class_replicas.Route per student, through nginx only
    replica_rss_mb: dict[str, float] = field(default_factory=dict)  # replica -> peak RSS, through nginx only
    kept_route: int = 0  # students whose websocket reached the replica their cookie names (nginx only)
    load: tuple[float, float] = (float("nan"), float("nan"))  # the machine's 1-minute load average, start and end
    commit: str = ""  # the commit of the tree served (commit_of)
    rounds: int = 1  # classes pooled into this one (pooled), each on a fresh server


# -- the server -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A fresh `streamlit run app.py` of ``app_root`` on a free port, with this venv's streamlit."""

    def __init__(self, app_root: Path) -> None:
        self.app_root = app_root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile("w", prefix="nte-class-server-", suffix=".log", delete=False)  # noqa: SIM115

    def start(self) -> None:
        streamlit = Path(sys.executable).parent / "streamlit"
        cmd = [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.port", str(self.port)]
        cmd += ["--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
        cmd += ["--browser.gatherUsageStats", "false"]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        self.proc = subprocess.Popen(cmd, cwd=self.app_root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
        self.proc.kill()
        self.proc.wait(timeout=15)
        self.proc = None
        self.log.close()
        raise RuntimeError(f"streamlit did not start in {self.app_root}; log at {self.log.name}")

    def stop(self) -> None:
        ran = self.proc is not None
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
            self.proc = None
        self.log.close()
        if ran:
            Path(self.log.name).unlink(missing_ok=True)  # kept only when the server failed to start

    def cpu_seconds(self) -> float:
        """utime + stime of the server and every process under it (and their waited-for children), in seconds."""
        return sum(_proc_cpu(pid) for pid in _tree(self.proc.pid))

    def peak_rss_mb(self) -> float:
        """The server's peak resident set (VmHWM), in MB, plus its children's current peaks."""
        return sum(_vm_hwm_kb(pid) for pid in _tree(self.proc.pid)) / 1024


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])  # fields 14-17 of proc(5)
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc/*/stat's parent pids."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


# -- the class --------------------------------------------------------------------------------------------------


async def _student(url: str, result: ClassRun, index: int, headers: dict[str, str] | None = None) -> None:
    client = StreamlitClient(url, headers=headers)
    try:
        await client.connect()
        result.answers[index] = await run_lesson(client)
        result.completed += 1
    except Exception as error:  # a student who could not finish is counted, not fatal
        result.failures.append(f"student {index}: {type(error).__name__}: {error}")
    finally:
        result.interactions.extend(client.interactions)
        await client.close()


async def _class(
    url: str, size: int, server: Any, browser: bool, routes: list[Any] | None = None, warm: list[Any] | None = None
) -> ClassRun:
    """Warm the server (each of ``warm``'s routes: one replica each), then ``size`` students at once, student i
    sending route i's cookie; ``server`` has cpu_seconds() and peak_rss_mb() (a Server or a ClassReplicas)."""
    result = ClassRun(size, answers=[None] * size, routes=list(routes or []))
    for route in warm or [None]:
        async with StreamlitClient(url, headers=route.headers if route else None) as client:
            await visit_every_page(client)
    cpu0, own0, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
    headers = [r.headers for r in routes] if routes else [None] * size
    tasks = [asyncio.create_task(_student(url, result, i, headers[i])) for i in range(size)]
    check = asyncio.create_task(asyncio.to_thread(browser_bars, url)) if browser else None
    await asyncio.gather(*tasks)
    result.wall = time.perf_counter() - started
    result.server_cpu = server.cpu_seconds() - cpu0
    result.client_cpu = time.process_time() - own0
    if check is not None:
        try:
            result.browser = await check
        except Exception as error:  # the check failed to run: a failed row, not a lost class
            result.browser = (False, f"the browser check failed: {type(error).__name__}: {error}"[:200])
    result.peak_rss_mb = server.peak_rss_mb()
    return result


def measure(app_root: Path, size: int, browser: bool = False) -> ClassRun:
    """One class of ``size`` students against a fresh server of ``app_root``."""
    server = Server(app_root)
    server.start()
    try:
        result = run_coroutine(_class(server.url, size, server, browser))
        result.commit = commit_of(app_root)
        return result
    finally:
        server.stop()


def measure_replicas(app_root: Path, size: int, replicas: int = 2) -> ClassRun:
    """One class of ``size`` students through nginx in front of fresh ``replicas`` replicas of ``app_root``, each
    student with a route cookie of its own; each replica warmed through nginx before the class."""
    from benchmarks.class_replicas import ClassReplicas, one_route_per_replica, route_cookie, spread

    deployment = ClassReplicas(app_root, replicas)
    try:
        deployment.start()
        warm = one_route_per_replica(deployment.url, replicas)
        routes = [route_cookie(deployment.url) for _ in range(size)]
        result = run_coroutine(_class(deployment.url, size, deployment, False, routes, warm))
        result.replica_rss_mb = deployment.peak_rss_per_replica_mb()
        result.kept_route = spread(routes, deployment.access_log())[1]
        result.commit = commit_of(app_root)
        return result
    finally:
        deployment.stop()


# -- the real browser -------------------------------------------------------------------------------------------

SAMPLER_KEY_CLASS = "st-key-next_token-sampler"  # Streamlit's container class for key "next_token.sampler"
CURRENT = ':not([data-stale="true"]):not([data-retained="true"])'
# The client-side sampler's bars as drawn (their labels and the percentages written on them; "cut" is 0), in the
# form of a plotly figure's data, for bars_answer.
FIGURE_JS = f"""() => {{
  const host = document.querySelector('.{SAMPLER_KEY_CLASS}{CURRENT}');
  const root = host && (host.querySelector('.nte-sampler') || [...host.querySelectorAll('*')]
    .map(e => e.shadowRoot && e.shadowRoot.querySelector('.nte-sampler')).find(Boolean));
  if (!root) return null;
  const rows = [...root.querySelectorAll('svg.nte-bars g.row')];
  if (!rows.length) return null;
  const label = g => g.querySelector('text.token').firstChild.textContent;
  const value = (g, series) => {{
    const text = g.querySelector('text.value.' + series).textContent;
    return text === 'cut' ? 0 : parseFloat(text) / 100;
  }};
  return {{data: ['model', 'sampling'].map((series, i) => ({{
    name: {list(SAMPLER_TRACES)!r}[i], y: rows.map(label), x: rows.map(g => value(g, series))}}))}};
}}"""


def browser_bars(url: str) -> tuple[bool, str]:
    """Steps 1-2 of the lesson in one headless Chromium; (its bars equal a light client's, a note).

    The light client that gives the reference answers runs right after, in its own session, so both read the same
    server at the same load."""
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import RUN_COUNTER_JS, run_mark, wait_for_run

    if not Path(CHROMIUM).exists():
        return False, f"{CHROMIUM} is not installed"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync", "--no-first-run"]
    seen: list[tuple] = []
    profile = tempfile.mkdtemp(prefix="nte-class-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=flags, viewport={"width": 1400, "height": 1000}
        )
        context.add_init_script(RUN_COUNTER_JS)
        context.set_default_timeout(600_000)
        tab = context.new_page()
        tab.goto(f"{url}/next_token?{LINK_QUERY}")
        wait_for_run(tab, timeout=600_000)
        tab.wait_for_function(FIGURE_JS, timeout=600_000)  # the sampler has drawn its bars
        seen.append(bars_answer(tab.evaluate(FIGURE_JS)))
        slider = tab.locator(f".{SAMPLER_KEY_CLASS}{CURRENT}").get_by_role("slider", name="Temperature")
        current = 1.0
        for t in TEMPERATURES:
            presses = round((t - current) / 0.05)
            mark = run_mark(tab)
            slider.focus()
            for _ in range(abs(presses)):
                slider.press("ArrowRight" if presses > 0 else "ArrowLeft")
            current = t
            seen.append(_settled_bars(tab, slider, t, mark))
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
    reference = run_coroutine(_light_bars(url))
    equal = seen == reference
    note = "Chromium's bars equal a light client's at T=1.0, " + ", ".join(str(t) for t in TEMPERATURES)
    return equal, note if equal else f"differ: browser {str(seen)[:200]} vs light {str(reference)[:200]}"


def _settled_bars(tab: Any, slider: Any, temperature: float, mark: int) -> tuple:
    """The bars once the runs that the key presses after run mark ``mark`` caused have all ended (no new run starts
    for 3 s) and the slider shows ``temperature``."""
    from tests.browser.helpers import run_mark, wait_for_app, wait_for_run

    wait_for_run(tab, timeout=600_000, since=mark)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        before = run_mark(tab)
        tab.wait_for_timeout(3000)  # the slider commits its value after a pause; its run may start a little later
        wait_for_app(tab, timeout=600_000)
        if run_mark(tab) == before and abs(float(slider.input_value() or "nan") - temperature) < 1e-6:
            figure = tab.evaluate(FIGURE_JS)  # the slider is an <input type="range">
            if figure is not None:
                return bars_answer(figure)
    raise TimeoutError(f"the browser's temperature slider never settled at {temperature}")


async def _light_bars(url: str) -> list[tuple]:
    async with StreamlitClient(url) as client:
        await client.open("next_token", LINK_QUERY)
        out = [sampler_answer(client.component_data(SAMPLER))]
        for t in TEMPERATURES:
            await client.set(SAMPLER, sampler_settings(t))
            out.append(sampler_answer(client.component_data(SAMPLER)))
    return out


# -- rows -------------------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _reference(runs: list[ClassRun]) -> dict[str, Any] | None:
    """The answers of the first student who finished in the first (smallest) class of ``runs``."""
    return next((a for a in runs[0].answers if a is not None), None) if runs else None


def _rounds_note(run: ClassRun) -> str:
    return f"; mean of {run.rounds} classes on fresh servers, their interactions pooled" if run.rounds > 1 else ""


def rows_for(
    runs: list[ClassRun],
    app_root: Path,
    prefix: str = "",
    before: list[ClassRun] | None = None,
    before_name: str = "before",
) -> list[Row]:
    """The bench rows of a series of class sizes in one process (the first, smallest class gives the reference
    answers and the N=1 latencies).

    Args:
        prefix: put before every row's name (e.g. "before (2ca0b52), " for a baseline series).
        before: the same sizes against a baseline tree: its figures go in the notes, and each student's answers
            are compared with the baseline's (the page's numbers must not change).
        before_name: how the notes name the baseline.
    """
    rows: list[Row] = []
    base = runs[0]
    reference = _reference(runs)
    before_reference = _reference(before or [])
    before_by_size = {r.size: r for r in before or []}
    base_times = [i.seconds for i in base.interactions]
    base_p50, base_p95 = _percentile(base_times, 50), _percentile(base_times, 95)
    for run in runs:
        n = run.size
        old = before_by_size.get(n)
        times = [i.seconds for i in run.interactions]
        p50, p95 = _percentile(times, 50), _percentile(times, 95)
        same = sum(1 for a in run.answers if a is not None and a == reference)
        cpu = run.server_cpu / n
        failed = "; ".join(run.failures[:2])
        targeted = n >= TARGET_SIZE
        old_cpu = f"{before_name}: {old.server_cpu / old.size:.2f} s" if old else ""
        old_ratio = ""
        if old is not None and before:
            old_base = [i.seconds for i in before[0].interactions]
            old_times = [i.seconds for i in old.interactions]
            old_ratio = (
                f"{before_name}: {_percentile(old_times, 95) / _percentile(old_base, 95):.1f}x "
                f"({_percentile(old_times, 95):.2f} s vs {_percentile(old_base, 95):.2f} s)"
            )
        rows += [
            Row(f"{prefix}N={n}: students completed", run.completed / n, "", "= 1", run.completed == n, failed[:120]),
            Row(
                f"{prefix}N={n}: answers identical to N={base.size}",
                same / n,
                "",
                "= 1",
                same == n,
                "" if reference else "no reference: no student of the smallest class finished",
            ),
        ]
        if before is not None:
            kept = sum(1 for a in run.answers if a is not None and a == before_reference)
            rows.append(
                Row(
                    f"{prefix}N={n}: answers identical to {before_name}'s",
                    kept / n,
                    "",
                    "= 1",
                    kept == n,
                    "every bar, generated text, heatmap answer and perplexity as the baseline tree shows them"
                    if before_reference
                    else "no reference: no student of the baseline's smallest class finished",
                )
            )
        rows += [
            Row(
                f"{prefix}N={n}: server CPU-s per student (lesson, 1 process)",
                cpu,
                "s",
                f"<= {CPU_TARGET_S:g}" if targeted else "",
                (cpu <= CPU_TARGET_S) if targeted else None,
                f"{run.server_cpu:.1f} s for {n} ({app_root} at {run.commit})" + (f"; {old_cpu}" if old_cpu else ""),
            ),
            Row(
                f"{prefix}N={n}: p50 interaction latency / N={base.size}",
                p50 / base_p50,
                "x",
                note=f"p50 {p50:.2f} s vs {base_p50:.2f} s ({len(times)} interactions)",
            ),
            Row(
                f"{prefix}N={n}: p95 interaction latency / N={base.size} (1 process)",
                p95 / base_p95,
                "x",
                f"<= {P95_TARGET:g}" if targeted else "",
                (p95 / base_p95 <= P95_TARGET) if targeted else None,
                f"p95 {p95:.2f} s vs {base_p95:.2f} s" + (f"; {old_ratio}" if old_ratio else ""),
            ),
            Row(f"{prefix}N={n}: peak server RSS", run.peak_rss_mb, "MB", "<= 2000", run.peak_rss_mb <= RSS_TARGET_MB),
            Row(
                f"{prefix}N={n}: wall time of the lesson",
                run.wall,
                "s",
                note=f"clients used {run.client_cpu:.1f} CPU-s, server {run.server_cpu:.1f}; load average "
                f"{run.load[0]:.2f} -> {run.load[1]:.2f}" + _rounds_note(run),
            ),
        ]
        if run.browser is not None:
            rows.append(
                Row(f"{prefix}N={n}: browser check: answers equal", float(run.browser[0]), "", "= 1", *run.browser)
            )
    old_base = before[0] if before else None
    for kind in KINDS:
        done = [i for i in base.interactions if i.kind == kind]
        if done:
            how = "fragment rerun" if all(i.fragment for i in done) else "full rerun"
            old = [i.seconds for i in old_base.interactions if i.kind == kind] if old_base else []
            rows.append(
                Row(
                    f"{prefix}N={base.size}: {kind} (median)",
                    statistics.median(i.seconds for i in done),
                    "s",
                    note=f"{how}, {len(done)} per student"
                    + (f"; {before_name}: {statistics.median(old):.3f} s" if old else ""),
                )
            )
    if len(runs) > 1:
        rows += kind_rows(runs[-1], prefix)
    return rows


def kind_rows(run: ClassRun, prefix: str) -> list[Row]:
    """Each interaction's p95 in one (the largest) class: which waits make its p95."""
    rows = []
    for kind in KINDS:
        waits = [i.seconds for i in run.interactions if i.kind == kind]
        if len(waits) >= 2:
            note = f"median {statistics.median(waits):.2f} s over {len(waits)}"
            rows.append(Row(f"{prefix}N={run.size}: {kind} (p95)", _percentile(waits, 95), "s", note=note))
    return rows


def replica_rows(
    runs: list[ClassRun], prefix: str, reference: dict[str, Any] | None, before: list[ClassRun] | None = None,
    before_name: str = "before",
) -> list[Row]:  # fmt: skip
    """The rows of a series of classes through nginx in front of replicas (the first, smallest class gives the N=1
    latencies; ``reference`` is one process's answers, which every student here must give too)."""
    rows: list[Row] = []
    base = runs[0]
    base_times = [i.seconds for i in base.interactions]
    base_p50, base_p95 = _percentile(base_times, 50), _percentile(base_times, 95)
    before_by_size = {r.size: r for r in before or []}
    for run in runs:
        n = run.size
        old = before_by_size.get(n)
        times = [i.seconds for i in run.interactions]
        p50, p95 = _percentile(times, 50), _percentile(times, 95)
        cpu = run.server_cpu / n
        targeted = n >= TARGET_SIZE
        same = sum(1 for a in run.answers if a is not None and a == reference)
        per_replica = Counter(r.upstream for r in run.routes)
        counts = [per_replica.get(k, 0) for k in sorted(run.replica_rss_mb)] or [0]
        old_cpu = f"; {before_name}: {old.server_cpu / old.size:.2f} s" if old else ""
        old_ratio = ""
        if old is not None and before:
            old_base = [i.seconds for i in before[0].interactions]
            old_p95 = _percentile([i.seconds for i in old.interactions], 95)
            old_ratio = f"; {before_name}: {old_p95 / _percentile(old_base, 95):.1f}x"
        rows += [
            Row(
                f"{prefix}N={n}: completed, answers as 1 process",
                min(run.completed, same) / n,
                "",
                "= 1",
                run.completed == n == same,
                f"{run.completed} completed, {same} identical to one process's N=1; " + "; ".join(run.failures[:1]),
            ),
            Row(
                f"{prefix}N={n}: students on the smaller replica",
                min(counts),
                "",
                "> 0" if n > 1 else "",
                (min(counts) > 0 and run.kept_route == n) if n > 1 else None,
                ", ".join(f"{k}: {per_replica.get(k, 0)}" for k in sorted(run.replica_rss_mb))
                + f"; {run.kept_route} of {n} websockets reached their cookie's replica (nginx access log)",
            ),
            Row(
                f"{prefix}N={n}: server CPU-s per student (both replicas)",
                cpu,
                "s",
                f"<= {CPU_TARGET_S:g}" if targeted else "",
                (cpu <= CPU_TARGET_S) if targeted else None,
                f"{run.server_cpu:.1f} s for {n} (at {run.commit}), replicas only, not nginx or Redis{old_cpu}",
            ),
            Row(
                f"{prefix}N={n}: p50 latency / N={base.size} (through nginx)",
                p50 / base_p50,
                "x",
                note=f"p50 {p50:.2f} s vs {base_p50:.2f} s ({len(times)} interactions)",
            ),
            Row(
                f"{prefix}N={n}: p95 latency / N={base.size} (through nginx)",
                p95 / base_p95,
                "x",
                f"<= {REPLICA_P95_TARGET:g}" if targeted else "",
                (p95 / base_p95 <= REPLICA_P95_TARGET) if targeted else None,
                f"p95 {p95:.2f} s vs {base_p95:.2f} s, N={base.size} through the same nginx{old_ratio}",
            ),
            Row(
                f"{prefix}N={n}: peak RSS of the larger replica",
                max(run.replica_rss_mb.values(), default=float("nan")),
                "MB",
                note=", ".join(f"{k}: {v:,.0f} MB" for k, v in sorted(run.replica_rss_mb.items())),
            ),
            Row(
                f"{prefix}N={n}: wall time of the lesson",
                run.wall,
                "s",
                note=f"clients used {run.client_cpu:.1f} CPU-s, replicas {run.server_cpu:.1f}; load average "
                f"{run.load[0]:.2f} -> {run.load[1]:.2f}" + _rounds_note(run),
            ),
        ]
    if len(runs) > 1:
        rows += kind_rows(runs[-1], prefix)
    return rows


def own_compute() -> dict[str, float]:
    """Median seconds, in this process, of what a temperature step and a head switch must compute themselves (the
    model call is memoised on the page, so neither runs it): the temperature step's filtered distribution, table and
    bars; the head switch's map, overview and query bars (the layer's grid is memoised); each with its figures
    serialised to JSON as ``st.plotly_chart`` does."""
    from components.attention import METRICS, head_heatmap, overview_chart, query_bars
    from components.sampling import sampling_view
    from core.attention import attention_maps, head_summaries
    from core.models import DEFAULT_MODEL, load_model
    from core.next_token import next_token_distribution

    lm = load_model(DEFAULT_MODEL)
    dist = next_token_distribution(lm, PROMPT)
    maps = attention_maps(lm, PROMPT)
    summary = head_summaries(maps.weights)
    metric = next(iter(METRICS))
    head = int(HEAD_LABEL.split()[-1])

    def temperature_step(t: float) -> None:
        sampling_view(dist, 10, t, 0, 1.0).figure.to_json()

    def head_switch() -> None:
        matrix = maps.head(0, head)  # (T, T)
        T = maps.length
        for figure in (
            head_heatmap(matrix, maps.tokens, title=f"layer 1, head {head}"),
            overview_chart(summary[metric], metric, selected=(1, head)),
            query_bars(matrix[T - 1], maps.tokens, T - 1, title="query"),
        ):
            figure.to_json()

    def median(fn: Any, *args: Any) -> float:
        times = []
        for _ in range(15):
            started = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    return {
        TEMPERATURE: statistics.median(median(temperature_step, t) for t in TEMPERATURES),
        HEAD_SWITCH: median(head_switch),
    }


def streamlit_floor() -> float:
    """Median seconds of the cheapest interaction Streamlit has: a one-slider fragment, against a fresh server of
    FLOOR_APP with this repository's .streamlit config, timed by the same light client."""
    with tempfile.TemporaryDirectory(prefix="nte-floor-") as root:
        nodelay = f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        nodelay += "from ui.nodelay import enable_nodelay\nenable_nodelay()\n"
        Path(root, "app.py").write_text(nodelay + FLOOR_APP)  # as app.py does
        shutil.copytree(REPO / ".streamlit", Path(root, ".streamlit"))
        server = Server(Path(root))
        server.start()
        try:

            async def slide() -> float:
                async with StreamlitClient(server.url) as client:
                    await client.open("", "")
                    for i in range(30):
                        await client.set("next_token.temperature", [0.5 + (i % 10) / 10], kind=TEMPERATURE)
                    return statistics.median(i.seconds for i in client.interactions if i.kind == TEMPERATURE)

            return run_coroutine(slide())
        finally:
            server.stop()


def compute_rows(base: ClassRun) -> list[Row]:
    """A temperature step and a head switch of the smallest class against their own compute and Streamlit's floor.

    Figures without a target: both interactions now redraw in the page (the browser rows), and what the light
    client times here is the server run that hears the value let go of, whose floor alone (Streamlit's rerun of one
    slider) is above 3x the compute that an earlier target asked for."""
    compute, floor = own_compute(), streamlit_floor()
    rows = [Row("Streamlit floor: one-slider fragment rerun", floor, "s", note="the light client, same config")]
    for kind in (TEMPERATURE, HEAD_SWITCH):
        done = [i.seconds for i in base.interactions if i.kind == kind]
        if done:
            step = statistics.median(done)
            rows.append(
                Row(
                    f"N={base.size}: {kind} / its own compute",
                    step / compute[kind],
                    "x",
                    note=f"{step * 1000:.0f} ms vs compute {compute[kind] * 1000:.1f} ms "
                    f"(floor {floor * 1000:.0f} ms): the server run after the page redrew",
                )
            )
    return rows


def solo_rounds() -> int:
    """How many one-student classes, each on a fresh server, make the N=1 reference (NTE_CLASS_SOLO_ROUNDS, 3)."""
    return max(1, int(os.environ.get("NTE_CLASS_SOLO_ROUNDS", "3")))


def rounds_for(size: int, sizes: list[int]) -> int:
    """Classes of ``size`` measured (each on a fresh server, pooled): NTE_CLASS_SOLO_ROUNDS for one student, and
    NTE_CLASS_ROUNDS (3) for the largest class, whose targets would otherwise rest on one run (its CPU per student
    varied from 0.65 to 0.9 s between single runs of one tree on this machine); one for the sizes between."""
    if size == 1:
        return solo_rounds()
    return max(1, int(os.environ.get("NTE_CLASS_ROUNDS", "3"))) if size == max(sizes) else 1


def class_sizes() -> tuple[int, ...]:
    raw = os.environ.get("NTE_CLASS_SIZES", "")
    return tuple(int(s) for s in raw.split(",") if s.strip()) if raw.strip() else SIZES


def commit_of(root: Path) -> str:
    """The short commit a tree is checked out at (a worktree's HEAD), "+ changes" when tracked files differ from it;
    the folder's name when git cannot say."""
    found = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        return root.name
    status = ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"]
    changed = subprocess.run(status, capture_output=True, text=True).stdout.strip()
    return found.stdout.strip() + (" + changes" if changed else "")


def pooled(runs: list[ClassRun]) -> ClassRun:
    """Classes of one size, each on a fresh server, as one: every interaction (so one student's p50/p95 rest on more
    than 19), CPU-seconds, wall and client CPU averaged per class, the highest peak RSS; the first class's answers
    when every class gave the same, else none (and a failure naming the class that differs)."""
    first = runs[0]
    k = len(runs)
    out = ClassRun(first.size, completed=min(r.completed for r in runs), answers=list(first.answers))
    out.failures = [f for r in runs for f in r.failures]
    out.failures += [f"class {i + 1} of {k}: answers differ from the first" for i, r in enumerate(runs) if
                     r.answers != first.answers]  # fmt: skip
    if len(out.failures) > sum(len(r.failures) for r in runs):
        out.answers = [None] * first.size  # no answer to compare with: the identity rows fail
    out.interactions = [i for r in runs for i in r.interactions]
    out.server_cpu = sum(r.server_cpu for r in runs) / k
    out.client_cpu = sum(r.client_cpu for r in runs) / k
    out.wall = sum(r.wall for r in runs) / k
    out.peak_rss_mb = max(r.peak_rss_mb for r in runs)
    out.browser, out.routes, out.replica_rss_mb = first.browser, first.routes, first.replica_rss_mb
    out.kept_route = first.kept_route
    out.commit, out.rounds = first.commit, sum(r.rounds for r in runs)
    return out


def _timed(what: str, fn: Any, *args: Any, rounds: int = 1, **kwargs: Any) -> ClassRun:
    """``fn(*args, **kwargs)`` (a measure), ``rounds`` times pooled, with the machine's load average around it."""
    started = time.perf_counter()
    load = os.getloadavg()[0]
    later = dict(kwargs, browser=False) if "browser" in kwargs else kwargs  # the browser checks the first round
    results = [fn(*args, **(kwargs if i == 0 else later)) for i in range(rounds)]
    result = pooled(results) if rounds > 1 else results[0]
    result.load = (load, os.getloadavg()[0])
    print(f"  {what}: {time.perf_counter() - started:.0f} s, load {load:.2f} -> {result.load[1]:.2f}",
          file=sys.stderr, flush=True)  # fmt: skip
    return result


def run() -> list[Row]:
    app_root = Path(os.environ.get("NTE_CLASS_APP_ROOT", str(REPO))).resolve()
    baseline = os.environ.get("NTE_CLASS_BASELINE_ROOT", "").strip()
    before_root = Path(baseline).resolve() if baseline else None
    before_name = f"before ({commit_of(before_root)})" if before_root else "before"
    sizes = sorted(class_sizes())
    browser = os.environ.get("NTE_CLASS_BROWSER", "1") != "0"
    runs, before = [], []
    for n in sizes:  # the baseline and this tree in turn, so a change in the machine's load touches both
        rounds = rounds_for(n, sizes)
        if before_root is not None:
            before.append(_timed(f"{before_name}: class of {n}", measure, before_root, n, rounds=rounds))
        runs.append(_timed(f"class of {n}", measure, app_root, n, rounds=rounds, browser=browser and n == sizes[-1]))
    rows = rows_for(runs, app_root, before=before or None, before_name=before_name)
    if before:
        rows += rows_for(before, before_root, prefix="before: ")
    if os.environ.get("NTE_CLASS_REPLICAS", "2") != "0":
        rows += _replica_series(app_root, before_root, before_name, sorted({sizes[0], sizes[-1]}), _reference(runs))
    if app_root == REPO:
        rows += compute_rows(runs[0])
    return rows


def _replica_series(
    app_root: Path, before_root: Path | None, before_name: str, sizes: list[int], reference: dict[str, Any] | None
) -> list[Row]:
    """The smallest and the largest class through nginx in front of 2 replicas, this tree and the baseline in turn;
    a failed row when nginx or redis-server is missing."""
    replicas = int(os.environ.get("NTE_CLASS_REPLICAS", "2"))
    runs, before = [], []
    try:
        for n in sizes:
            rounds = rounds_for(n, sizes)
            if before_root is not None:
                before.append(_timed(f"{before_name}: {replicas} replicas, class of {n}", measure_replicas,
                                     before_root, n, replicas, rounds=rounds))  # fmt: skip
            runs.append(_timed(f"{replicas} replicas, class of {n}", measure_replicas, app_root, n, replicas,
                               rounds=rounds))  # fmt: skip
    except RuntimeError as error:
        return [Row(f"{replicas} replicas: class", float("nan"), "", "runs", False, str(error)[:160])]
    rows = replica_rows(runs, f"{replicas} replicas, ", reference, before or None, before_name)
    if before:
        rows += replica_rows(before, f"before: {replicas} replicas, ", reference)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-root", help="the app to serve (default: this repository)")
    parser.add_argument("--sizes", help="class sizes, e.g. 1,8 (default: 1,8,16,30)")
    parser.add_argument("--no-browser", action="store_true", help="skip the real-browser check")
    parser.add_argument("--baseline-root", help="a tree to measure too, for before/after (e.g. a git worktree)")
    parser.add_argument("--no-replicas", action="store_true", help="skip the runs through nginx and 2 replicas")
    args = parser.parse_args(argv)
    if args.app_root:
        os.environ["NTE_CLASS_APP_ROOT"] = args.app_root
    if args.baseline_root:
        os.environ["NTE_CLASS_BASELINE_ROOT"] = args.baseline_root
    if args.no_replicas:
        os.environ["NTE_CLASS_REPLICAS"] = "0"
    if args.sizes:
        os.environ["NTE_CLASS_SIZES"] = args.sizes
    if args.no_browser:
        os.environ["NTE_CLASS_BROWSER"] = "0"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    for row in run():
        ok = "" if row.passed is None else ("yes" if row.passed else "NO")
        print(f"| {row.name:<62} | {row.value:>10,.3f} {row.unit:<2} | {row.target:<10} | {ok:<3} | {row.note}")
    print(f"bench_class took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A class on one server: N simulated students follow the lesson at once against a fresh `streamlit run`.

Each student is a light client of Streamlit's own websocket protocol (benchmarks/streamlit_client.py), all of them in
this one process, so 30 students cost far less CPU than the server they load. For each class size the server is
started afresh, warmed by one visit to every lesson page (the model load is not counted), and then measured from
/proc: its CPU-seconds (utime + stime, its children's too) and its peak RSS (VmHWM). During the largest class one
real Chromium follows steps 1-2 of the lesson and its bars must equal the light clients'.

Runnable alone: ``python -m benchmarks.bench_class --app-root /tmp/baseline --sizes 1,8``; in ``make bench`` through
``run()``. Environment: NTE_CLASS_SIZES ("1,8,16,30"), NTE_CLASS_APP_ROOT (default: this repository),
NTE_CLASS_BROWSER=0 to skip the browser check, NTE_CLASS_TODAY_CPU_S (today's CPU-seconds per student: sets the
"<= 1/3 of today" target).
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
P95_TARGET = 10.0  # p95 at N = 30 within 10x of N = 1
RSS_TARGET_MB = 2000.0
TODAY_CPU_S = 16.6  # server CPU-s per student at N = 1 before the shared service and memo (commit 68c2643)
OWN_COMPUTE_TARGET = 3.0  # a temperature step and a head switch within 3x of their own compute
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


async def _student(url: str, result: ClassRun, index: int) -> None:
    client = StreamlitClient(url)
    try:
        await client.connect()
        result.answers[index] = await run_lesson(client)
        result.completed += 1
    except Exception as error:  # a student who could not finish is counted, not fatal
        result.failures.append(f"student {index}: {type(error).__name__}: {error}")
    finally:
        result.interactions.extend(client.interactions)
        await client.close()


async def _class(url: str, size: int, server: Server, browser: bool) -> ClassRun:
    result = ClassRun(size, answers=[None] * size)
    async with StreamlitClient(url) as warm:
        await visit_every_page(warm)
    cpu0, own0, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
    tasks = [asyncio.create_task(_student(url, result, i)) for i in range(size)]
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
        return run_coroutine(_class(server.url, size, server, browser))
    finally:
        server.stop()


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


def rows_for(runs: list[ClassRun], app_root: Path) -> list[Row]:
    """The bench rows of a series of class sizes (the first, smallest class gives the reference answers)."""
    rows: list[Row] = []
    base = runs[0]
    reference = next((a for a in base.answers if a is not None), None)
    base_times = [i.seconds for i in base.interactions]
    base_p50, base_p95 = _percentile(base_times, 50), _percentile(base_times, 95)
    today = os.environ.get("NTE_CLASS_TODAY_CPU_S", str(TODAY_CPU_S))
    where = "baseline" if app_root != REPO else "this tree"
    for run in runs:
        n = run.size
        times = [i.seconds for i in run.interactions]
        p50, p95 = _percentile(times, 50), _percentile(times, 95)
        same = sum(1 for a in run.answers if a is not None and a == reference)
        cpu = run.server_cpu / n
        failed = "; ".join(run.failures[:2])
        rows += [
            Row(f"N={n}: students completed", run.completed / n, "", "= 1", run.completed == n, failed[:120]),
            Row(
                f"N={n}: answers identical to N={base.size}",
                same / n,
                "",
                "= 1",
                same == n,
                "" if reference else "no reference: no student of the smallest class finished",
            ),
            Row(
                f"N={n}: server CPU-s per student (lesson)",
                cpu,
                "s",
                "<= today/3",
                None if not today else cpu <= float(today) / 3,
                f"{run.server_cpu:.1f} s for {n} ({where}: {app_root})",
            ),
            Row(
                f"N={n}: p50 interaction latency / N={base.size}",
                p50 / base_p50,
                "x",
                note=f"p50 {p50:.2f} s vs {base_p50:.2f} s ({len(times)} interactions)",
            ),
            Row(
                f"N={n}: p95 interaction latency / N={base.size}",
                p95 / base_p95,
                "x",
                "<= 10" if n >= 30 else "",
                (p95 / base_p95 <= P95_TARGET) if n >= 30 else None,
                f"p95 {p95:.2f} s vs {base_p95:.2f} s",
            ),
            Row(f"N={n}: peak server RSS", run.peak_rss_mb, "MB", "<= 2000", run.peak_rss_mb <= RSS_TARGET_MB),
            Row(
                f"N={n}: wall time of the lesson",
                run.wall,
                "s",
                note=f"clients used {run.client_cpu:.1f} CPU-s, server {run.server_cpu:.1f}",
            ),
        ]
        if run.browser is not None:
            rows.append(Row(f"N={n}: browser check: answers equal", float(run.browser[0]), "", "= 1", *run.browser))
    for kind in KINDS:
        done = [i for i in base.interactions if i.kind == kind]
        if done:
            how = "fragment rerun" if all(i.fragment for i in done) else "full rerun"
            rows.append(
                Row(
                    f"N={base.size}: {kind} (median)",
                    statistics.median(i.seconds for i in done),
                    "s",
                    note=f"{how}, {len(done)} per student",
                )
            )
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
    """A temperature step and a head switch of the smallest class against their own compute and Streamlit's floor."""
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
                    f"<= {OWN_COMPUTE_TARGET:g}",
                    step / compute[kind] <= OWN_COMPUTE_TARGET,
                    f"{step * 1000:.0f} ms vs compute {compute[kind] * 1000:.1f} ms (floor {floor * 1000:.0f} ms)",
                )
            )
    return rows


def class_sizes() -> tuple[int, ...]:
    raw = os.environ.get("NTE_CLASS_SIZES", "")
    return tuple(int(s) for s in raw.split(",") if s.strip()) if raw.strip() else SIZES


def run() -> list[Row]:
    app_root = Path(os.environ.get("NTE_CLASS_APP_ROOT", str(REPO))).resolve()
    sizes = sorted(class_sizes())
    browser = os.environ.get("NTE_CLASS_BROWSER", "1") != "0"
    runs = []
    for n in sizes:
        started = time.perf_counter()
        runs.append(measure(app_root, n, browser=browser and n == sizes[-1]))
        print(f"  class of {n}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    rows = rows_for(runs, app_root)
    if app_root == REPO:
        rows += compute_rows(runs[0])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-root", help="the app to serve (default: this repository)")
    parser.add_argument("--sizes", help="class sizes, e.g. 1,8 (default: 1,8,16,30)")
    parser.add_argument("--no-browser", action="store_true", help="skip the real-browser check")
    args = parser.parse_args(argv)
    if args.app_root:
        os.environ["NTE_CLASS_APP_ROOT"] = args.app_root
    if args.sizes:
        os.environ["NTE_CLASS_SIZES"] = args.sizes
    if args.no_browser:
        os.environ["NTE_CLASS_BROWSER"] = "0"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    for row in run():
        ok = "" if row.passed is None else ("yes" if row.passed else "NO")
        print(f"| {row.name:<52} | {row.value:>10,.3f} {row.unit:<2} | {row.target:<10} | {ok:<3} | {row.note}")
    print(f"bench_class took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

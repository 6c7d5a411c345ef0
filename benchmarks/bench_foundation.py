"""Foundation: a sampling-control change vs a forward pass, cold start, first conversion, server memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row, alternate

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "The capital of France is"

COLD_START = """
import time; t = time.perf_counter()
from core.models import load_model
from core.next_token import next_token_distribution
lm = load_model()
d = next_token_distribution(lm, {prompt!r})
print(time.perf_counter() - t)
"""


def _python(code: str, env: dict | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def control_change_vs_forward() -> list[Row]:
    """What a temperature / top-k / top-p change costs on the next-token page (components.sampling, the
    page's own function: filters, table, chart, entropy) against one forward pass on the same prompt.

    Both alternate with the forward pass in the same process. The target row is the cost per change while a
    control moves (five changes in a row, as a slider drag or a few clicks cause: the model does not run between
    them). The second row is a single change timed right after a forward pass, whose 540 MB of weight reads
    have just flushed the CPU caches: a worst case that no control move meets in the app, reported as well.
    """
    import streamlit.elements.plotly_chart  # noqa: F401  as in the app: Streamlit's plotly template is the default

    from components.sampling import sampling_view
    from core.models import load_model, set_torch_threads
    from core.next_token import next_token_distribution
    from ui.settings import torch_threads

    set_torch_threads(torch_threads())  # as app.py does: one intra-op thread unless NTE_TORCH_THREADS says otherwise
    lm = load_model()
    dist = next_token_distribution(lm, PROMPT)
    _ = dist.order, dist.entropy_bits  # computed once per prompt and cached with the logits, as on the page
    settings = iter([(t / 10, k, p / 10) for t in range(1, 30) for k in (0, 5, 50) for p in (3, 9, 10)] * 10)

    def control_change():  # no model call: the logits are cached per (model, prompt)
        t, k, p = next(settings)
        sampling_view(dist, 10, t, k, p)

    def drag():
        for _ in range(5):
            control_change()

    forward = lambda: next_token_distribution(lm, PROMPT)  # noqa: E731
    single, forward_a = alternate(control_change, forward, rounds=9)
    dragged, forward_b = alternate(drag, forward, rounds=9)
    single_ratio, drag_ratio = single / forward_a, dragged / 5 / forward_b
    return [
        Row(
            "sampling-control change / one forward pass (same prompt)",
            drag_ratio * 100,
            "%",
            "< 5%",
            drag_ratio < 0.05,
            f"{dragged / 5 * 1000:.1f} ms vs {forward_b * 1000:.1f} ms; per change, 5 in a row",
        ),
        Row(
            "  the same, one change right after a forward pass (cold caches)",
            single_ratio * 100,
            "%",
            "report",
            None,
            f"{single * 1000:.1f} ms vs {forward_a * 1000:.1f} ms",
        ),
    ]


def cold_start() -> Row:
    seconds = _python(COLD_START.format(prompt=PROMPT))
    return Row("cold start: fresh process to first distribution (converted)", seconds, "s")


def first_conversion() -> Row:
    with tempfile.TemporaryDirectory() as folder:
        seconds = _python(COLD_START.format(prompt=PROMPT), env={"NTE_MODEL_CACHE": folder})
    return Row("first-ever start: GGUF conversion + first distribution", seconds, "s")


def server_memory(paths: list[str], label: str) -> Row:
    """Peak resident memory (VmHWM) of one `streamlit run app.py` after a browser opened ``paths`` in turn."""
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            tab = browser.new_page()
            for path in paths:
                tab.goto(url + path)
                tab.wait_for_selector('[data-testid="stMain"] h1', timeout=300_000)
                tab.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=300_000
                )
                tab.wait_for_timeout(1000)
            browser.close()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    mb = peak_kb / 1024
    return Row(f"peak RSS of the app server after {label}", mb, "MB", "<= 1500", mb <= 1500)


def run() -> list[Row]:
    from ui.navigation import available_pages

    every_page = ["/" + Path(p.path).stem for p in available_pages() if p.path != "app_pages/home.py"]
    return [
        *control_change_vs_forward(),
        cold_start(),
        first_conversion(),
        server_memory(["/next_token", "/temperature"], "next-token + temperature pages"),
        server_memory(every_page, f"every page ({len(every_page)}) with its defaults"),
    ]

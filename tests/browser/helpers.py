"""Browser-test helpers: screenshots for a person to look at, waiting for Streamlit's script run to end, and
locators that see only the current run's elements (never the faded copy of the previous run's).

Streamlit publishes its run state on the app root, `<div data-testid="stApp" data-test-script-state=...>`:
`initial` before the first run, then `running` / `rerunRequested` / `stopRequested` while the script runs, and
`notRunning` when it has finished (the attribute its own e2e tests wait on). After a click the state stays
`notRunning` until the server answers, which on a busy machine can take seconds: waiting for `notRunning` right
after an action can pass before the run has even started. So a small script, installed in every document before
the app's own code (conftest adds it to the browser context), counts the runs this document has seen start, and
`wait_for_run` waits for a run that started after the last wait to end.

While a script reruns, the previous run's elements stay on the page, faded, until the new run replaces or drops
them: their element containers carry `data-stale="true"`. Streamlit 1.67 also keeps a keyed element that another
element displaced, hidden, so it can come back with its state: `data-retained="true"`, and then not stale once the
run has ended. `live()` and `keyed()` exclude both, so a locator never matches an old chart and its replacement.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"

RUN_TIMEOUT = 300_000  # ms: the first run loads the model; a busy 2-core machine is slow
CHART = '[data-testid="stPlotlyChart"]'
SAMPLER_BARS = '[data-testid="nte-sampler-bars"]'  # the client-side sampler's bars (ui/client_sampler.py)
CURRENT = ':not([data-stale="true"]):not([data-retained="true"])'  # neither faded (stale) nor kept hidden (retained)
LIVE = f'[data-testid="stElementContainer"]{CURRENT}'  # the container of an element of the current run

# Counts script runs in window.__nteRuns: `started` goes up each time the state enters a running state, `seen` is
# what the last wait_for_run consumed. Mutation records carry the old value, so a run that starts and ends
# between two observer callbacks is still counted.
RUN_COUNTER_JS = """
(() => {
  if (window.__nteRuns) return;
  const runs = window.__nteRuns = {started: 0, finished: 0, seen: 0, state: null};
  const busy = s => s === 'running' || s === 'rerunRequested' || s === 'stopRequested';
  const note = s => {
    if (s === null || s === runs.state) return;
    if (!runs.viaSocket) {  // counted from the DOM only when the websocket could not be watched
      if (busy(s) && !busy(runs.state)) runs.started += 1;
      if (!busy(s) && busy(runs.state)) runs.finished += 1;
      if (runs.state === 'initial' && !busy(s)) { runs.started += 1; runs.finished += 1; }  // too quick to draw
    }
    runs.state = s;
  };
  // Count runs from the websocket itself when this script runs before the app (an init script): a fragment run of
  // a few ms can start and finish inside one React render, and then never shows as 'running' in the DOM. Each
  // ForwardMsg is parsed for its top-level fields only: 4 = new_session (a run starts), 6 = script_finished.
  if (window.WebSocket && !window.__nteSocketWrapped && !document.querySelector('[data-testid="stApp"]')) {
    window.__nteSocketWrapped = true;
    runs.viaSocket = true;
    runs.lastFinish = 0;
    runs.lastStart = 0;
    const fields = bytes => {
      const found = [];
      let i = 0;
      const varint = () => {
        let v = 0, m = 1, b;
        do { b = bytes[i++]; v += (b & 127) * m; m *= 128; } while (b & 128 && i < bytes.length);
        return v;
      };
      while (i < bytes.length) {
        const key = varint(), wire = key % 8;
        found.push(Math.floor(key / 8));
        if (wire === 0) varint();
        else if (wire === 2) i += varint();
        else if (wire === 1) i += 8;
        else if (wire === 5) i += 4;
        else break;
      }
      return found;
    };
    const Native = window.WebSocket;
    window.WebSocket = function (...args) {
      const ws = new Native(...args);
      ws.addEventListener('message', e => {
        if (!(e.data instanceof ArrayBuffer)) return;
        const f = fields(new Uint8Array(e.data));
        if (f.includes(4)) { runs.started += 1; runs.lastStart = performance.now(); }
        if (f.includes(6)) { runs.finished += 1; runs.lastFinish = performance.now(); }
      });
      return ws;
    };
    window.WebSocket.prototype = Native.prototype;
    Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  }
  const app = () => document.querySelector('[data-testid="stApp"]');
  new MutationObserver(records => {
    for (const r of records) if (r.target.getAttribute('data-testid') === 'stApp') note(r.oldValue);
    const root = app();
    if (root) note(root.getAttribute('data-test-script-state'));
  }).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                        attributeFilter: ['data-test-script-state']});
  const root = app();  // installed late (not as an init script): count a run already under way or done
  if (root && root.getAttribute('data-test-script-state') !== 'initial') {
    runs.started = 1;
    note(root.getAttribute('data-test-script-state'));
  }
})();
"""

# True once a run newer than `since` (default: the last one consumed) has ended, the app is connected and no
# element is still a loading skeleton; with `consume`, marks the runs so far as seen in the same evaluation, so a
# run that starts right after cannot be swallowed.
_SETTLED_JS = """
([since, consume]) => {
  const r = window.__nteRuns;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!r || !app) return false;
  const state = app.getAttribute('data-test-script-state');
  const done = r.started > (since === null ? r.seen : since)
    && (!r.viaSocket || ((r.finished >= r.started || performance.now() - r.lastStart > 3000)
                         && performance.now() - r.lastFinish > 150))  // its messages drawn by now
    && (state === 'notRunning' || state === 'compilationError')
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !document.querySelector('[data-testid="stSkeleton"]');
  if (done && consume) r.seen = r.started;
  return done;
}
"""


def screenshot(tab, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def _ensure_counter(tab) -> None:
    tab.wait_for_selector('[data-testid="stApp"]', state="attached", timeout=RUN_TIMEOUT)
    tab.evaluate(RUN_COUNTER_JS)  # a no-op when the init script is in place


def run_mark(tab) -> int:
    """How many script runs this tab's document has seen start: take it before an action, pass it as `since=`."""
    _ensure_counter(tab)
    return tab.evaluate("() => window.__nteRuns.started")


def wait_for_run(tab, timeout: float = RUN_TIMEOUT, since: int | None = None) -> None:
    """Wait until a script run that started after the previous wait_for_run (or after mark `since`) has finished.

    Call it after every action that makes Streamlit rerun (a click on a button, a committed text box, a changed
    select, slider or toggle, a page load) before reading the page. Not after an action that does not rerun
    (a click on a tab, a hover): that would wait for the timeout.
    """
    _ensure_counter(tab)
    tab.wait_for_function(_SETTLED_JS, arg=[since, True], timeout=timeout, polling=100)


def wait_for_app(tab, timeout: float = RUN_TIMEOUT) -> None:
    """Wait until the page has had a script run and none is in progress (for a page load, or to settle).

    Unlike wait_for_run it does not insist on a run newer than the last wait, so it cannot tell a finished run
    from one not started yet: after an action that reruns, use wait_for_run."""
    _ensure_counter(tab)
    tab.wait_for_function(_SETTLED_JS, arg=[0, True], timeout=timeout, polling=100)


def enter_text(tab, field, text: str, submit: str = "Control+Enter") -> None:
    """Type `text` into a text area / input / number box, commit it with `submit` and wait for the rerun.

    Streamlit reruns only when the committed value differs from the widget's, so an unchanged value is not
    waited for."""
    changed = field.input_value() != text
    field.fill(text)
    field.press(submit)
    if changed:
        wait_for_run(tab)


def live(scope, css: str):
    """Elements matching `css` in the current run's element containers (never a stale or retained one).

    `scope` is a page or a locator."""
    return scope.locator(f"{LIVE} {css}")


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the container of the element with this `key` (`st-key-<key>`, with each
    character other than letters, digits, '_' and '-' as '-')."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def keyed(scope, key: str, css: str = ""):
    """The current (neither stale nor retained) element with Streamlit key `key`, or `css` inside it."""
    container = scope.locator(f".{key_class(key)}{CURRENT}")
    return container.locator(css) if css else container


def chart(scope, key: str | None = None):
    """A current Plotly chart: the one with `key`, else every live chart (take .first/.nth/.filter)."""
    return keyed(scope, key, CHART) if key else live(scope, CHART)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` (the README's command) on a free localhost port; it can be stopped and started again
    on the same port (the restart test)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        self.log = open(tempfile.mktemp(prefix="streamlit-", suffix=".log"), "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"streamlit did not start; log at {self.log.name}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        self.log.close()

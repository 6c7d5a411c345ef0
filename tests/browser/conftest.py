"""A real browser against the real app: `streamlit run app.py` on a free localhost port, driven by Playwright
through Debian's Chromium. Without chromium the tests skip loudly, except where NTE_REQUIRE_BROWSER=1 (CI),
where they fail."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.browser.helpers import RUN_COUNTER_JS, Server
from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def app_server():
    """Start the app with the README's command line (streamlit run app.py) and wait until it answers.

    Yields (url, process)."""
    server = Server()
    server.start()
    yield server.url, server.proc
    server.stop()


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        message = f"{CHROMIUM} is not installed: browser tests need Debian's chromium (apt-get install chromium)"
        missing("browser tests", message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)  # assertions retry while a busy machine renders the rerun

    profile = tempfile.mkdtemp(prefix="nte-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000}
        )
        context.add_init_script(RUN_COUNTER_JS)  # every document counts its script runs (helpers.wait_for_run)
        context.set_default_timeout(120_000)  # clicks and reads wait for slow reruns on a busy machine
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, app_url):
    """A fresh tab; JavaScript dialogs (an injected alert) are recorded so tests can assert none happened."""
    tab = browser.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.app_url = app_url
    yield tab
    tab.close()

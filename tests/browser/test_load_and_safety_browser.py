"""A shared deployment: eight concurrent sessions on different pages give the serial answers, and a prompt
carrying a script tag or an onerror handler is shown as text, never executed."""
from urllib.parse import quote

import pytest

from tests.browser.helpers import ARTIFACTS, screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'
VIEWS = [
    "/next_token?prompt=" + quote("The capital of France is"),
    "/next_token?prompt=" + quote("The package left the") + "&t=0.5",
    "/next_token?prompt=" + quote("The package left the regional") + "&top_k=3",
    "/next_token?prompt=" + quote("The package left the checkout") + "&top_p=0.5",
    "/temperature?source=" + quote("Toy vocabulary"),
    "/temperature?prompt=" + quote("Once upon a time") + "&t=2",
    "/next_token?mode=" + quote("Toy vocabulary") + "&t=2",
    "/kv_cache",
]


def first_chart_text(tab) -> str:
    tab.wait_for_selector(CHART, timeout=300_000)
    wait_for_app(tab, timeout=300_000)
    return tab.locator(CHART).first.inner_text()


def peak_rss_mb(pid: int) -> float:
    status = open(f"/proc/{pid}/status").read()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def test_eight_concurrent_sessions_equal_the_serial_answers(browser, app_server):
    app_url, server = app_server
    serial = []
    for view in VIEWS:
        tab = browser.new_page()
        tab.goto(app_url + view)
        serial.append(first_chart_text(tab))
        tab.close()
    tabs = [browser.new_page() for _ in VIEWS]
    for tab, view in zip(tabs, VIEWS):  # all eight sessions start before any is read
        tab.goto(app_url + view, wait_until="commit")
    concurrent = [first_chart_text(tab) for tab in tabs]
    for tab in tabs:
        assert not tab.locator('[data-testid="stException"]').count()
        tab.close()
    assert len(set(serial)) >= 6  # different views really differ
    assert concurrent == serial
    peak = peak_rss_mb(server.pid)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load_test.txt").write_text(f"{len(VIEWS)} concurrent sessions: answers equal the serial ones; "
                                              f"server peak RSS {peak:,.0f} MB\n")
    print(f"\nload test: {len(VIEWS)} concurrent sessions, server peak RSS {peak:,.0f} MB")


@pytest.mark.parametrize("path", ["/next_token", "/temperature"])
def test_script_and_onerror_in_a_prompt_never_execute(page, path):
    hostile = '<script>alert("xss")</script><img src=x onerror=alert(1)> "><svg onload=alert(2)>'
    page.goto(page.app_url + path)
    wait_for_app(page)
    box = page.locator("textarea[aria-label='Prompt']")
    box.fill(hostile)
    box.press("Control+Enter")
    page.wait_for_function(
        "sel => document.querySelector(sel) && document.querySelector(sel).innerText.includes('all other tokens')",
        arg=CHART, timeout=120_000)
    wait_for_app(page)
    screenshot(page, f"hostile_prompt{path.replace('/', '_')}")
    assert not page.dialogs
    assert page.evaluate("() => document.querySelectorAll('[data-testid=stMain] img[src=x], svg[onload]').length") == 0

"""A shared deployment: eight concurrent sessions on different pages give the serial answers, and a prompt
carrying a script tag or an onerror handler is shown as text, never executed."""

from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ARTIFACTS, SAMPLER_BARS, chart, enter_text, screenshot, wait_for_run

pytestmark = pytest.mark.browser
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
    """The first chart of a freshly opened view, once its first script run has ended: the client-side sampler's
    bars on the next-token and temperature pages (drawn in the page), else the first plotly chart."""
    wait_for_run(tab)
    if "/next_token" in tab.url or "/temperature" in tab.url:
        bars = tab.locator(SAMPLER_BARS)
        expect(bars).to_contain_text("%")  # drawn
        return bars.text_content()
    first = chart(tab).first
    first.locator(".main-svg").first.wait_for()  # plotly has drawn it
    return first.inner_text()


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
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
    (ARTIFACTS / "load_test.txt").write_text(
        f"{len(VIEWS)} concurrent sessions: answers equal the serial ones; server peak RSS {peak:,.0f} MB\n"
    )
    print(f"\nload test: {len(VIEWS)} concurrent sessions, server peak RSS {peak:,.0f} MB")


@pytest.mark.parametrize("path", ["/next_token", "/temperature"])
def test_script_and_onerror_in_a_prompt_never_execute(page, path):
    hostile = '<script>alert("xss")</script><img src=x onerror=alert(1)> "><svg onload=alert(2)>'
    page.goto(page.app_url + path)
    wait_for_run(page)
    enter_text(page, page.locator("textarea[aria-label='Prompt']"), hostile)
    expect(page.locator(SAMPLER_BARS)).to_contain_text("all other tokens")  # the sampler drew the model's bars
    screenshot(page, f"hostile_prompt{path.replace('/', '_')}")
    assert not page.dialogs
    assert page.evaluate("() => document.querySelectorAll('[data-testid=stMain] img[src=x], svg[onload]').length") == 0

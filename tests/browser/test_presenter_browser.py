"""Real browser: presenter mode makes every page readable from the back of a room at 1280 x 720.

Each page is opened, presenter mode is switched on with the sidebar toggle, and the smallest rendered font size
of the visible text in the main area is measured: DOM text through getComputedStyle, and the SVG ``text`` of
every plotly chart. Both must reach MIN_PX. The numbers go to artifacts/presenter_font_sizes.json; screenshots
(the first screen at 1280 x 720, and the whole page at the same width) go to artifacts/screenshots/ for a
person to look at. Without presenter mode the same page keeps Streamlit's usual sizes (checked on one page).
"""

from __future__ import annotations

import json

import pytest

from tests.browser.helpers import ARTIFACTS, RUN_TIMEOUT, keyed, screenshot, wait_for_app, wait_for_run
from ui import state
from ui.navigation import available_pages

pytestmark = pytest.mark.browser

MIN_PX = 18.0
VIEWPORT = {"width": 1280, "height": 720}
RESULTS = ARTIFACTS.parent / "presenter_font_sizes.json"

# Every text node in the main area that a person can see (a box, not hidden, not a stale or retained copy of the
# previous run, not an icon ligature nor a <style> block), with its rendered font size; SVG text inside plotly
# charts separately. Returns both lists sorted by size, smallest first.
MEASURE_JS = """
() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const shown = el => {
    if (el.closest('[data-stale="true"], [data-retained="true"], style, script, noscript')) return false;
    if (el.closest('[data-testid="stIconMaterial"], .material-symbols-rounded, [data-testid="stTooltipContent"]'))
      return false;
    if (getComputedStyle(el).fontFamily.includes('Material')) return false;  // an icon drawn from a ligature
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity || '1') > 0;
  };
  const dom = [], chart = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el || !shown(el)) continue;
    const inChart = el.closest('.js-plotly-plot');
    if (inChart && !(el instanceof SVGElement)) continue;  // plotly's HTML bits (modebar) are not chart text
    const owner = el.closest('[data-testid]');
    (inChart ? chart : dom).push({
      px: parseFloat(getComputedStyle(el).fontSize),
      text: text.slice(0, 40),
      tag: el.tagName.toLowerCase(),
      where: owner ? owner.getAttribute('data-testid') : '',
    });
  }
  dom.sort((a, b) => a.px - b.px);
  chart.sort((a, b) => a.px - b.px);
  // Tables painted on a canvas (st.dataframe) keep the theme's small type: presenter mode draws a table of up to
  // 40 rows as HTML instead (ui.charts.show_table); a canvas table still shown is listed with its row count.
  const canvasTables = [...main.querySelectorAll('[data-testid="stDataFrame"]')]
    .filter(el => shown(el))
    .map(el => parseInt((el.querySelector('[aria-rowcount]') || el).getAttribute('aria-rowcount') || '0', 10));
  return {dom, chart, charts: main.querySelectorAll('.js-plotly-plot').length, canvasTables};
}
"""


def _url_path(page_path: str) -> str:
    stem = page_path.rsplit("/", 1)[-1].removesuffix(".py")
    return "" if stem == "home" else stem


def _name(page_path: str) -> str:
    return _url_path(page_path) or "home"


# Presenter mode's style is on the page: the title is drawn at 3.2rem (51.2 px) instead of Streamlit's 2.75rem.
PRESENTER_STYLE_JS = """
() => {
  const h1 = document.querySelector('[data-testid="stMain"] h1');
  return !!h1 && parseFloat(getComputedStyle(h1).fontSize) > 50;
}
"""


def presenter_on(tab) -> None:
    """Switch the sidebar's presenter toggle on and wait until its style is applied and the run has ended.

    Waits for the style itself rather than for a counted rerun: on the session's first page the click can land
    while a run is still going on, which merges the two runs."""
    toggle = keyed(tab, state.PRESENTER).get_by_role("switch", name="Presenter mode")
    if not toggle.is_checked():
        toggle.check(force=True)  # the input sits under Streamlit's drawn switch
    tab.wait_for_function(PRESENTER_STYLE_JS, timeout=RUN_TIMEOUT, polling=200)
    wait_for_app(tab)


def whole_page(tab, name: str) -> None:
    """A screenshot of the whole main area at the same width (Streamlit scrolls inside the page, so the viewport is
    made as tall as the content for it), then back to 1280 x 720."""
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    tab.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 40, 7000)})
    tab.wait_for_timeout(500)  # plotly redraws charts on a resize
    screenshot(tab, f"{name}_whole")
    tab.set_viewport_size(VIEWPORT)


def _record(name: str, result: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    data[name] = {
        "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
        "charts": result["charts"],
        "min_dom_px": result["dom"][0]["px"] if result["dom"] else None,
        "min_chart_px": result["chart"][0]["px"] if result["chart"] else None,
        "smallest_dom": result["dom"][:3],
        "smallest_chart": result["chart"][:3],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, ensure_ascii=False))


@pytest.mark.parametrize("info", available_pages(), ids=lambda p: _name(p.path))
def test_presenter_mode_text_is_large_on_every_page(page, info):
    name = _name(info.path)
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{page.app_url}/{_url_path(info.path)}")
    wait_for_run(page)  # the first run may load the model
    presenter_on(page)
    if name == "generation":  # one step, so the timeline's charts are drawn too
        keyed(page, state.GEN_STEP_BUTTON).get_by_role("button", name="Step").click()
        wait_for_run(page)
    page.wait_for_timeout(500)  # plotly finishes laying out its text after the run has ended
    result = page.evaluate(MEASURE_JS)
    _record(name, result)
    screenshot_path = ARTIFACTS / f"presenter_{name}.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot_path))  # the first screen, as the room sees it
    whole_page(page, f"presenter_{name}")
    assert result["dom"], "no text measured"
    small_dom = [t for t in result["dom"] if t["px"] < MIN_PX]
    small_chart = [t for t in result["chart"] if t["px"] < MIN_PX]
    assert not small_dom, f"{info.title}: DOM text under {MIN_PX} px: {small_dom[:8]}"
    assert not small_chart, f"{info.title}: chart text under {MIN_PX} px: {small_chart[:8]}"
    small_tables = [rows for rows in result["canvasTables"] if rows <= 41]  # aria-rowcount counts the header
    assert not small_tables, f"{info.title}: tables drawn at the theme's small size: {small_tables}"
    assert not page.dialogs


def test_without_presenter_mode_text_keeps_its_usual_size(page):
    page.set_viewport_size(VIEWPORT)
    page.goto(page.app_url + "/temperature")  # its side-by-side panels are a plotly chart (the bars are the page's)
    wait_for_run(page)
    page.wait_for_function("() => window.__nteSampler && window.__nteSampler.draws > 0")
    page.wait_for_timeout(500)
    result = page.evaluate(MEASURE_JS)
    assert result["charts"] >= 1
    sampler = [d for d in result["dom"] if d["tag"] == "text"]  # the sampler's SVG text, at its usual size too
    assert sampler and min(d["px"] for d in sampler) < MIN_PX
    assert result["chart"][0]["px"] < MIN_PX  # tick labels at the theme's 12 px: scaling is presenter-only
    assert result["dom"][0]["px"] < MIN_PX

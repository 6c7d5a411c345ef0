"""Real browser: axe-core checks every page of the app and finds no serious or critical accessibility violation.

axe-core (npm, `make axe` puts it in .cache/axe) is injected into each page after Streamlit's script run has
finished; minor and moderate findings are printed, serious and critical ones fail the test. Violations that come
from Streamlit's own frame, which this app cannot change, are listed in FRAME_EXCEPTIONS with the reason; nothing
the app itself draws is excused.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import ROOT, screenshot, wait_for_run
from tests.needs import missing
from ui.navigation import available_pages

pytestmark = pytest.mark.browser

AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

# (axe rule id, CSS selector of the element in Streamlit's own frame, why it is not ours to fix). A node is excused
# only when it matches the selector *and* the violation is of that rule.
FRAME_EXCEPTIONS: list[tuple[str, str, str]] = []

# Runs axe on the document; returns every violation with, per node, its target, a snippet of its HTML, and whether
# it is one of the excused Streamlit-frame nodes.
RUN_AXE_JS = """
async (exceptions) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => {
      let el = null;
      try { el = document.querySelector(n.target[0]); } catch (e) { el = null; }
      const excused = !!el && exceptions.some(([rule, css]) => rule === v.id && el.matches(css));
      return {target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary, excused};
    }),
  }));
}
"""


def _url_path(page_path: str) -> str:
    """The URL of a page: '' for the default (home) page, else its file name (Streamlit's url_path)."""
    stem = page_path.rsplit("/", 1)[-1].removesuffix(".py")
    return "" if stem == "home" else stem


def need_axe() -> None:
    if AXE.is_file():
        return
    message = f"axe-core is missing ({AXE}): run `make axe` (needs npm)"
    missing("accessibility tests", message)


def audit(tab) -> tuple[list[dict], list[dict]]:
    """Inject axe-core into the current page, run it, return (blocking, other) violations (excused nodes dropped)."""
    tab.add_script_tag(path=str(AXE))
    blocking, other = [], []
    for v in tab.evaluate(RUN_AXE_JS, [[rule, css] for rule, css, _ in FRAME_EXCEPTIONS]):
        v["nodes"] = [n for n in v["nodes"] if not n["excused"]]
        if v["nodes"]:
            (blocking if v["impact"] in BLOCKING else other).append(v)
    return blocking, other


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
        for n in v["nodes"][:6]:
            lines.append(f"    {n['target']}\n        {n['html']}\n        {(n['summary'] or '').splitlines()[-1:]}")
    return "\n".join(lines)


@pytest.mark.parametrize("info", available_pages(), ids=lambda p: _url_path(p.path) or "home")
def test_page_has_no_serious_or_critical_axe_violation(page, info):
    need_axe()
    page.goto(f"{page.app_url}/{_url_path(info.path)}")
    wait_for_run(page)  # the first run may load the model
    blocking, other = audit(page)
    if other:
        print(f"\n{info.title}: minor / moderate findings\n{describe(other)}")
    if blocking:
        screenshot(page, f"axe_{_url_path(info.path) or 'home'}")
    assert not blocking, f"{info.title}: serious / critical accessibility violations\n{describe(blocking)}"

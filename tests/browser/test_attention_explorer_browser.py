"""Real browser: the attention explorer. Picking a head or a query token redraws the heatmap and the bars in the page,
equal to core's attention maps to the shown precision, with no script run on the server during the redraw; the
server hears the pick right after and the link follows. Prints change-to-painted times measured inside the page.
"""

from __future__ import annotations

import statistics
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from playwright.sync_api import expect

from components.attention_explorer import decode_cells
from core.attention import attention_maps, without_first_key
from core.models import load_model
from tests.browser.helpers import keyed, run_mark, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser
PROMPT = "The capital of France is"
DRAWN = "() => window.__nteAttention && window.__nteAttention.draws > 0"
BOUNDARY = 2e-5  # how near a rounding boundary a weight may be for the server's batched forward to land across it


@pytest.fixture(scope="module")
def maps():
    """The real model's attention maps of the default prompt, computed here, apart from the app."""
    return attention_maps(load_model(), PROMPT)


def explorer(tab):
    return keyed(tab, state.ATT_EXPLORER, ".nte-attention")


def shown(tab) -> dict:
    """What the explorer shows now: the two titles, the picks, each bar's texts, the heatmap table's cells."""
    return tab.evaluate(
        """key => {
          const root = document.querySelector('.st-key-' + key + ' .nte-attention');
          if (!root) return null;
          const text = (sel) => { const n = root.querySelector(sel); return n ? n.textContent : null; };
          const table = root.querySelector('details.heatmap-table');
          return {
            title: text('svg.nte-heatmap text.title'),
            barsTitle: root.querySelector('[data-testid="nte-attention-bars"]').hidden
              ? null : text('svg.nte-query-bars text.title'),
            head: root.dataset.head, query: root.dataset.query,
            bars: [...root.querySelectorAll('svg.nte-query-bars g.bar')].map(g => ({
              key: g.dataset.key, weight: g.dataset.weight, percent: g.querySelector('text.value').textContent})),
            xticks: [...root.querySelectorAll('svg.nte-heatmap text.xtick')].map(t => t.textContent),
            note: root.querySelector('p.info').hidden ? null : text('p.info'),
            cells: table.open ? [...table.querySelectorAll('tbody tr')].map(
              tr => [...tr.querySelectorAll('td')].map(td => td.textContent)) : null,
            canvases: root.querySelectorAll('canvas').length,
          };
        }""",
        state.ATT_EXPLORER.replace(".", "-"),
    )


def hover_text(w: float) -> str:
    return str(Decimal(float(w)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def near_boundary(w: float, scale: int) -> bool:
    """Whether ``w`` x scale is within BOUNDARY x scale of a .5: the last digit shown may then differ by float noise."""
    x = float(w) * scale
    return abs(x - np.floor(x) - 0.5) < BOUNDARY * scale


def check_cells(cells: list[list[str]], matrix: np.ndarray, offset: int) -> None:
    """The heatmap table's text equals core's (T, K) map formatted as the hover showed it (empty where masked)."""
    T = matrix.shape[0]
    assert len(cells) == T
    for q in range(T):
        for k, text in enumerate(cells[q]):
            if k + offset > q or not np.isfinite(matrix[q, k]):
                assert text == "", (q, k, text)
            elif not near_boundary(matrix[q, k], 1000):
                assert text == hover_text(matrix[q, k]), (q, k, text, float(matrix[q, k]))


def check_bars(bars: list[dict], row: np.ndarray, query: int, offset: int) -> None:
    """The bars are the keys offset..query, each with the hover weight and the percent the page showed."""
    assert [int(b["key"]) for b in bars] == list(range(offset, query + 1))
    for b, w in zip(bars, row[: query + 1 - offset]):
        if not near_boundary(w, 1000):
            assert b["weight"] == hover_text(w), (b, float(w))
        if not near_boundary(w, 100):
            assert b["percent"] == f"{float(w):.0%}", (b, float(w))


# What the page showed at the end of the change event (a listener on the explorer's root runs after the select's
# own), with the script runs started so far: the redraw happened inside the event, before any answer from the server.
SEEN_JS = """key => {
  const root = document.querySelector('.st-key-' + key + ' .nte-attention');
  window.__pickSeen = null;
  root.addEventListener('change', () => {
    window.__pickSeen = {runs: window.__nteRuns.started,
                         title: root.querySelector('svg.nte-heatmap text.title').textContent,
                         bars: root.querySelectorAll('svg.nte-query-bars g.bar').length};
  }, {once: true});
}"""


def pick(tab, which: str, value: str) -> dict:
    """Choose ``value`` in the explorer's native select (Head or Query token), as a click on an option does;
    returns what the page showed at the end of the change event."""
    tab.evaluate(SEEN_JS, state.ATT_EXPLORER.replace(".", "-"))
    explorer(tab).get_by_role("combobox", name=which, exact=True).select_option(label=value)
    return tab.evaluate("() => window.__pickSeen")


def open_table(tab) -> None:
    """Open the heatmap's text alternative (a new layer or sink view may have drawn the explorer anew, closed)."""
    table = explorer(tab).locator("details.heatmap-table")
    if table.get_attribute("open") is None:
        table.locator("summary").click()


def timings(tab) -> list[float]:
    return tab.evaluate("() => window.__nteAttention.timings.map(t => t.painted - t.input)")


def test_head_and_query_redraw_in_the_page_and_the_link_follows(page, maps):
    page.goto(page.app_url + "/attention")
    wait_for_run(page)  # the first run may load the model
    page.wait_for_function(DRAWN)
    sent = page.evaluate(
        "key => document.querySelector('.st-key-' + key + ' .nte-attention').explorerData",
        state.ATT_EXPLORER.replace(".", "-"),
    )
    thousandths, _ = decode_cells(sent)  # (H + 1, T, T) what the page holds, against core's own maps
    layer = maps.weights[0]  # (H, T, T)
    want = np.concatenate([layer, layer.mean(0, keepdims=True)])
    visible = ~np.isnan(thousandths)
    assert np.all(np.abs(thousandths[visible] / 1000 - want[visible]) <= 0.0005 + BOUNDARY)

    now = shown(page)
    assert now["title"] == "layer 1, head 0 (reads kv head 0)" and now["canvases"] == 1
    assert now["barsTitle"] == "Attention of 4 ␣is in layer 1, head 0 (reads kv head 0)"
    check_bars(now["bars"], want[0, 4], 4, 0)
    open_table(page)  # the text alternative: every weight, as a table
    check_cells(shown(page)["cells"], want[0], 0)

    # Head 5 picked: redrawn in the page before any script run, then the server hears it and the link follows.
    runs = run_mark(page)
    seen = pick(page, "Head", "head 5")
    assert seen == {"runs": runs, "title": "layer 1, head 5 (reads kv head 1)", "bars": 5}, seen
    now = shown(page)
    assert now["title"] == "layer 1, head 5 (reads kv head 1)" and now["head"] == "5"
    check_cells(now["cells"], want[5], 0)
    check_bars(now["bars"], want[5, 4], 4, 0)
    wait_for_run(page, since=runs)
    page.wait_for_function("() => new URLSearchParams(location.search).get('head') === '5'")
    assert shown(page)["title"] == "layer 1, head 5 (reads kv head 1)"  # the rerun kept the pick

    # A query token picked: the bars follow, in the page.
    runs = run_mark(page)
    seen = pick(page, "Query token", "2 ␣of")
    assert seen["runs"] == runs and seen["bars"] == 3, seen
    now = shown(page)
    assert now["barsTitle"] == "Attention of 2 ␣of in layer 1, head 5 (reads kv head 1)"
    check_bars(now["bars"], want[5, 2], 2, 0)
    wait_for_run(page, since=runs)
    page.wait_for_function("() => new URLSearchParams(location.search).get('query') === '2'")

    # The average over heads, by keyboard: Home on the focused select picks the first option.
    head_select = explorer(page).get_by_role("combobox", name="Head", exact=True)
    head_select.focus()
    head_select.press("Home")
    now = shown(page)
    assert now["title"] == "layer 1, average over heads" and now["head"] == "avg"
    check_cells(now["cells"], want[-1], 0)
    screenshot(page, "attention_explorer")
    wait_for_run(page)  # the pause after the last key: the server hears the average, and its rerun keeps it
    assert shown(page)["title"] == "layer 1, average over heads"

    # The sink hidden (a server switch: other maps are sent): columns from token 1, rows renormalised.
    runs = run_mark(page)
    page.get_by_text("Hide the first token and renormalise").click()
    wait_for_run(page, since=runs)
    page.wait_for_function(
        "key => document.querySelector('.st-key-' + key + ' .nte-attention').explorerData.offset === 1",
        arg=state.ATT_EXPLORER.replace(".", "-"),
    )
    open_table(page)
    now = shown(page)
    assert now["xticks"][0].startswith("1 ")
    check_cells(now["cells"], without_first_key(want[-1]), 1)
    pick(page, "Query token", "0 The")
    now = shown(page)
    assert now["note"] == "The first token can only look at itself; with it hidden there is nothing left to show."
    assert now["barsTitle"] is None
    pick(page, "Query token", "3 ␣France")
    check_bars(shown(page)["bars"], without_first_key(want[-1])[3], 3, 1)
    wait_for_run(page)
    assert not page.dialogs


def test_head_switches_by_keyboard_are_timed_in_the_page(page):
    """ArrowDown / ArrowUp on the focused Head select: each redraw timed from the change to the next painted frame."""
    page.goto(page.app_url + "/attention")
    wait_for_run(page)
    page.wait_for_function(DRAWN)
    head_select = explorer(page).get_by_role("combobox", name="Head", exact=True)
    head_select.focus()
    before = page.evaluate("() => window.__nteAttention.timings.length")
    for i in range(12):  # head 0 down to head 8, back up to head 4
        head_select.press("ArrowDown" if i < 8 else "ArrowUp")
        page.wait_for_function(f"() => window.__nteAttention.timings.length > {before + i}")
    expect(explorer(page).locator("svg.nte-heatmap text.title")).to_have_text("layer 1, head 4 (reads kv head 1)")
    values = sorted(timings(page)[before:])
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    print(
        f"\nhead switch in the page: {len(values)} picks: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms"
    )
    wait_for_run(page)
    page.wait_for_function("() => new URLSearchParams(location.search).get('head') === '4'")
    assert not page.dialogs

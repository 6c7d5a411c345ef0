"""Real browser, keyboard only: on the four main pages, Tab reaches the main controls from the top of the page and
keys operate them (a slider with arrow keys, a button with Enter or Space, a select with arrow keys and Enter, a
radio group and tabs with arrow keys, a text box typed into), and the page reacts. After the keys, axe-core checks
the page again, now with the content those controls produced.

No mouse action is used: focus moves only with Tab, and `tab_to` fails if Tab never lands in the control.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import SAMPLER_BARS, chart, keyed, live, run_mark, screenshot, wait_for_app, wait_for_run
from tests.browser.test_accessibility_browser import audit, describe, need_axe
from ui import state

pytestmark = pytest.mark.browser
MAX_TABS = 150  # the sidebar (navigation, model picker) comes first


def focused_in(scope) -> bool:
    """Whether keyboard focus is inside the element `scope` points at."""
    return scope.evaluate("el => el.contains(document.activeElement)")


def tab_to(tab, scope, what: str) -> int:
    """Press Tab until focus is inside `scope`; returns how many presses it took. Fails if it never gets there."""
    expect(scope).to_be_visible()
    for presses in range(1, MAX_TABS + 1):
        tab.keyboard.press("Tab")
        if focused_in(scope):
            return presses
    pytest.fail(f"{what}: Tab never reached it in {MAX_TABS} presses")


def start_at_top(tab) -> None:
    """Put the keyboard's starting point at the top of the document, as after a fresh page load."""
    tab.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    tab.keyboard.press("Home")


def settled_mark(tab) -> int:
    """Wait until no script run is in progress, then take a run mark (helpers.run_mark) to pass to wait_for_run.

    A key pressed while a run is still going only queues a rerun, which the run counter cannot tell apart from
    the run already under way."""
    wait_for_app(tab)
    return run_mark(tab)


def open_page(tab, path: str) -> None:
    tab.goto(f"{tab.app_url}/{path}")
    wait_for_run(tab)  # the first run may load the model


def no_serious_axe_violation(tab, name: str) -> None:
    blocking, other = audit(tab)
    if other:
        print(f"\n{name} after keyboard use: minor / moderate findings\n{describe(other)}")
    assert not blocking, f"{name} after keyboard use: serious / critical violations\n{describe(blocking)}"


def test_next_token_page_by_keyboard(page):
    need_axe()
    open_page(page, "next_token")
    sampler = keyed(page, state.NT_SAMPLER)  # the client-side sampler: its controls come first, temperature first
    bars = sampler.locator(SAMPLER_BARS)
    expect(bars).to_contain_text("all other tokens")
    before = bars.text_content()

    # Slider: Tab to the temperature slider, ArrowLeft lowers it; the bars are redrawn (in the page) for the new T.
    start_at_top(page)
    slider = sampler.get_by_role("slider", name="Temperature")
    tab_to(page, sampler, "temperature slider")
    expect(slider).to_be_focused()
    mark = settled_mark(page)
    for _ in range(10):  # 1.0 -> 0.5
        page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("0.5")
    expect(bars).not_to_have_text(before)
    wait_for_run(page, since=mark)  # a pause after the last key lets go: the server hears T = 0.5

    # Button: Tab on to "Sample a token", Enter draws one and appends it to the prompt.
    button = keyed(page, state.NT_SAMPLE, "button")
    tab_to(page, button, "sample button")
    mark = settled_mark(page)
    page.keyboard.press("Enter")
    wait_for_run(page, since=mark)
    expect(live(page, '[data-testid="stAlertContentSuccess"]')).to_contain_text("drew")

    # Radio group: Tab into "Where the logits come from", ArrowRight picks the toy logits; the toy boxes appear.
    start_at_top(page)
    radio = keyed(page, state.NT_MODE)
    tab_to(page, radio, "mode radio")
    mark = settled_mark(page)
    page.keyboard.press("ArrowRight")
    wait_for_run(page, since=mark)
    expect(keyed(page, state.NT_TOY_TOKENS, "input")).to_be_visible()
    screenshot(page, "keyboard_next_token")
    no_serious_axe_violation(page, "Next-token probabilities")
    assert not page.dialogs


def test_generation_page_by_keyboard(page):
    need_axe()
    open_page(page, "generation")
    chips = live(page, ".nte-generation .nte-chip")
    expect(chips).to_have_count(0)

    # Button with Space: Step generates one token.
    start_at_top(page)
    step = keyed(page, state.GEN_STEP_BUTTON, "button")
    tab_to(page, step, "Step button")
    mark = settled_mark(page)
    page.keyboard.press("Space")
    wait_for_run(page, since=mark)
    expect(chips).to_have_count(1)

    # Be the sampler with Enter: Tab to the first candidate's button; it becomes step 2, chosen by you.
    start_at_top(page)
    pick = keyed(page, f"{state.GEN_PICK_BUTTON}.0", "button")
    tab_to(page, pick, "first 'be the sampler' button")
    mark = settled_mark(page)
    page.keyboard.press("Enter")
    wait_for_run(page, since=mark)
    expect(chips).to_have_count(2)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("picked by you")

    # Slider: "Candidates to show" 10 -> 12 with ArrowRight; the candidate chart gets two more bars.
    bars = chart(page, "generation.bars")
    before = bars.inner_text()
    start_at_top(page)
    slider = keyed(page, state.GEN_TOP_N).get_by_role("slider")
    tab_to(page, slider, "candidates slider")
    mark = settled_mark(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(slider).to_have_value("12")
    wait_for_run(page, since=mark)
    expect(bars).not_to_have_text(before)
    screenshot(page, "keyboard_generation")
    no_serious_axe_violation(page, "Step-by-step generation")
    assert not page.dialogs


def test_attention_page_by_keyboard(page):
    need_axe()
    open_page(page, "attention")
    heatmap = keyed(page, state.ATT_EXPLORER, "svg.nte-heatmap text.title")  # the explorer's heatmap
    expect(heatmap).to_contain_text("layer 1")

    # Select: Tab to "Layer", ArrowDown opens the list on the next layer, Enter chooses it.
    start_at_top(page)
    layer = keyed(page, state.ATT_LAYER)
    tab_to(page, layer, "layer select")
    mark = settled_mark(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_for_run(page, since=mark)
    expect(layer.get_by_role("combobox")).to_have_value("layer 2")
    expect(heatmap).to_contain_text("layer 2, head 0")

    # Toggle with Space: "every head of the layer side by side" flips (on by default for a short prompt).
    grids = chart(page, "attention.grid").count()
    start_at_top(page)
    toggle = keyed(page, state.ATT_GRID)
    tab_to(page, toggle, "every-head toggle")
    mark = settled_mark(page)
    page.keyboard.press("Space")
    wait_for_run(page, since=mark)
    expect(chart(page, "attention.grid")).to_have_count(1 - grids)
    screenshot(page, "keyboard_attention")
    no_serious_axe_violation(page, "Attention")
    assert not page.dialogs


def test_perplexity_page_by_keyboard(page):
    need_axe()
    open_page(page, "perplexity")
    chips = live(page, ".nte-tokens:not(.nte-legend) .nte-chip")
    expect(chips.first).to_be_visible()

    # Text box: Tab in, select all, type a new text, Ctrl+Enter scores it; the chips show the new tokens.
    start_at_top(page)
    box = keyed(page, state.PPL_TEXT, "textarea")
    tab_to(page, box, "text to score")
    page.keyboard.press("Control+A")
    page.keyboard.type("Colourless green ideas sleep furiously.")
    mark = settled_mark(page)
    page.keyboard.press("Control+Enter")
    wait_for_run(page, since=mark)
    # a retried read: right after the run the old chips may still be on the page for a moment
    expect(live(page, ".nte-tokens:not(.nte-legend)").first).to_contain_text("furious")

    # Tabs: Tab to the selected tab, ArrowRight moves to "Teacher forcing" (and Enter opens it if arrows only
    # move focus); the tab's content is shown.
    start_at_top(page)
    tablist = page.locator('[data-testid="stMain"] [role="tablist"]').last
    tab_to(page, tablist, "perplexity tabs")
    mark = settled_mark(page)
    page.keyboard.press("ArrowRight")
    teacher = tablist.get_by_role("tab", name="Teacher forcing")
    if teacher.get_attribute("aria-selected") != "true":
        page.keyboard.press("Enter")
    expect(teacher).to_have_attribute("aria-selected", "true")
    wait_for_run(page, since=mark)
    screenshot(page, "keyboard_perplexity")
    no_serious_axe_violation(page, "Perplexity")
    assert not page.dialogs

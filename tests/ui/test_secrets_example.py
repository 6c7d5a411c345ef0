""".streamlit/secrets.toml.example lists every operator setting ui/settings.py reads from st.secrets, and nothing
else; the real secrets.toml is kept out of git."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

from ui.settings import Limits

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".streamlit" / "secrets.toml.example"


def settings_read_from_secrets() -> set[str]:
    """Every key ui/settings.py reads: the Limits fields and each name passed to _secret() or _setting()."""
    source = (ROOT / "ui" / "settings.py").read_text()
    named = set(re.findall(r'_(?:secret|setting)\("([a-z_]+)"', source))
    return named | {f.name for f in fields(Limits)}


def example_keys() -> set[str]:
    return set(re.findall(r"^#\s*([a-z_]+)\s*=", EXAMPLE.read_text(), flags=re.MULTILINE))


def test_the_example_lists_every_setting_and_nothing_else():
    assert example_keys() == settings_read_from_secrets()


def test_the_example_uncommented_is_valid_toml_with_the_documented_defaults():
    text = re.sub(r"^# ([a-z_]+ = )", r"\1", EXAMPLE.read_text(), flags=re.MULTILINE)
    values = tomllib.loads(text)
    assert {k: values[k] for k in (f.name for f in fields(Limits))} == {f.name: f.default for f in fields(Limits)}


def test_the_real_secrets_file_is_ignored_by_git():
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text().splitlines()

"""The remote server comes from the operator (environment or st.secrets), never from the page."""

from __future__ import annotations

import pytest

from ui.settings import RemoteSettings, remote_settings


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("NTE_REMOTE_BASE_URL", "NTE_REMOTE_MODEL", "NTE_REMOTE_TIMEOUT", "NTE_REMOTE_MAX_LOGPROBS"):
        monkeypatch.delenv(name, raising=False)


def test_both_url_and_model_are_needed(monkeypatch):
    assert remote_settings() is None
    monkeypatch.setenv("NTE_REMOTE_BASE_URL", "http://10.0.0.5:8000")
    assert remote_settings() is None
    monkeypatch.setenv("NTE_REMOTE_MODEL", " Qwen/Qwen2.5-7B-Instruct ")
    assert remote_settings() == RemoteSettings("http://10.0.0.5:8000", "Qwen/Qwen2.5-7B-Instruct", 20.0, 20)


def test_timeout_and_cap_fall_back_on_bad_values(monkeypatch):
    monkeypatch.setenv("NTE_REMOTE_BASE_URL", "http://h:1")
    monkeypatch.setenv("NTE_REMOTE_MODEL", "m")
    monkeypatch.setenv("NTE_REMOTE_TIMEOUT", "-3")
    monkeypatch.setenv("NTE_REMOTE_MAX_LOGPROBS", "lots")
    assert remote_settings() == RemoteSettings("http://h:1", "m", 20.0, 20)
    monkeypatch.setenv("NTE_REMOTE_TIMEOUT", "7.5")
    monkeypatch.setenv("NTE_REMOTE_MAX_LOGPROBS", "5")
    assert remote_settings() == RemoteSettings("http://h:1", "m", 7.5, 5)

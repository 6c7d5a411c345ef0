"""Operator limits: defaults, environment and st.secrets overrides, bad values, and the model cache's size."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import fields, replace

import pytest

from core.models import DEFAULT_MAX_PARAMS
from core.perplexity import MAX_TEXT_CHARS
from tests.app.helpers import ROOT
from ui import settings
from ui.settings import Limits, limits, max_model_params, raise_hint

ENV = {
    "max_new_tokens": "NTE_MAX_NEW_TOKENS",
    "max_link_steps": "NTE_MAX_LINK_STEPS",
    "max_perplexity_chars": "NTE_MAX_PERPLEXITY_CHARS",
    "max_params": "NTE_MAX_PARAMS",
    "max_cached_models": "NTE_MAX_CACHED_MODELS",
    "memo_session_mb": "NTE_MEMO_SESSION_MB",
    "memo_total_mb": "NTE_MEMO_TOTAL_MB",
    "shared_cache_mb": "NTE_SHARED_CACHE_MB",
    "shared_steps_mb": "NTE_SHARED_STEPS_MB",
    "poll_students_per_client": "NTE_POLL_STUDENTS_PER_CLIENT",
    "poll_wrong_codes_per_minute": "NTE_POLL_WRONG_CODES_PER_MINUTE",
    "max_perplexity_tokens": "NTE_MAX_PERPLEXITY_TOKENS",
    "max_replay_tokens": "NTE_MAX_REPLAY_TOKENS",
}


READ_SECRETS = settings._operator_secrets  # the real reader (the fixture below replaces it for most tests)


@pytest.fixture(autouse=True)
def no_operator_settings(monkeypatch):
    for name in ENV.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "_operator_secrets", dict)
    settings._warn.cache_clear()


def test_defaults_fit_a_shared_small_server():
    got = limits()
    assert got == Limits(
        max_new_tokens=256,
        max_link_steps=64,
        max_perplexity_chars=4_000,
        max_params=200_000_000,
        max_cached_models=1,
        memo_session_mb=48,
        memo_total_mb=320,
        shared_cache_mb=160,
        shared_steps_mb=64,
        poll_students_per_client=60,
        poll_wrong_codes_per_minute=20,
        max_perplexity_tokens=2_048,
        max_replay_tokens=1_024,
    )
    assert got.max_params == DEFAULT_MAX_PARAMS and got.max_perplexity_chars == MAX_TEXT_CHARS
    assert max_model_params() == 200_000_000
    # 200 M float32 parameters are 0.8 GB: with the ~0.5 GB bundled model and the runtime, within 2.5 GB
    assert got.max_params * 4 <= 0.8e9
    assert {f.name for f in fields(Limits)} == set(ENV)


def test_environment_overrides_every_limit(monkeypatch):
    values = {
        "max_new_tokens": "1000",
        "max_link_steps": "500",
        "max_perplexity_chars": "20000",
        "max_params": "1.5e9",
        "max_cached_models": "3",
        "memo_session_mb": "64",
        "memo_total_mb": "900",
        "shared_cache_mb": "300",
        "shared_steps_mb": "128",
        "max_perplexity_tokens": "100000",
        "max_replay_tokens": "5000",
    }
    for name, value in values.items():
        monkeypatch.setenv(ENV[name], value)
    assert limits() == replace(
        Limits(1000, 500, 20_000, 1_500_000_000, 3, 64, 900, 300),
        shared_steps_mb=128,
        max_perplexity_tokens=100_000,
        max_replay_tokens=5_000,
    )
    assert max_model_params() == 1_500_000_000


def test_secrets_apply_when_no_environment_variable_and_the_environment_wins(monkeypatch):
    secrets = {"max_new_tokens": 512, "max_link_steps": "128", "max_params": "500_000_000"}
    monkeypatch.setattr(settings, "_operator_secrets", lambda: secrets)
    got = limits()
    assert (got.max_new_tokens, got.max_link_steps, got.max_params) == (512, 128, 500_000_000)
    assert got.max_perplexity_chars == MAX_TEXT_CHARS  # not set anywhere: the default
    monkeypatch.setenv("NTE_MAX_NEW_TOKENS", "32")
    assert limits().max_new_tokens == 32


@pytest.mark.parametrize("bad", ["lots", "0", "-5", "2.5", "inf", "nan", "1e400", "0x10"])
def test_bad_values_fall_back_to_the_default_with_a_log_warning(monkeypatch, caplog, bad):
    monkeypatch.setenv("NTE_MAX_LINK_STEPS", bad)
    monkeypatch.setenv("NTE_MAX_PERPLEXITY_CHARS", bad)
    with caplog.at_level(logging.WARNING, logger="ui.settings"):
        got = limits()
    assert got.max_link_steps == 64 and got.max_perplexity_chars == MAX_TEXT_CHARS
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("NTE_MAX_LINK_STEPS" in w and repr(bad) in w for w in warnings), warnings
    assert any("NTE_MAX_PERPLEXITY_CHARS" in w for w in warnings), warnings


def test_a_bad_secret_falls_back_too(monkeypatch):
    monkeypatch.setattr(settings, "_operator_secrets", lambda: {"max_cached_models": True, "max_new_tokens": "many"})
    got = limits()
    assert got.max_cached_models == 1 and got.max_new_tokens == 256


class CountingSecrets:
    """A stand-in for st.secrets that counts every use (parsing Streamlit's secrets costs a run time)."""

    def __init__(self):
        self.uses = 0

    def __getattr__(self, name):
        self.uses += 1
        raise FileNotFoundError("no secrets file")

    def __getitem__(self, name):
        self.uses += 1
        raise FileNotFoundError("no secrets file")


@pytest.fixture
def secrets_files(monkeypatch, tmp_path):
    """The real secrets reader over two candidate files in tmp_path (only the second may exist)."""
    monkeypatch.setattr(settings, "_operator_secrets", READ_SECRETS)
    paths = (str(tmp_path / "home_secrets.toml"), str(tmp_path / "app_secrets.toml"))
    monkeypatch.setattr(settings, "_secret_paths", lambda: paths)
    settings._parsed_secrets.cache_clear()
    yield tmp_path / "app_secrets.toml"
    settings._parsed_secrets.cache_clear()


def test_without_a_secrets_file_streamlit_secrets_are_never_parsed_again(secrets_files, monkeypatch):
    fake = CountingSecrets()
    monkeypatch.setattr(settings.st, "secrets", fake)
    for _ in range(3):
        assert limits() == Limits()
        assert settings.redis_url() is None and settings.public_url() is None
    assert fake.uses == 0


def test_the_secrets_file_is_parsed_once_and_again_when_it_changes(secrets_files, monkeypatch):
    parses = []
    load = settings.tomllib.load
    monkeypatch.setattr(settings.tomllib, "load", lambda handle: parses.append(1) or load(handle))
    secrets_files.write_text('max_new_tokens = 512\nredis_url = "redis://localhost:6379/0"\n')
    for _ in range(3):
        assert limits().max_new_tokens == 512 and settings.redis_url() == "redis://localhost:6379/0"
    assert len(parses) == 1
    secrets_files.write_text("max_new_tokens = 128\n")
    stamp = secrets_files.stat().st_mtime_ns + 10**9  # a later modification time even on a coarse clock
    os.utime(secrets_files, ns=(stamp, stamp))
    assert limits().max_new_tokens == 128 and settings.redis_url() is None
    assert len(parses) == 2
    secrets_files.write_text("max_new_tokens = [broken\n")
    os.utime(secrets_files, ns=(stamp + 10**9, stamp + 10**9))
    assert limits().max_new_tokens == 256  # an unreadable file is ignored (and logged), never a crash


def test_raise_hint_names_the_variable_and_the_secret():
    hint = raise_hint("max_perplexity_chars")
    assert "NTE_MAX_PERPLEXITY_CHARS" in hint and "max_perplexity_chars" in hint


CACHE_PROBE = """
import json, warnings
warnings.simplefilter("ignore")
import ui.model_cache as mc
calls = []
mc.load_model = lambda name, **kw: calls.append(name) or name  # a stand-in: no model is loaded
for name in ("a", "b", "a", "b", "a"):
    mc.cached_model(name, False, 1)
print(json.dumps({"max_entries": mc.MAX_CACHED_MODELS, "loads": len(calls)}))
"""


def _probe_cache(env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV.values()}
    if env_value is not None:
        env["NTE_MAX_CACHED_MODELS"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", CACHE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # make test only: a fresh Python process per value
def test_model_cache_entries_come_from_the_limit_read_at_import():
    # A fresh process per value: st.cache_resource fixes max_entries when ui.model_cache is imported.
    assert _probe_cache(None) == {"max_entries": 1, "loads": 5}  # the class default: each call evicts the other
    assert _probe_cache("2") == {"max_entries": 2, "loads": 2}  # a and b both stay cached
    assert _probe_cache("none") == {"max_entries": 1, "loads": 5}  # a bad value: the default

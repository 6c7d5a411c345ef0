"""A server started with an API key (llama.cpp's server with --api_key; vLLM and SGLang --api-key and hosted
endpoints work alike): the operator's key (NTE_REMOTE_API_KEY / remote_api_key) is sent as a bearer token, a wrong
or missing key gives one plain sentence, and the key itself is never shown: not in a message, a repr or the log."""

from __future__ import annotations

import logging

import pytest

from core.serving.remote_backend import RemoteBackend, RemoteError
from tests.remote.conftest import start
from ui.settings import remote_settings

KEY = "nte-test-key-7f3a9c"
WRONG = "nte-wrong-key-1b2d"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("llama-key"), "--api_key", KEY)
    yield server
    server.stop()


def test_the_right_key_gets_the_next_token_distribution(keyed_server):
    top = RemoteBackend(keyed_server.url, keyed_server.model, api_key=KEY).next_token("The capital of France is", 5)
    assert len(top.tokens) == 5 and "Paris" in "".join(t.token for t in top.tokens)


@pytest.mark.parametrize("key", [WRONG, None])
def test_a_wrong_or_missing_key_is_one_plain_sentence_without_the_key(keyed_server, key, caplog):
    backend = RemoteBackend(keyed_server.url, keyed_server.model, api_key=key, retries=0)
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteError) as info:
        backend.next_token("The capital of France is", 5)
    message = str(info.value)
    assert "HTTP 401" in message and "NTE_REMOTE_API_KEY" in message
    assert ("refused this app's API key" if key else "needs an API key") in message
    for secret in (KEY, WRONG):
        assert secret not in message and secret not in caplog.text and secret not in repr(backend)


def test_the_operators_key_comes_from_the_environment_and_stays_out_of_reprs(keyed_server, monkeypatch):
    monkeypatch.setenv("NTE_REMOTE_BASE_URL", keyed_server.url)
    monkeypatch.setenv("NTE_REMOTE_MODEL", keyed_server.model)
    monkeypatch.setenv("NTE_REMOTE_API_KEY", KEY)
    settings = remote_settings()
    assert settings.api_key == KEY and KEY not in repr(settings)
    from ui.backend import remote_backend

    assert remote_backend().next_token("The capital of France is", 3).tokens

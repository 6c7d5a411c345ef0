"""Start and stop llama-cpp-python's OpenAI-compatible server (``llama_cpp.server``) on loopback, for
tests/remote and benchmarks/bench_remote.py.

The server lives in its own virtualenv (the app never imports llama_cpp): NTE_LLAMA_PYTHON names its Python,
default ``.cache/llama-venv/bin/python`` (``make llama`` builds it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_ALIAS = "smollm2"
SERVE = Path(__file__).resolve().parent / "llama_serve.py"
START_TIMEOUT = 180.0


class LlamaServerError(RuntimeError):
    """The server is not installed, or did not start (the message carries the end of its log)."""


def llama_python() -> Path:
    """The Python of the llama.cpp server's virtualenv (NTE_LLAMA_PYTHON, default .cache/llama-venv/bin/python)."""
    return Path(os.environ.get("NTE_LLAMA_PYTHON") or ROOT / ".cache/llama-venv/bin/python")


def llama_installed() -> str | None:
    """None when ``llama_cpp.server`` imports under llama_python(), else a sentence saying what is missing."""
    python = llama_python()
    message = (
        f"llama-cpp-python[server] is not installed for {python} (run `make llama`, or set NTE_LLAMA_PYTHON to a "
        "Python that has it)"
    )
    if not python.exists():
        return message
    probe = subprocess.run([str(python), "-c", "import llama_cpp.server"], capture_output=True, timeout=120)
    return None if probe.returncode == 0 else message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    url: str
    model: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Terminate the server (kill it after 30 s) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_llama_server(gguf: Path, log_dir: Path, *extra: str, threads: int = 1, n_ctx: int = 2048) -> LlamaServer:
    """Start ``llama_cpp.server`` with ``gguf`` on a free loopback port and wait until ``/v1/models`` answers.

    ``--logits_all true`` (its default): llama-cpp-python 0.3 returns no log-probabilities at all without it.

    Raises:
        LlamaServerError: not installed, exited, or no answer within START_TIMEOUT.
    """
    if why := llama_installed():
        raise LlamaServerError(why)
    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    command = [
        str(llama_python()), str(SERVE),  # llama_cpp.server with the extra CPU buffer types off (see llama_serve.py)
        "--model", str(gguf),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        "--logits_all", "true",
        *extra,
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=log_dir)
    server = LlamaServer(f"http://127.0.0.1:{port}", MODEL_ALIAS, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LlamaServerError(f"llama_cpp.server exited ({process.returncode}):\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/v1/models", timeout=2) as response:
                json.load(response)
            return server
        except urllib.error.HTTPError as error:  # it answers: a server started with --api_key says 401 to no key
            if error.code in (401, 403):
                return server
            time.sleep(0.5)
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise LlamaServerError(f"llama_cpp.server did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}")

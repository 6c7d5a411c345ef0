"""The model on llama.cpp's server (llama-cpp-python, the bundled Q4_1 GGUF) against the local stepper (float32).

Both on one thread (server ``--n_threads 1``, torch 1 thread), measured alternately in this run: greedy decode
tokens/s over HTTP vs the Stepper, next-token latency (top 20) vs one local forward pass, and 8 sessions
generating at once: 8 concurrent HTTP requests to the server vs 8 Steppers sharing the app's InferenceService
(one worker, as the app serves a class). Skipped with a row when llama-cpp-python is not installed (`make llama`).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch

from benchmarks.common import Row, alternate
from benchmarks.llama_server import LlamaServerError, llama_installed, start_llama_server
from core.generation import Stepper
from core.models import bundled_gguf_path, load_model
from core.serving.backend import LocalBackend
from core.serving.inference import InferenceService
from core.serving.remote_backend import RemoteBackend

PROMPT = "The package left the regional hub this morning, and the carrier scan says the parcel was"
DECODE_TOKENS = 64
SESSIONS = 8
SESSION_TOKENS = 32


def _concurrently(work, n: int) -> float:
    """Wall seconds for ``n`` threads each running ``work(i)`` (all started together)."""
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as error:  # reported below, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def run() -> list[Row]:
    if why := llama_installed():
        return [Row("llama.cpp server benchmark", float("nan"), "", "report", None, f"skipped: {why}")]
    gguf = bundled_gguf_path()
    if gguf is None:
        return [Row("llama.cpp server benchmark", float("nan"), "", "report", None, "skipped: no bundled GGUF")]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as log_dir:
        try:
            server = start_llama_server(gguf, Path(log_dir), threads=1)
        except LlamaServerError as error:
            return [Row("llama.cpp server did not start", float("nan"), "", "runs", False, str(error)[:200])]
        try:
            return _measure(RemoteBackend(server.url, server.model, timeout=300, retries=0))
        finally:
            server.stop()
            torch.set_num_threads(threads)


def _measure(remote: RemoteBackend) -> list[Row]:
    lm = load_model()
    local = LocalBackend(lm)

    def server_decode() -> None:
        assert len(remote.generate(PROMPT, DECODE_TOKENS, temperature=0.0, top_n=1).tokens) == DECODE_TOKENS

    def local_decode() -> None:
        stepper = Stepper(lm, PROMPT, temperature=0.0, max_new_tokens=DECODE_TOKENS)
        stepper.eos_ids = frozenset()
        stepper.run(DECODE_TOKENS)

    server_s, local_s = alternate(server_decode, local_decode, rounds=3)
    server_next, local_next = alternate(lambda: remote.next_token(PROMPT, 20), lambda: local.next_token(PROMPT, 20))

    def server_session(i: int) -> None:
        remote.generate(f"{PROMPT} (session {i})", SESSION_TOKENS, temperature=0.0, top_n=1)

    service = InferenceService(lm).start()

    def local_session(i: int) -> None:
        stepper = Stepper(
            lm,
            f"{PROMPT} (session {i})",
            temperature=0.0,
            max_new_tokens=SESSION_TOKENS,
            runner=service.runner(f"s{i}"),
        )
        stepper.eos_ids = frozenset()
        stepper.run(SESSION_TOKENS)

    try:
        server_many = statistics.median(_concurrently(server_session, SESSIONS) for _ in range(2))
        local_many = statistics.median(_concurrently(local_session, SESSIONS) for _ in range(2))
    finally:
        service.close()
    total = SESSIONS * SESSION_TOKENS
    return [
        Row(
            f"server decode tok/s / local stepper tok/s (greedy, {DECODE_TOKENS} tokens)",
            local_s / server_s,
            "x",
            "report",
            None,
            f"server {DECODE_TOKENS / server_s:.1f} tok/s (Q4_1, HTTP), local {DECODE_TOKENS / local_s:.1f} tok/s; "
            "1 thread each",
        ),
        Row(
            "server next-token latency / local (top 20)",
            server_next / local_next,
            "x",
            "report",
            None,
            f"server {server_next * 1000:.0f} ms, local {local_next * 1000:.0f} ms",
        ),
        Row(
            f"{SESSIONS} sessions at once: server tok/s / local tok/s",
            local_many / server_many,
            "x",
            "report",
            None,
            f"server {total / server_many:.1f} tok/s, local (one InferenceService) {total / local_many:.1f} tok/s; "
            f"{SESSIONS} x {SESSION_TOKENS} tokens",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

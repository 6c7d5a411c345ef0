"""RemoteBackend's error paths against a tiny stand-in HTTP server (only for failures a real server will not
produce on demand: 5xx, broken JSON, a hang); the real answers are tested against llama.cpp in test_llama_server.py."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.serving.backend import Unsupported
from core.serving.remote_backend import RemoteBackend, RemoteError, RemoteUnavailable

COMPLETION = {
    "choices": [
        {
            "text": " and",
            "finish_reason": "length",
            "logprobs": {
                "tokens": [" and"],
                "token_logprobs": [-0.5],
                "top_logprobs": [{" and": -0.5, " then": -1.5, ",": -2.5}],
            },
        }
    ]
}


class FakeServer:
    """Answers each request with the next scripted (status, body, delay); records the requests."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                owner.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                status, body, delay = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                time.sleep(delay)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (timeout test)
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    servers = []

    def start(*script):
        servers.append(FakeServer(script))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def backend(url, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    return RemoteBackend(url, "smollm2", **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_good_answer_becomes_the_top_n_and_an_unreported_rest(fake):
    server = fake((200, COMPLETION, 0))
    top = backend(server.url).next_token("The parcel left", 3)
    assert [t.token for t in top.tokens] == [" and", " then", ","]
    assert not top.exact_rest
    assert top.rest_mass == pytest.approx(1 - sum(math.exp(-x) for x in (0.5, 1.5, 2.5)))
    sent = server.requests[0]
    assert sent["path"] == "/v1/completions"
    assert sent["body"]["logprobs"] == 3 and sent["body"]["model"] == "smollm2" and sent["body"]["max_tokens"] == 1
    assert sent["body"]["temperature"] == 0 and sent["body"]["repeat_penalty"] == 1.0 and sent["body"]["min_p"] == 0


def test_top_n_is_capped_at_the_servers_maximum(fake):
    server = fake((200, COMPLETION, 0))
    backend(server.url, max_top_n=5).next_token("x", 50)
    assert server.requests[0]["body"]["logprobs"] == 5


def test_connection_refused_is_unavailable_after_the_retries():
    started = time.perf_counter()
    with pytest.raises(RemoteUnavailable, match="cannot be reached.*may be down"):
        backend(f"http://127.0.0.1:{free_port()}", retries=2, timeout=30).next_token("x", 3)
    assert time.perf_counter() - started < 30  # refused at once: no wait for the timeout


def test_5xx_is_retried_then_reported(fake):
    server = fake((500, {"error": {"message": "out of memory"}}, 0))
    with pytest.raises(RemoteError, match=r"HTTP 500\): out of memory.*try again"):
        backend(server.url, retries=2).next_token("x", 3)
    assert len(server.requests) == 3  # one try and two retries


def test_a_503_then_an_answer_succeeds(fake):
    server = fake((503, {"detail": "loading"}, 0), (200, COMPLETION, 0))
    top = backend(server.url, retries=1).next_token("x", 3)
    assert len(server.requests) == 2 and top.tokens[0].token == " and"


def test_a_bad_model_name_says_so(fake):
    server = fake((404, {"error": {"message": "The model `nope` does not exist."}}, 0))
    with pytest.raises(RemoteError, match="does not serve 'smollm2'.*NTE_REMOTE_MODEL") as info:
        backend(server.url).next_token("x", 3)
    assert not isinstance(info.value, RemoteUnavailable) and len(server.requests) == 1  # 4xx: not retried


def test_check_compares_the_model_list(fake):
    server = fake((200, {"data": [{"id": "other-model"}]}, 0))
    with pytest.raises(RemoteError, match="serves 'other-model', not 'smollm2'"):
        backend(server.url).check()
    assert server.requests[0]["path"] == "/v1/models"


def test_a_slow_server_times_out_without_retrying(fake):
    server = fake((200, COMPLETION, 3.0))
    started = time.perf_counter()
    with pytest.raises(RemoteUnavailable, match="did not answer within 0.5 s"):
        backend(server.url, timeout=0.5, retries=3).next_token("x", 3)
    assert time.perf_counter() - started < 3.0  # gave up before the server answered
    assert len(server.requests) == 1  # a slow server is not asked again


def test_malformed_json_and_missing_logprobs_are_clear_errors(fake):
    server = fake((200, b"<html>proxy error</html>", 0))
    with pytest.raises(RemoteError, match="not JSON"):
        backend(server.url).next_token("x", 3)
    server = fake((200, {"choices": []}, 0))
    with pytest.raises(RemoteError, match="without choices"):
        backend(server.url).next_token("x", 3)
    server = fake((200, {"choices": [{"text": "a", "logprobs": None}]}, 0))
    with pytest.raises(Unsupported, match="no log-probabilities"):
        backend(server.url).next_token("x", 3)


def test_a_server_without_prompt_logprobs_is_unsupported(fake):
    server = fake((400, {"error": {"message": "Only no echo is supported"}}, 0))  # llama.cpp's llama-server
    with pytest.raises(Unsupported, match="no log-probabilities for the prompt's own tokens.*no echo"):
        backend(server.url).prompt_logprobs("The parcel left the warehouse")
    assert server.requests[0]["body"]["echo"] is True


def test_bad_settings_are_rejected_before_any_request():
    with pytest.raises(RemoteError, match="not an http"):
        RemoteBackend("ftp://example", "m")
    with pytest.raises(RemoteError, match="No model name"):
        RemoteBackend("http://127.0.0.1:1", " ")
    assert RemoteBackend("http://127.0.0.1:1/v1/", "m").base_url == "http://127.0.0.1:1/v1"


def test_the_api_key_goes_only_in_the_authorization_header(fake):
    server = fake((200, COMPLETION, 0))
    backend(server.url, api_key=" sk-class-42 ").next_token("x", 3)
    backend(server.url).next_token("x", 3)
    assert [r["auth"] for r in server.requests] == ["Bearer sk-class-42", None]
    assert "sk-class-42" not in json.dumps([r["body"] for r in server.requests])


def test_a_refused_key_is_not_retried_and_the_servers_text_is_left_out(fake):
    server = fake((401, {"error": {"message": "Invalid API key sk-wrong"}}, 0))
    with pytest.raises(RemoteError, match=r"refused this app's API key \(HTTP 401\).*NTE_REMOTE_API_KEY") as info:
        backend(server.url, api_key="sk-wrong", retries=2).next_token("x", 3)
    assert "sk-wrong" not in str(info.value) and len(server.requests) == 1

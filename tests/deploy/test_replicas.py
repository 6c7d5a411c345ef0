"""The example deployment for a bigger class, for real: two `streamlit run app.py` replicas behind Debian's nginx
with deploy/nginx.conf.template. A browser keeps to one replica by its nte_route cookie, fresh browsers
spread over both, and everything of one session (the websocket, a reconnect, an upload) reaches the process that
holds it. Without nginx the tests skip loudly, except where NTE_REQUIRE_BROWSER=1 (CI), where they fail."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.streamlit_client import run_coroutine
from deploy.replicas import (
    ROUTE_COOKIE,
    UPSTREAM_HEADER,
    free_port,
    nginx_binary,
    render_config,
    start_nginx,
    start_replica,
    stop,
    wait_healthy,
)
from tests.deploy.helpers import Browser, open_stream, run_script
from tests.needs import missing

ROUTE_KEY = re.compile(r"[0-9a-f]{32}")
UPLOAD_BYTES = 2 * 1024 * 1024  # over nginx's default 1 MB body limit, under the app's 5 MB maxUploadSize


@dataclass
class Deployment:
    url: str  # nginx
    replicas: dict[str, int]  # "127.0.0.1:PORT" as nginx's X-Upstream names it -> port
    run_dir: Path


@pytest.fixture(scope="module")
def nginx() -> str:
    path = nginx_binary()
    if path is None:
        message = "nginx is not installed: the replicas test needs Debian's nginx (make nginx, apt-get install nginx)"
        missing("the replicas tests", message)
    return path


@pytest.fixture(scope="module")
def deployment(nginx):
    """Two replicas on free localhost ports and nginx in front, from the example template; all stopped after."""
    run_dir = Path(tempfile.mkdtemp(prefix="nte-replicas-"))
    ports = [free_port()]
    while len(ports) < 2:
        port = free_port()
        ports += [port] if port not in ports else []
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    procs = []
    try:
        procs += [start_replica(port, run_dir, env) for port in ports]
        listen = free_port()
        try:
            for port, proc in zip(ports, procs):
                wait_healthy(f"http://127.0.0.1:{port}", proc)
            procs.append(start_nginx(render_config(f"127.0.0.1:{listen}", ports, run_dir), run_dir, nginx))
            wait_healthy(f"http://127.0.0.1:{listen}", procs[-1])
        except RuntimeError as error:
            pytest.fail(f"{error} (logs in {run_dir})")
        yield Deployment(f"http://127.0.0.1:{listen}", {f"127.0.0.1:{port}": port for port in ports}, run_dir)
    finally:
        stop(procs)
        shutil.rmtree(run_dir, ignore_errors=True)


def test_the_page_comes_through_nginx_with_a_route_cookie(deployment):
    browser = Browser(deployment.url)
    reply = browser.request("/")
    assert reply.status == 200
    assert b'<div id="root">' in reply.body and b"<script" in reply.body  # Streamlit's frontend page
    assert ROUTE_KEY.fullmatch(browser.cookies.get(ROUTE_COOKIE, "")), reply.headers.get_all("Set-Cookie")
    set_cookie = next(c for c in reply.headers.get_all("Set-Cookie") if c.startswith(ROUTE_COOKIE + "="))
    assert "HttpOnly" in set_cookie and "Path=/" in set_cookie
    assert reply.upstream in deployment.replicas


def test_one_browser_stays_on_one_replica(deployment):
    """Five requests of one cookie jar, the websocket upgrade among them, reach the same replica."""
    browser = Browser(deployment.url)
    upstreams = [browser.request(path).upstream for path in ("/", "/_stcore/health", "/_stcore/host-config")]
    route = browser.cookies[ROUTE_COOKIE]

    async def upgrade() -> str | None:
        ws = await open_stream(browser)
        try:
            return ws.response.headers.get(UPSTREAM_HEADER)
        finally:
            await ws.close()

    upstreams.append(run_coroutine(upgrade()))
    upstreams.append(browser.request("/").upstream)
    assert len(upstreams) == 5 and set(upstreams) <= set(deployment.replicas)
    assert len(set(upstreams)) == 1, upstreams
    assert browser.cookies[ROUTE_COOKIE] == route  # the key is kept, not reissued


def test_fresh_browsers_spread_over_both_replicas(deployment):
    """20 students arriving with empty cookie jars (one school NAT address) get 20 keys and use both replicas."""
    browsers = [Browser(deployment.url) for _ in range(20)]
    upstreams = [b.request("/").upstream for b in browsers]
    keys = {b.cookies[ROUTE_COOKIE] for b in browsers}
    assert len(keys) == 20 and all(ROUTE_KEY.fullmatch(k) for k in keys)
    assert set(upstreams) == set(deployment.replicas), upstreams


def test_the_websocket_is_accepted_under_the_schools_host_name(deployment):
    """Streamlit accepts a websocket whose Origin matches its Host header (or is a local address): nginx must pass
    the browser's Host on with its port, or students reaching the server by name would never connect."""
    browser = Browser(deployment.url)
    browser.request("/_stcore/health")

    async def upgrade() -> int:
        ws = await open_stream(browser, host="nte.school.example")
        try:
            return ws.response.status_code
        finally:
            await ws.close()

    assert run_coroutine(upgrade()) == 101


def test_a_malformed_route_cookie_is_replaced_never_echoed(deployment):
    browser = Browser(deployment.url)
    browser.cookies[ROUTE_COOKIE] = "not-ours"
    reply = browser.request("/")
    assert reply.status == 200
    assert ROUTE_KEY.fullmatch(browser.cookies[ROUTE_COOKIE])
    assert "not-ours" not in " ".join(reply.headers.get_all("Set-Cookie"))


def _upload_form(payload: bytes) -> tuple[bytes, str]:
    """A multipart body with one file, as st.file_uploader's frontend PUTs it."""
    boundary = "nte-replicas-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="uploadedFile"; filename="notes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_session_runs_reconnects_and_uploads_on_its_own_replica(deployment):
    """A websocket through nginx gets a real session and script run; a reconnect with the same cookie resumes the
    same session; an upload for that session reaches it through nginx, while the other replica refuses it (what
    happens without sticky sessions)."""
    browser = Browser(deployment.url)
    assert browser.request("/_stcore/health").status == 200  # the frontend's first call: sets the XSRF cookie
    body, content_type = _upload_form(b"x" * UPLOAD_BYTES)

    async def lesson():
        ws = await open_stream(browser)
        try:
            first = await run_script(ws, browser)
        finally:
            await ws.close()
        ws = await open_stream(browser, resume_session=first.session_id)
        try:
            again = await run_script(ws, browser, first.query_string)
            headers = {"Content-Type": content_type, "X-Xsrftoken": browser.cookies["_streamlit_xsrf"]}
            path = f"/_stcore/upload_file/{first.session_id}/notes"
            upload = await asyncio.to_thread(browser.request, path, "PUT", body, headers)
            other_port = next(p for a, p in deployment.replicas.items() if a != first.upstream)
            elsewhere = Browser(f"http://127.0.0.1:{other_port}")
            elsewhere.cookies = dict(browser.cookies)
            # a small body: that replica refuses before reading it (a big one would race the close: broken pipe)
            small, small_type = _upload_form(b"x")
            small_headers = dict(headers, **{"Content-Type": small_type})
            refused = await asyncio.to_thread(elsewhere.request, path, "PUT", small, small_headers)
        finally:
            await ws.close()
        return first, again, upload, refused

    first, again, upload, refused = run_coroutine(lesson())

    assert first.upstream in deployment.replicas
    assert first.status == ForwardMsg.FINISHED_SUCCESSFULLY and not first.exceptions, first.exceptions
    assert first.session_id and len(first.element_kinds) > 3

    assert again.upstream == first.upstream
    # The same session, resumed: a session id is a uuid4 of the process that made it, so this is the same process
    # and the session's state (widgets, uploads, memo) is still there.
    assert again.session_id == first.session_id
    assert again.status == ForwardMsg.FINISHED_SUCCESSFULLY and not again.exceptions, again.exceptions

    assert upload.status == 204, (upload.status, upload.body[:200])
    assert upload.upstream == first.upstream
    assert refused.status == 400 and b"session_id" in refused.body, (refused.status, refused.body[:200])

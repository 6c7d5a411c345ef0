"""What one student's browser does through the load balancer, in a few lines: a cookie jar for plain HTTP
requests, and a Streamlit websocket session that runs the app's script once (the frontend's first message).

A run is what Streamlit 1.67's frontend sends and receives (runtime/app_session.py,
web/server/starlette/starlette_websocket.py): the websocket's subprotocol header carries
`streamlit, <XSRF token>, <session id to resume>`; the client sends `BackMsg.rerun_script`; the server answers with
`new_session` (whose `initialize.session_id` names the session), deltas, `page_info_changed` (the URL's query
string, where ui/share.py writes this process's `boot=` id) and `script_finished`.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from deploy.replicas import UPSTREAM_HEADER

XSRF_COOKIE = "_streamlit_xsrf"  # streamlit/web/server/starlette/starlette_server_config.py
RUN_TIMEOUT = 300.0  # seconds: a replica's first run loads the model, on a busy 2-core machine


@dataclass
class Reply:
    """One HTTP answer: status, headers, body, and the replica nginx says answered (its X-Upstream)."""

    status: int
    headers: Message
    body: bytes

    @property
    def upstream(self) -> str | None:
        return self.headers.get(UPSTREAM_HEADER)


class Browser:
    """One student's cookie jar: sends its cookies with every request and keeps what the answers set."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def keep(self, headers: Message) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})

    def request(self, path: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None) -> Reply:
        """An HTTP request to base_url + path with this jar's cookies; 4xx/5xx answers are returned, not raised."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = self.cookie_header()
        request = urllib.request.Request(self.base_url + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                reply = Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, error.headers, error.read())
        self.keep(reply.headers)
        return reply


@dataclass
class ScriptRun:
    """What one websocket session saw: the replica, the session id, the URL query string and how the run ended."""

    upstream: str | None
    session_id: str = ""
    query_string: str = ""
    status: int | None = None
    element_kinds: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"


def subprotocols(browser: Browser, resume_session: str = "") -> list[str]:
    """The frontend's Sec-WebSocket-Protocol entries: "streamlit", its XSRF token, the session to resume."""
    entries = ["streamlit"]
    xsrf = browser.cookies.get(XSRF_COOKIE)
    if xsrf:
        entries.append(xsrf)
    if resume_session:
        if not xsrf:  # the session id must be the third entry
            raise ValueError("resuming a session needs the XSRF cookie first (GET /_stcore/health sets it)")
        entries.append(resume_session)
    return entries


async def open_stream(browser: Browser, resume_session: str = "", host: str = ""):
    """The websocket upgrade to /_stcore/stream, as the browser sends it (cookies, Origin, subprotocols).

    With `host`, the browser addressed the server by that name (the school's DNS name for it): the request's Host
    and Origin carry it, while the connection still goes to base_url's address."""
    uri, origin, sock = ws_url(browser.base_url), browser.base_url, None
    if host:
        parts = urlsplit(browser.base_url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        origin = f"http://{host}:{parts.port}"
        uri = ws_url(origin)
    return await websockets.connect(
        uri,
        sock=sock,
        subprotocols=subprotocols(browser, resume_session),
        origin=origin,
        additional_headers={"Cookie": browser.cookie_header()},
        max_size=2**28,
        compression=None,
        open_timeout=60,
        ping_interval=None,
    )


def rerun_request(browser: Browser, query_string: str = "") -> bytes:
    """BackMsg.rerun_script for the default page, as the frontend's first message once connected."""
    state = ClientState(query_string=query_string, page_name="")
    info = state.context_info
    info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
    info.url, info.is_embedded, info.color_scheme = browser.base_url + "/", False, "light"
    msg = BackMsg()
    msg.rerun_script.CopyFrom(state)
    return msg.SerializeToString()


async def run_script(ws, browser: Browser, query_string: str = "") -> ScriptRun:
    """Ask for a script run on an open websocket and read ForwardMsgs until it ends (a rerun chain included)."""
    run = ScriptRun(upstream=ws.response.headers.get(UPSTREAM_HEADER), query_string=query_string)
    await ws.send(rerun_request(browser, query_string))
    async with asyncio.timeout(RUN_TIMEOUT):
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                run.session_id = msg.new_session.initialize.session_id
            elif kind == "page_info_changed":
                run.query_string = msg.page_info_changed.query_string
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element_kind = msg.delta.new_element.WhichOneof("type")
                run.element_kinds.append(element_kind)
                if element_kind == "exception":
                    run.exceptions.append(msg.delta.new_element.exception.message)
            elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                run.status = msg.script_finished
                return run

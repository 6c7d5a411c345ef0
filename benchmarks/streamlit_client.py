"""A light Streamlit client: one simulated student speaking the browser's websocket protocol to a running server.

It does what Streamlit's frontend does for a script run, and nothing it draws: it opens ``/_stcore/stream``, sends
``BackMsg.rerun_script`` (a ``ClientState``: query string, page, every widget's value, fragment id, browser context)
and reads the ``ForwardMsg`` stream (``new_session`` starts a run, ``delta`` adds an element, ``page_info_changed``
rewrites the URL's query string, ``navigation`` lists the pages, ``script_finished`` ends the run). Like the
frontend's widget manager it keeps the latest value of every widget it has seen and sends them all on each rerun,
so the server sees the same requests as from a browser, at a small fraction of a browser's CPU.

Widgets are addressed by their user key: Streamlit's element id of a keyed element is ``$$ID-<hash>-<key>``.
An interaction is timed from the request sent to the ``script_finished`` that ends the run (or run chain, when the
script calls ``st.rerun()``) it caused; a widget drawn inside an ``st.fragment`` reruns only that fragment, as in the
browser.

Protocol details taken from Streamlit 1.67's sources (runtime/app_session.py, web/server/starlette/
starlette_websocket.py, elements/widgets/*) rather than documented: the frontend sends a first ``rerun_script`` with
the URL's path as ``page_name`` once connected; a widget's value is ``element.value`` when ``set_value`` is set, else
the value the client already holds for that id, else the element's ``default``; triggers (buttons) are sent once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ID_PREFIX = "$$ID-"
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
RUN_TIMEOUT = 900.0  # seconds one interaction may take before the student gives up (a 30-student queue is slow)
MAX_FRAME_BYTES = 2**28  # a page's biggest message (a figure, a table) fits


def run_coroutine(main: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run(main)`` in a thread of its own, so it works even where the calling thread already runs an event
    loop (Playwright's sync API keeps one running in the test process once a browser test has started it)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="light-client") as pool:
        return pool.submit(asyncio.run, main).result()


class ClientError(RuntimeError):
    """The server closed the connection, a run failed, or a widget the lesson needs is not on the page."""


@dataclass
class Widget:
    """What the client holds for one widget: its element, the wire field of its value, and that value."""

    id: str
    kind: str  # the Element oneof: "slider", "selectbox", ...
    field: str  # the WidgetState oneof: "double_array_value", "string_value", ...
    value: Any  # in wire form (a list of floats for a slider, the option's label for a selectbox); None = unset
    fragment_id: str
    run: int  # the client's run counter when it was last drawn


@dataclass
class Shown:
    """One element of the page as drawn by the last runs: where it is and which run drew it."""

    element: Element
    fragment_id: str
    run: int


@dataclass
class Interaction:
    """One timed request: what it was, and seconds from request sent to the end of the run it caused."""

    kind: str
    seconds: float
    fragment: bool  # True when only a fragment reran


@dataclass
class RunState:
    """Where the current script run (or run chain) stands."""

    counter: int = 0  # runs started, as the client counts them
    running: bool = False
    fragment_ids: tuple[str, ...] = ()
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    last_status: int | None = None


def widget_key(element_id: str) -> str | None:
    """The user key inside a Streamlit element id (``$$ID-<hash>-<key>``), or None for an unkeyed element."""
    if not element_id.startswith(ID_PREFIX):
        return None
    _hash, sep, key = element_id[len(ID_PREFIX) :].partition("-")
    return key if sep and key else None


def _initial_value(kind: str, proto: Any) -> tuple[str, Any] | None:
    """(wire field, value the server set or None) for a widget element, or None when the client sends nothing for it.

    The value is only what the element itself says (``set_value``): the caller keeps its own value otherwise, and
    falls back to :func:`_default_value`.
    """
    if kind == "slider":
        return "double_array_value", list(proto.value) if proto.set_value else None
    if kind == "number_input":
        name = "int_value" if proto.data_type == proto.INT else "double_value"
        value = proto.value if proto.set_value and proto.HasField("value") else None
        return name, (int(value) if name == "int_value" and value is not None else value)
    if kind in ("text_area", "text_input"):
        return "string_value", (proto.value if proto.set_value and proto.HasField("value") else None)
    if kind in ("selectbox", "radio"):
        return "string_value", (proto.raw_value if proto.set_value and proto.HasField("raw_value") else None)
    if kind == "checkbox":
        return "bool_value", (proto.value if proto.set_value else None)
    if kind == "bidi_component":  # a Custom Component (v2): its state, as JSON, once the user has set some
        return "json_value", None
    return None  # buttons (triggers), uploaders, charts' selections: nothing unless the student acts


def _default_value(kind: str, proto: Any) -> Any:
    """The value the frontend shows for a widget it has no value for (the element's ``default``)."""
    if kind == "slider":
        return list(proto.default)
    if kind == "number_input":
        if not proto.HasField("default"):
            return None
        return int(proto.default) if proto.data_type == proto.INT else proto.default
    if kind in ("text_area", "text_input"):
        return proto.default if proto.HasField("default") else None
    if kind in ("selectbox", "radio"):
        if proto.HasField("default") and 0 <= proto.default < len(proto.options):
            return proto.options[proto.default]
        return None
    if kind == "checkbox":
        return proto.default
    return None


def _put(state: WidgetState, name: str, value: Any) -> None:
    if name == "double_array_value":
        state.double_array_value.data[:] = [float(v) for v in value]
    else:
        setattr(state, name, value)


def plotly_array(value: Any) -> list:
    """A plotly JSON array as a list: plotly 6 writes numpy arrays as ``{"dtype", "bdata"(base64), "shape"}``."""
    if isinstance(value, dict) and "bdata" in value:
        import numpy as np

        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if value.get("shape"):
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    return list(value) if value is not None else []


class StreamlitClient:
    """One browser tab's worth of Streamlit protocol, for a load test or a test of the running app.

    Use ``async with StreamlitClient(url) as client:`` then ``await client.open("next_token", "prompt=...")``,
    ``await client.set("next_token.temperature", [0.5])``, ``await client.click("generation.step")``; read the page
    with :meth:`element`, :meth:`chart`, :meth:`elements`. Every timed call appends an :class:`Interaction`.
    """

    def __init__(self, base_url: str, *, timeout: float = RUN_TIMEOUT, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.headers = dict(headers or {})  # sent with the websocket handshake (e.g. a proxy's X-Real-IP)
        self.base_url = base_url.rstrip("/")
        self.ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
        self.timeout = timeout
        self.query_string = ""
        self.page_path = ""  # url path of the page shown ("" = the default page)
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash (from the navigation message)
        self.widgets: dict[str, Widget] = {}  # element id -> widget
        self.shown: dict[tuple[int, ...], Shown] = {}  # delta path -> element
        self.interactions: list[Interaction] = []
        self.errors: list[str] = []  # exceptions the page showed (st.exception / a script error)
        self.auto_reruns: dict[str, float] = {}  # fragment id -> seconds between its reruns (st.fragment(run_every))
        self.run = RunState()
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (cacheable message, run it was last used)
        self._max_cache_age = 2
        self._ws: Any = None
        self._reader: asyncio.Task | None = None
        self._closed: BaseException | None = None

    # -- connection ---------------------------------------------------------------------------------------------

    async def __aenter__(self) -> StreamlitClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the websocket (subprotocol "streamlit", as the frontend sends it) and start reading."""
        self._ws = await websockets.connect(
            self.ws_url,
            subprotocols=["streamlit"],
            max_size=MAX_FRAME_BYTES,
            compression=None,  # the frontend's permessage-deflate would cost both sides CPU the server pays anyway
            open_timeout=60,
            ping_interval=None,
            additional_headers=self.headers or None,
        )
        self._reader = asyncio.create_task(self._read(), name="streamlit-client-reader")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        self._ws = self._reader = None

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(frame)
                self._handle(msg)
        except BaseException as error:  # the run waiter reports it
            self._closed = error
            raise
        finally:
            if self._closed is None:
                self._closed = ClientError("the server closed the connection")
            self.run.finished.set()

    # -- the ForwardMsg stream ------------------------------------------------------------------------------------

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":  # a cached message the server did not send again
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append(f"unknown cached message {msg.ref_hash}")
                return
            full = ForwardMsg()
            full.CopyFrom(cached[0])
            full.metadata.CopyFrom(msg.metadata)
            msg, kind = full, full.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = (msg, self.run.counter)
        if kind == "new_session":
            self._start_run(msg)
        elif kind == "delta":
            self._delta(msg)
        elif kind == "script_finished":
            self._finish_run(msg.script_finished)
        elif kind == "auto_rerun":  # the frontend starts a timer that reruns this fragment: see auto_rerun()
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "navigation":
            nav = msg.navigation
            self.pages = {p.url_pathname: p.page_script_hash for p in nav.app_pages}
            self.page_hash = nav.page_script_hash
            by_hash = {h: path for path, h in self.pages.items()}
            self.page_path = by_hash.get(nav.page_script_hash, self.page_path)
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self.errors.append(msg.session_event.script_compilation_exception.message)
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name}")

    def _start_run(self, msg: ForwardMsg) -> None:
        session = msg.new_session
        self.run.counter += 1
        self.run.running = True
        self.run.fragment_ids = tuple(msg.metadata.run.fragment_ids)
        if session.config.max_cached_message_age:
            self._max_cache_age = session.config.max_cached_message_age
        if session.page_script_hash:
            self.page_hash = session.page_script_hash

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        path = tuple(msg.metadata.delta_path)
        self.shown[path] = Shown(element, delta.fragment_id, self.run.counter)
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.errors.append(element.exception.message)
            return
        proto = getattr(element, kind)
        element_id = getattr(proto, "id", "") if kind else ""
        if not element_id:
            return
        wire = _initial_value(kind, proto)
        if wire is None:
            return
        name, value = wire
        old = self.widgets.get(element_id)
        if value is None:
            value = old.value if old is not None and old.value is not None else _default_value(kind, proto)
        self.widgets[element_id] = Widget(element_id, kind, name, value, delta.fragment_id, self.run.counter)

    def _finish_run(self, status: int) -> None:
        self.run.last_status = status
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            return  # st.rerun() or a newer request: another run follows
        run, fragments = self.run.counter, set(self.run.fragment_ids)
        if status == ForwardMsg.FINISHED_SUCCESSFULLY or status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:

            def current(item: Shown | Widget) -> bool:  # drawn by this run, or outside the fragments it reran
                return item.run == run or (bool(fragments) and item.fragment_id not in fragments)

            self.shown = {p: s for p, s in self.shown.items() if current(s)}
            self.widgets = {i: w for i, w in self.widgets.items() if current(w)}
        self._cache = {h: c for h, c in self._cache.items() if run - c[1] <= self._max_cache_age}
        self.run.running = False
        self.run.finished.set()

    # -- requests ---------------------------------------------------------------------------------------------------

    def _client_state(self, fragment_id: str = "", triggers: Iterable[str] = ()) -> ClientState:
        state = ClientState(query_string=self.query_string, page_script_hash=self.page_hash, fragment_id=fragment_id)
        if not self.page_hash:
            state.page_name = self.page_path
        for widget in self.widgets.values():
            if widget.value is not None:
                ws = state.widget_states.widgets.add(id=widget.id)
                _put(ws, widget.field, widget.value)
        for element_id in triggers:
            state.widget_states.widgets.add(id=element_id, trigger_value=True)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url = f"{self.base_url}/{self.page_path}"
        info.is_embedded, info.color_scheme = False, "light"
        state.cached_message_hashes.extend(self._cache)
        return state

    async def _rerun(self, kind: str, state: ClientState) -> Interaction:
        """Send one rerun request and wait for the run (or run chain) it starts to end; time it."""
        await self.settle()
        self.run.finished.clear()
        started_run = self.run.counter
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        sent = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        deadline = sent + self.timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise ClientError(f"{kind}: no end of run after {self.timeout:.0f} s")
            try:
                await asyncio.wait_for(self.run.finished.wait(), remaining)
            except TimeoutError:
                continue
            if self._closed is not None:
                raise ClientError(f"{kind}: {self._closed}")
            if self.run.counter > started_run and not self.run.running:
                break
            self.run.finished.clear()
        seconds = time.perf_counter() - sent
        if self.run.last_status not in DONE:
            raise ClientError(f"{kind}: the run ended with status {self.run.last_status}")
        done = Interaction(kind, seconds, fragment=bool(self.run.fragment_ids))  # what the server reran
        self.interactions.append(done)
        return done

    async def settle(self) -> None:
        """Wait until no script run is going (one the server started by itself, e.g. after ``st.rerun()``)."""
        while self.run.running and self._closed is None:
            self.run.finished.clear()
            if not self.run.running:
                break
            await asyncio.wait_for(self.run.finished.wait(), self.timeout)

    async def open(self, url_path: str, query_string: str = "", kind: str = "open page") -> Interaction:
        """Open a page by its url path with a link's query string, as a typed-in URL or a shared link does.

        The first call is the page load; later calls navigate this session (as the sidebar menu does), with the
        given query string in the URL."""
        self.query_string = query_string.lstrip("?")
        self.page_path = url_path.strip("/")
        self.page_hash = self.pages.get(self.page_path, "")
        return await self._rerun(kind, self._client_state())

    async def auto_rerun(self, fragment_id: str, kind: str = "auto rerun") -> Interaction:
        """Send the rerun the frontend's timer sends every ``auto_reruns[fragment_id]`` seconds for a fragment with
        ``run_every`` (the caller keeps the clock: this client starts no timer of its own)."""
        state = self._client_state(fragment_id)
        state.is_auto_rerun = True
        return await self._rerun(kind, state)

    # -- widgets --------------------------------------------------------------------------------------------------

    def widget(self, key: str) -> Widget:
        """The widget with this user key on the page as last drawn (ClientError when there is none)."""
        for widget in self.widgets.values():
            if widget_key(widget.id) == key:
                return widget
        raise ClientError(f"no widget with key {key!r} on page {self.page_path!r}")

    async def set(self, key: str, value: Any, kind: str | None = None) -> Interaction:
        """Give a widget a new value (wire form: a list for a slider, an option's label for a selectbox) and rerun
        what the browser would: its fragment if it is drawn in one, else the page."""
        widget = self.widget(key)
        if widget.kind in ("selectbox", "radio"):
            options = list(self._proto(widget.id).options)
            if value not in options:
                raise ClientError(f"{key}: {value!r} is not one of its options")
        if widget.field == "double_array_value":
            value = list(value)
        elif widget.field == "json_value" and not isinstance(value, str):
            value = json.dumps(value)  # a component's whole state, e.g. {"settings": {...}} for the sampler
        widget.value = value
        return await self._rerun(kind or f"set {key}", self._client_state(widget.fragment_id))

    async def click(self, key: str, kind: str | None = None) -> Interaction:
        """Press a button (its trigger is sent once, with every other widget's value)."""
        element_id, fragment_id = self._button(key)
        return await self._rerun(kind or f"click {key}", self._client_state(fragment_id, triggers=[element_id]))

    def _button(self, key: str) -> tuple[str, str]:
        for shown in self.shown.values():
            kind = shown.element.WhichOneof("type")
            if kind in ("button", "download_button") and widget_key(getattr(shown.element, kind).id) == key:
                proto = getattr(shown.element, kind)
                if proto.disabled:
                    raise ClientError(f"button {key!r} is disabled")
                return proto.id, shown.fragment_id
        raise ClientError(f"no button with key {key!r} on page {self.page_path!r}")

    def _proto(self, element_id: str) -> Any:
        for shown in self.shown.values():
            kind = shown.element.WhichOneof("type")
            if kind and getattr(getattr(shown.element, kind), "id", None) == element_id:
                return getattr(shown.element, kind)
        raise ClientError(f"element {element_id!r} is not on the page")

    # -- reading the page -----------------------------------------------------------------------------------------

    def elements(self, kind: str | None = None) -> list[Any]:
        """The page's elements in page order (main area, then sidebar), as their typed protos (``st.html`` ->
        ``Html``); only those of ``kind`` ("html", "metric", "plotly_chart", ...) when given."""
        out = []
        for _path, shown in sorted(self.shown.items()):
            which = shown.element.WhichOneof("type")
            if which and (kind is None or which == kind):
                out.append(getattr(shown.element, which))
        return out

    def element(self, key: str) -> Any:
        """The keyed element (widget or chart) with this user key, as its typed proto."""
        for proto in self.elements():
            if widget_key(getattr(proto, "id", "") or "") == key:
                return proto
        raise ClientError(f"no element with key {key!r} on page {self.page_path!r}")

    def component_data(self, key: str) -> Any:
        """The data a Custom Component (v2) with this key was sent (its JSON, parsed)."""
        return json.loads(self.element(key).json)

    def chart(self, key: str) -> dict:
        """The plotly figure (``{"data": [...], "layout": {...}}``) of the chart with this key."""
        return json.loads(self.element(key).spec)

    def metric(self, label: str) -> str:
        """The shown value of the ``st.metric`` with this label."""
        for proto in self.elements("metric"):
            if proto.label == label:
                return proto.body
        raise ClientError(f"no metric {label!r} on page {self.page_path!r}")

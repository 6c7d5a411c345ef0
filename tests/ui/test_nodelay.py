"""ui.nodelay: a connection accepted from a listening socket made like Streamlit's (``socket.socket(family)``,
proto 0) gets TCP_NODELAY once ``enable_nodelay`` ran; without it asyncio leaves Nagle's algorithm on."""

from __future__ import annotations

import asyncio
import socket

import pytest

import ui.nodelay
from benchmarks.streamlit_client import run_coroutine


def accepted_nodelay() -> tuple[int, int]:
    """(TCP_NODELAY of the server side, of the client side) of one loopback connection to an asyncio server whose
    listening socket is made as Streamlit 1.67 makes it."""

    async def main() -> tuple[int, int]:
        listener = socket.socket(family=socket.AF_INET)  # proto 0, as streamlit/web/server/starlette_server.py
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def on_connect(reader, writer):
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        client = writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        server_side = await asyncio.wait_for(accepted, 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return int(bool(server_side)), int(bool(client))

    return run_coroutine(main())


@pytest.fixture
def fresh(monkeypatch):
    """asyncio's own _set_nodelay and a module that has not run yet; both restored afterwards."""
    monkeypatch.setattr(asyncio.base_events, "_set_nodelay", ui.nodelay.ASYNCIO_SET_NODELAY)  # an app test ran it
    monkeypatch.setattr(ui.nodelay, "_DONE", False)


def test_without_it_the_servers_connection_keeps_nagle_on(fresh):
    assert accepted_nodelay() == (0, 1)  # the client (proto 6) has it; the server's accepted socket does not


def test_enable_nodelay_sets_it_on_new_connections_once(fresh):
    assert ui.nodelay.enable_nodelay() is True
    assert accepted_nodelay() == (1, 1)
    assert ui.nodelay.enable_nodelay() is False  # once per process


def test_enable_nodelay_fixes_connections_already_open(fresh):
    async def main() -> int:
        listener = socket.socket(family=socket.AF_INET)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(lambda r, w: accepted.set_result(w), sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        server_writer = await asyncio.wait_for(accepted, 10)
        sock = server_writer.get_extra_info("socket")
        before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        ui.nodelay.enable_nodelay()  # the first visitor's connection was accepted before app.py ran
        after = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for w in (writer, server_writer):
            w.close()
        server.close()
        await server.wait_closed()
        return int(bool(before)), int(bool(after))

    assert run_coroutine(main()) == (0, 1)


# What the patch relies on. When one of these fails, Streamlit or asyncio changed: check whether the patch is still
# needed (a connection accepted by Streamlit's listener without TCP_NODELAY) and whether it still works (the light
# client's rerun latency, benchmarks/streamlit_client.py), then update ui.nodelay.WRITTEN_FOR.


def test_the_installed_streamlit_is_the_one_the_patch_was_measured_with():
    import streamlit

    assert ui.nodelay.streamlit_version_supported(), (
        f"Streamlit {streamlit.__version__} is installed; ui/nodelay.py was written for {ui.nodelay.WRITTEN_FOR}: "
        "the patch is now skipped. Re-check the tests below and the latency, then update WRITTEN_FOR."
    )
    assert not ui.nodelay.streamlit_version_supported("1.68.0")


def test_streamlits_listener_is_still_made_with_proto_0():
    from streamlit.web.server.starlette import starlette_server

    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)
    try:
        assert listener.proto == 0  # asyncio then skips TCP_NODELAY on its accepted connections: why the patch exists
    finally:
        listener.close()


def test_asyncio_still_reads_set_nodelay_when_a_transport_is_made():
    import inspect

    assert callable(ui.nodelay.ASYNCIO_SET_NODELAY)
    assert "_set_nodelay(" in inspect.getsource(asyncio.selector_events._SelectorSocketTransport.__init__)


def test_finding_open_transports_raises_no_deprecation_warning():
    import warnings

    import torch  # noqa: F401 (its deprecated aliases live in gc: isinstance on them warned at every start)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ui.nodelay.open_transports()

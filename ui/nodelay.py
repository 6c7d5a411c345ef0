"""Send each interaction's messages at once: TCP_NODELAY on the server's connections.

Streamlit 1.67's server binds its listening socket with ``socket.socket(family)`` (``proto`` 0), and asyncio sets
TCP_NODELAY on an accepted connection only when ``sock.proto == IPPROTO_TCP``. Without it, Nagle's algorithm holds
a run's deltas until the browser acknowledges the run's first message, and browsers delay that acknowledgement by
~40 ms: every rerun, even a one-slider fragment that runs in 1 ms, reached the client ~44 ms after the request
(measured with the light client of ``benchmarks/streamlit_client.py``: server-side script 1-3 ms, client 44-48 ms).

``enable_nodelay()`` (called once per process, from app.py) makes asyncio set TCP_NODELAY on every TCP stream socket
accepted from then on, and sets it on the connections already open (the first visitor's, accepted before app.py ran).

It relies on private details of Streamlit and asyncio, so it runs only on the Streamlit it was measured with
(``WRITTEN_FOR``); on another version it does nothing and says so in the log, and tests/ui/test_nodelay.py fails
until someone checks the details below again and measures the latency (then updates ``WRITTEN_FOR``).
"""

from __future__ import annotations

import asyncio.base_events
import asyncio.selector_events
import gc
import logging
import socket
import threading

import streamlit

WRITTEN_FOR = "1.67"  # Streamlit major.minor whose listener (proto 0) and latency (44 -> 1-3 ms) were measured
_LOG = logging.getLogger(__name__)
_LOCK = threading.Lock()
_DONE = False
ASYNCIO_SET_NODELAY = asyncio.base_events._set_nodelay  # asyncio's own, kept for tests (this module replaces it)


def _set_nodelay(sock) -> None:
    """asyncio's own ``_set_nodelay`` without its ``proto == IPPROTO_TCP`` condition (0 also means TCP here)."""
    if sock.family in {socket.AF_INET, socket.AF_INET6} and sock.type == socket.SOCK_STREAM:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # a socket closed meanwhile
            pass


def open_transports() -> list[asyncio.selector_events._SelectorSocketTransport]:
    """The asyncio socket transports alive in this process (the server's open connections among them)."""
    kind = asyncio.selector_events._SelectorSocketTransport
    # type(), not isinstance(): isinstance reads each object's __class__, and torch's deprecated module aliases
    # (torch.distributed.reduce_op) raise a FutureWarning when read.
    return [o for o in gc.get_objects() if issubclass(type(o), kind)]


def streamlit_version_supported(version: str | None = None) -> bool:
    """Whether the running Streamlit (or ``version``) is the major.minor this patch was written and measured for."""
    return ".".join((version or streamlit.__version__).split(".")[:2]) == WRITTEN_FOR


def enable_nodelay() -> bool:
    """Patch asyncio (idempotent) and fix the open connections; returns True the first time it ran."""
    global _DONE
    with _LOCK:
        if _DONE or not hasattr(socket, "TCP_NODELAY"):
            return False
        if not streamlit_version_supported() or not hasattr(asyncio.base_events, "_set_nodelay"):
            _LOG.info("TCP_NODELAY patch skipped: written for Streamlit %s, not %s", WRITTEN_FOR, streamlit.__version__)
            _DONE = True
            return False
        asyncio.base_events._set_nodelay = _set_nodelay  # read at call time by _SelectorSocketTransport.__init__
        for transport in open_transports():
            sock = transport.get_extra_info("socket")
            if sock is not None:
                _set_nodelay(sock)
        _DONE = True
        return True

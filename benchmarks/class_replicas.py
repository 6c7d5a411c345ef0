"""The class bench over replicas: nginx in front of two `streamlit run` of one app tree, each student keeping the
route cookie nginx gave it (as a browser does), so about half the class lands on each replica.

nginx routes by the ``nte_route`` cookie (deploy/nginx.conf.template): a request without one is routed by its own
random request id, which the response sets as the cookie. A browser gets the cookie with the page and sends it with
its websocket; a light client has no cookie jar, so each student here asks for one first (``route_cookie``) and
sends it with its websocket handshake. The access log's ``upstream=`` and ``route=`` fields then show which replica
each student's websocket reached (``stream_upstreams``).
"""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_class import _tree, _vm_hwm_kb
from benchmarks.bench_poll import Replicated
from deploy.replicas import (
    ROOT,
    ROUTE_COOKIE,
    UPSTREAM_HEADER,
    replica_command,
)

ROUTE_KEY = re.compile(r"[0-9a-f]{32}")
STREAM_LINE = re.compile(r'"GET /_stcore/stream[^"]*".*?upstream=(\S+) route=(\S+)')


@dataclass(frozen=True)
class Route:
    """One student's route: the cookie's value and the replica (host:port) that answered when it was issued."""

    cookie: str
    upstream: str

    @property
    def headers(self) -> dict[str, str]:
        """What the student sends with its websocket handshake, as a browser sends its cookie jar."""
        return {"Cookie": f"{ROUTE_COOKIE}={self.cookie}"}


def cookie_from(set_cookie_headers: list[str]) -> str | None:
    """The route key in a response's Set-Cookie headers (``nte_route=<32 hex>; Path=/; ...``), or None."""
    for header in set_cookie_headers:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0].strip()
        if name.strip() == ROUTE_COOKIE and ROUTE_KEY.fullmatch(value):
            return value
    return None


def route_cookie(url: str) -> Route:
    """A new student's first request through nginx, without a cookie: the route key nginx issues and the replica
    that key routes to (the response's X-Upstream: nginx routed this very request by the key it sets)."""
    with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=30) as response:
        cookie = cookie_from(response.headers.get_all("Set-Cookie") or [])
        upstream = response.headers.get(UPSTREAM_HEADER, "")
    if cookie is None or not upstream:
        raise RuntimeError(f"nginx at {url} set no {ROUTE_COOKIE} cookie or {UPSTREAM_HEADER} header")
    return Route(cookie, upstream)


def one_route_per_replica(url: str, replicas: int, tries: int = 200) -> list[Route]:
    """A route to each replica (new keys until every replica has answered one), to warm each replica through nginx."""
    found: dict[str, Route] = {}
    for _ in range(tries):
        route = route_cookie(url)
        found.setdefault(route.upstream, route)
        if len(found) == replicas:
            return list(found.values())
    raise RuntimeError(f"{tries} fresh route keys reached only {sorted(found)} of {replicas} replicas")


def stream_upstreams(access_log: str) -> dict[str, set[str]]:
    """Route key -> the replicas its websocket connections (``GET /_stcore/stream``) reached, from nginx's access
    log in deploy/nginx.conf.template's ``nte`` format (``... "GET /_stcore/stream HTTP/1.1" 101 0
    upstream=127.0.0.1:PORT route=KEY``)."""
    out: dict[str, set[str]] = {}
    for line in access_log.splitlines():
        if found := STREAM_LINE.search(line):
            out.setdefault(found.group(2), set()).add(found.group(1))
    return out


def spread(routes: list[Route], access_log: str) -> tuple[Counter, int]:
    """(students per replica, as their cookies route them; how many students' websockets all reached exactly the
    replica their cookie names, read from the access log)."""
    streams = stream_upstreams(access_log)
    kept = sum(1 for r in routes if streams.get(r.cookie) == {r.upstream})
    return Counter(r.upstream for r in routes), kept


class ClassReplicas(Replicated):
    """bench_poll's ``Replicated`` (deploy/replicas.py's own functions: Redis room store, nginx, health checks) with
    the replicas serving ``app_root``'s app.py, so a baseline worktree runs behind the same nginx."""

    def __init__(self, app_root: Path, replicas: int = 2) -> None:
        super().__init__(replicas)
        self.app_root = Path(app_root).resolve()

    def _start_replica(self, port: int, env: dict[str, str]) -> subprocess.Popen:
        """deploy/replicas.py's replica command for ``port``, with app_root's app.py, run in app_root."""
        cmd = [str(self.app_root / "app.py") if arg == str(ROOT / "app.py") else arg for arg in replica_command(port)]
        log = open(self.run_dir / f"replica-{port}.log", "wb")  # noqa: SIM115 (the child keeps it; closed below)
        try:
            return subprocess.Popen(cmd, cwd=self.app_root, env=env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def peak_rss_per_replica_mb(self) -> dict[str, float]:
        """127.0.0.1:PORT -> that replica's peak resident set (VmHWM of it and its children), in MB."""
        return {
            f"127.0.0.1:{port}": sum(_vm_hwm_kb(pid) for pid in _tree(proc.pid)) / 1024
            for port, proc in zip(self.ports, self.replica_procs)
        }

    def access_log(self) -> str:
        log = self.run_dir / "access.log"
        return log.read_text() if log.exists() else ""

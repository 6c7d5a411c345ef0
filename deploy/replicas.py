"""Run the app as N Streamlit replicas behind nginx with cookie-sticky sessions: `python -m deploy.replicas`.

Renders deploy/nginx.conf.template into a run folder, starts the replicas on 127.0.0.1 and nginx in front of them,
starts a replica again if it exits, and stops everything on Ctrl+C. tests/deploy/test_replicas.py drives the same
functions.

Class-poll rooms must be shared by the replicas, or students routed to another replica than the teacher's find no
room: more than one replica needs NTE_REDIS_URL, or --start-redis to start a Redis here (saving to disk in the run
folder, so rooms survive its restart).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
ROUTE_COOKIE = "nte_route"
UPSTREAM_HEADER = "X-Upstream"
MAX_BODY = "8m"  # .streamlit/config.toml's server.maxUploadSize (5 MB) plus the multipart form around a file
RESTART_GRACE = 30.0  # seconds: a replica that exits sooner after its start is not restarted again
START_TIMEOUT = 120.0  # seconds for a replica to answer /_stcore/health (imports, not the model: that loads lazily)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    """Path of Debian's nginx (often in /usr/sbin, which a normal user's PATH may lack), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def render_config(listen: str, replica_ports: Sequence[int], run_dir: Path, template: Path = TEMPLATE) -> str:
    """The nginx configuration for these replicas.

    Args:
        listen: nginx's `listen` value, e.g. "0.0.0.0:8080" or "127.0.0.1:PORT".
        replica_ports: the replicas' ports on 127.0.0.1, at least one.
        run_dir: an absolute folder for nginx's pid, logs and temp files.

    Returns:
        The configuration text, every @NAME@ placeholder filled.
    """
    if not replica_ports:
        raise ValueError("render_config needs at least one replica port")
    servers = "\n".join(f"        server 127.0.0.1:{int(p)} max_fails=1 fail_timeout=10s;" for p in replica_ports)
    values = {"@RUN_DIR@": str(Path(run_dir).resolve()), "@LISTEN@": listen, "@SERVERS@": servers}
    values["@MAX_BODY@"] = MAX_BODY
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(name, value)
    if "@" in "".join(line.split("#", 1)[0] for line in text.splitlines()):
        raise ValueError(f"{template.name} has a placeholder render_config does not fill")
    return text


def replica_command(port: int, python: str = sys.executable) -> list[str]:
    """`streamlit run app.py` for one replica on 127.0.0.1:port (only nginx should reach it)."""
    return [
        python,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


NO_SHARED_STORE = (
    "{n} replicas need one room store for the class poll, or students routed to another replica than the "
    "teacher's find no room and the teacher's count is short. Set NTE_REDIS_URL (redis://host:6379/0) for all "
    "replicas, or pass --start-redis to start a Redis on this machine (deploy/README.md), or use --replicas 1."
)


def shared_store_problem(replicas: int, redis_url: str | None) -> str | None:
    """Why these replicas cannot serve the class poll (several replicas, no Redis), or None when they can."""
    return NO_SHARED_STORE.format(n=replicas) if replicas > 1 and not (redis_url or "").strip() else None


def start_redis(run_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
    """Start Debian's redis-server on 127.0.0.1 with its append-only file in run_dir (rooms survive its restart).

    Returns:
        (its URL, the process). RuntimeError when redis-server is missing or does not answer.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: `make redis` (Debian's package), or set NTE_REDIS_URL")
    port = port or free_port()
    folder = Path(run_dir).resolve() / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--appendonly", "yes"]
    log = open(folder / "redis.log", "wb")  # noqa: SIM115 (the child keeps it; closed below)
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode} (log in {folder})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0", proc
        except OSError:
            pass
        time.sleep(0.1)
    stop([proc])
    raise RuntimeError(f"redis-server did not answer within 30 s (log in {folder})")


def replica_env(replicas: int, redis_url: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The replicas' environment: the operator's, plus how many replicas there are, the shared room store, and
    NTE_TRUSTED_PROXY=1: the replicas listen on 127.0.0.1, so only nginx reaches them and its X-Real-IP header is
    the student's address for the poll's per-address limits."""
    env = dict(os.environ if base is None else base, NTE_REPLICAS=str(int(replicas)))
    env.setdefault("NTE_TRUSTED_PROXY", "1")
    if redis_url:
        env["NTE_REDIS_URL"] = redis_url
    return env


def start_replica(port: int, log_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start one replica, its output in log_dir/replica-PORT.log. Wait for it with wait_healthy."""
    log = open(Path(log_dir) / f"replica-{port}.log", "wb")  # noqa: SIM115 (the child keeps it; closed below)
    try:
        return subprocess.Popen(
            replica_command(port), cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=subprocess.STDOUT
        )
    finally:
        log.close()


def start_nginx(conf_text: str, run_dir: Path, nginx: str) -> subprocess.Popen:
    """Write the configuration into run_dir and start nginx in the foreground (`daemon off`), as the current user.

    run_dir is made world-readable: when nginx starts as root its worker runs as `nobody` and must reach the temp
    folders inside it."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    conf = run_dir / "nginx.conf"
    conf.write_text(conf_text)
    check = subprocess.run([nginx, "-t", "-q", "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(conf)])
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected {conf}: see {run_dir / 'error.log'}")
    log = open(run_dir / "nginx.out", "wb")  # noqa: SIM115 (the child keeps it; closed below)
    try:
        return subprocess.Popen(
            [nginx, "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    """Wait until GET url/_stcore/health answers 200; RuntimeError if proc exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer /_stcore/health within {timeout:.0f} s")


def stop(procs: Sequence[subprocess.Popen]) -> None:
    """Terminate each process (nginx: fast shutdown), then kill what is still running after 10 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def supervise(
    procs: list[subprocess.Popen], ports: Sequence[int], run_dir: Path, env: dict[str, str] | None = None
) -> int:
    """Keep serving until nginx (the last of procs) exits: a replica that exits is started again, while nginx sends
    its students to the others (they start afresh there). A replica that dies within RESTART_GRACE seconds of its
    start is broken, not unlucky: then everything stops. Returns the exit code for main."""
    started = [time.monotonic()] * len(ports)
    while procs[-1].poll() is None:
        for i, port in enumerate(ports):
            if procs[i].poll() is None:
                continue
            if time.monotonic() - started[i] < RESTART_GRACE:
                print(f"replica {port} exited within {RESTART_GRACE:.0f} s of its start: stopping", file=sys.stderr)
                return 1
            print(f"replica {port} exited with code {procs[i].returncode}: starting it again", file=sys.stderr)
            procs[i], started[i] = start_replica(port, run_dir, env), time.monotonic()
        time.sleep(1)
    print("nginx exited: stopping the replicas (see error.log)", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.replicas", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes (each loads its own model)")
    parser.add_argument("--listen", default="0.0.0.0:8080", help="nginx's listen address (default 0.0.0.0:8080)")
    parser.add_argument("--first-port", type=int, default=8601, help="replica ports: this one and up")
    parser.add_argument("--run-dir", type=Path, default=None, help="nginx pid, logs, temp files (default: temp dir)")
    parser.add_argument(
        "--start-redis", action="store_true", help="start a Redis here for the class poll's rooms (no NTE_REDIS_URL)"
    )
    args = parser.parse_args(argv)
    redis_url = os.environ.get("NTE_REDIS_URL", "").strip() or None
    problem = None if args.start_redis else shared_store_problem(args.replicas, redis_url)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    nginx = nginx_binary()
    if nginx is None:
        print("nginx is not installed: `make nginx` (Debian's package) or apt-get install nginx", file=sys.stderr)
        return 2
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="nte-replicas-"))).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    ports = [args.first_port + i for i in range(args.replicas)]
    procs: list[subprocess.Popen] = []  # Redis, when started here (stopped after the replicas)
    served: list[subprocess.Popen] = []  # the replicas, then nginx
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a supervisor's stop: clean up as on Ctrl+C
    try:
        if args.start_redis and not redis_url:
            redis_url, redis_proc = start_redis(run_dir)
            procs.append(redis_proc)
            print(f"started Redis for the class poll's rooms at {redis_url} (append-only file in {run_dir}/redis)")
        env = replica_env(args.replicas, redis_url)
        served += [start_replica(port, run_dir, env) for port in ports]
        for port, proc in zip(ports, served):
            wait_healthy(f"http://127.0.0.1:{port}", proc)
        served.append(start_nginx(render_config(args.listen, ports, run_dir), run_dir, nginx))
        store = f"class-poll rooms in {redis_url}" if redis_url else "class-poll rooms in the one replica's memory"
        print(f"{args.replicas} replicas on 127.0.0.1:{ports[0]}-{ports[-1]} behind nginx on {args.listen}; {store}")
        print(f"logs and nginx.conf in {run_dir}; Ctrl+C stops everything")
        return supervise(served, ports, run_dir, env)  # replaces a replica that exits in `served`
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        stop(served)
        stop(procs)


if __name__ == "__main__":
    sys.exit(main())

"""The class bench's own arithmetic and its route over replicas: each light student keeps the route cookie nginx gave
it, so its websocket reaches that replica, fresh students spread over both, and the bench's target rows say ok or NO
from the figures measured (benchmarks/bench_class.py, benchmarks/class_replicas.py). The last test runs Debian's nginx
and redis-server for real; without them it skips loudly, except where NTE_REQUIRE_BROWSER=1 (CI), where it fails."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from benchmarks.bench_class import (
    CPU_TARGET_S,
    REPO,
    ClassRun,
    pooled,
    replica_rows,
    rows_for,
)
from benchmarks.class_replicas import ClassReplicas, Route, cookie_from, route_cookie, spread, stream_upstreams
from benchmarks.streamlit_client import Interaction, StreamlitClient, run_coroutine
from deploy.replicas import nginx_binary
from tests.needs import missing

KEY_A = "0123456789abcdef0123456789abcdef"
KEY_B = "fedcba9876543210fedcba9876543210"


def _log_line(path: str, upstream: str, route: str, status: int = 101) -> str:
    """One access.log line in deploy/nginx.conf.template's ``nte`` format."""
    return f'127.0.0.1 [07/Dec/2026:06:30:00 +0000] "GET {path} HTTP/1.1" {status} 0 upstream={upstream} route={route}'


def test_the_route_key_is_read_from_set_cookie_and_a_malformed_one_is_ignored():
    assert cookie_from([f"nte_route={KEY_A}; Path=/; HttpOnly; SameSite=Lax"]) == KEY_A
    assert cookie_from(["_streamlit_xsrf=abc; Path=/", f"nte_route={KEY_B}; Path=/"]) == KEY_B
    assert cookie_from(["nte_route=not-a-key; Path=/"]) is None
    assert cookie_from([]) is None
    assert Route(KEY_A, "127.0.0.1:1").headers == {"Cookie": f"nte_route={KEY_A}"}


def test_the_access_log_says_which_replicas_each_route_reached():
    log = "\n".join(
        [
            _log_line("/_stcore/stream", "127.0.0.1:8601", KEY_A),
            _log_line("/_stcore/health", "127.0.0.1:8602", KEY_A, 200),  # not a websocket: not counted
            _log_line("/_stcore/stream", "127.0.0.1:8602", KEY_B),
            _log_line("/_stcore/stream", "127.0.0.1:8601", KEY_B),  # a student moved: both replicas
        ]
    )
    assert stream_upstreams(log) == {KEY_A: {"127.0.0.1:8601"}, KEY_B: {"127.0.0.1:8601", "127.0.0.1:8602"}}
    routes = [Route(KEY_A, "127.0.0.1:8601"), Route(KEY_B, "127.0.0.1:8602")]
    per_replica, kept = spread(routes, log)
    assert per_replica == Counter({"127.0.0.1:8601": 1, "127.0.0.1:8602": 1})
    assert kept == 1  # KEY_B's websockets reached another replica too


def _run(size: int, cpu_per_student: float, seconds: float, answer: str = "same") -> ClassRun:
    run = ClassRun(size, completed=size, answers=[{"bars": answer}] * size, server_cpu=cpu_per_student * size)
    run.interactions = [Interaction("temperature step", seconds, True) for _ in range(19 * size)]
    return run


def _row(rows, name):
    found = [r for r in rows if r.name == name]
    assert len(found) == 1, [r.name for r in rows]
    return found[0]


def test_one_process_target_rows_follow_the_figures_and_show_the_baseline_beside_them():
    now = [_run(1, 1.2, 0.1), _run(30, 0.5, 0.9)]  # 9x the N=1 latency, 0.5 CPU-s per student
    before = [_run(1, 2.0, 0.1), _run(30, 2.2, 3.0)]
    rows = rows_for(now, REPO, before=before, before_name="before (abc1234)")
    cpu = _row(rows, "N=30: server CPU-s per student (lesson, 1 process)")
    assert (cpu.value, cpu.target, cpu.passed) == (0.5, f"<= {CPU_TARGET_S:g}", True)
    assert "before (abc1234): 2.20 s" in cpu.note
    p95 = _row(rows, "N=30: p95 interaction latency / N=1 (1 process)")
    assert abs(p95.value - 9.0) < 1e-9 and p95.passed is True and "before (abc1234): 30.0x" in p95.note
    assert _row(rows, "N=1: server CPU-s per student (lesson, 1 process)").passed is None  # no target alone
    assert _row(rows, "N=30: answers identical to before (abc1234)'s").passed is True

    slow = rows_for([_run(1, 2.0, 0.1), _run(30, 2.2, 3.0)], REPO)
    assert _row(slow, "N=30: server CPU-s per student (lesson, 1 process)").passed is False
    assert _row(slow, "N=30: p95 interaction latency / N=1 (1 process)").passed is False

    changed = rows_for(now, REPO, before=[_run(1, 2.0, 0.1, "other"), _run(30, 2.2, 3.0, "other")])
    assert _row(changed, "N=30: answers identical to before's").passed is False


def test_one_student_classes_on_fresh_servers_pool_their_interactions_and_average_their_cpu():
    rounds = [_run(1, 2.0, 0.1), _run(1, 3.0, 0.3), _run(1, 1.0, 0.2)]
    rounds[1].peak_rss_mb = 1200.0
    one = pooled(rounds)
    assert (one.size, one.completed, one.rounds, one.server_cpu, one.peak_rss_mb) == (1, 1, 3, 2.0, 1200.0)
    assert len(one.interactions) == 57 and one.failures == []
    rows = rows_for([one, _run(30, 0.5, 0.9)], REPO)
    assert "(57 interactions)" in _row(rows, "N=1: p50 interaction latency / N=1").note
    assert abs(_row(rows, "N=30: p95 interaction latency / N=1 (1 process)").value - 0.9 / 0.3) < 1e-9
    assert "mean of 3 classes" in _row(rows, "N=1: wall time of the lesson").note
    differs = pooled([_run(1, 2.0, 0.1), _run(1, 2.0, 0.1, "other")])
    assert differs.failures == ["class 2 of 2: answers differ from the first"]
    changed = rows_for([differs, _run(30, 0.5, 0.9)], REPO)
    assert _row(changed, "N=1: answers identical to N=1").passed is False
    assert "answers differ" in _row(changed, "N=1: students completed").note


def test_replica_rows_count_students_per_replica_and_hold_the_five_times_target():
    one, big = _run(1, 1.0, 0.1), _run(30, 0.6, 0.45)
    for run in (one, big):
        run.replica_rss_mb = {"127.0.0.1:1": 900.0, "127.0.0.1:2": 950.0}
    one.routes, one.kept_route = [Route(KEY_A, "127.0.0.1:1")], 1
    big.routes = [Route(KEY_A, "127.0.0.1:1")] * 13 + [Route(KEY_B, "127.0.0.1:2")] * 17
    big.kept_route = 30
    rows = replica_rows([one, big], "2 replicas, ", {"bars": "same"})
    spread_row = _row(rows, "2 replicas, N=30: students on the smaller replica")
    assert spread_row.value == 13 and spread_row.passed is True and "127.0.0.1:2: 17" in spread_row.note
    assert _row(rows, "2 replicas, N=1: students on the smaller replica").passed is None
    p95 = _row(rows, "2 replicas, N=30: p95 latency / N=1 (through nginx)")
    assert abs(p95.value - 4.5) < 1e-9 and (p95.target, p95.passed) == ("<= 5", True)
    assert _row(rows, "2 replicas, N=30: server CPU-s per student (both replicas)").passed is True
    assert _row(rows, "2 replicas, N=30: peak RSS of the larger replica").value == 950.0

    big.kept_route = 29  # one student's websocket went elsewhere: the spread row fails
    moved = replica_rows([one, big], "", {"bars": "same"})
    assert _row(moved, "N=30: students on the smaller replica").passed is False
    other = replica_rows([one, big], "", {"bars": "other"})
    assert _row(other, "N=30: completed, answers as 1 process").passed is False


def test_each_students_websocket_reaches_the_replica_its_cookie_names():
    """Two replicas of this tree behind nginx with a Redis room store (as the bench runs them): 12 fresh students
    each take a route cookie and open their websocket with it; the access log shows each reached its replica, and
    both replicas got students."""
    if nginx_binary() is None or shutil.which("redis-server") is None:
        missing("the class bench's replica test", "needs Debian's nginx and redis-server (make nginx, make redis)")
    deployment = ClassReplicas(Path(REPO), 2)
    try:
        deployment.start()
        routes = [route_cookie(deployment.url) for _ in range(12)]

        async def connect_all() -> None:
            for route in routes:
                client = StreamlitClient(deployment.url, headers=route.headers)
                await client.connect()
                await client.close()

        run_coroutine(connect_all())
        per_replica, kept = spread(routes, deployment.access_log())
    finally:
        deployment.stop()
    assert len({r.cookie for r in routes}) == 12
    assert set(per_replica) == {f"127.0.0.1:{p}" for p in deployment.ports}, per_replica
    assert kept == 12

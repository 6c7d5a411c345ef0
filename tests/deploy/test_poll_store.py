"""Replicas and the class poll's rooms: several replicas without a shared store are refused (students on another
replica would find no room), and the Redis that deploy/replicas.py can start itself keeps rooms across its restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.serving.rooms import RedisRoomStore
from deploy.replicas import main, replica_env, shared_store_problem, start_redis, stop
from tests.needs import missing


def test_more_than_one_replica_without_redis_is_refused_before_anything_starts(monkeypatch, capsys):
    monkeypatch.delenv("NTE_REDIS_URL", raising=False)
    assert main(["--replicas", "2", "--listen", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "NTE_REDIS_URL" in err and "--start-redis" in err and "find no room" in err
    assert shared_store_problem(1, None) is None
    assert shared_store_problem(2, "redis://127.0.0.1:6379/0") is None
    assert shared_store_problem(3, "  ") and "3 replicas" in shared_store_problem(3, "  ")


def test_the_replicas_are_told_their_number_and_the_store():
    env = replica_env(2, "redis://127.0.0.1:6400/0", base={"PATH": "/usr/bin"})
    assert env == {
        "PATH": "/usr/bin",
        "NTE_REPLICAS": "2",
        "NTE_REDIS_URL": "redis://127.0.0.1:6400/0",
        "NTE_TRUSTED_PROXY": "1",  # only nginx reaches a replica: its X-Real-IP is the student's address
    }
    assert "NTE_REDIS_URL" not in replica_env(1, None, base={})


def test_the_redis_it_starts_keeps_rooms_across_its_restart(tmp_path: Path):
    if shutil.which("redis-server") is None:
        missing("the replicas' Redis test", "redis-server is not installed (make redis)")
    url, proc = start_redis(tmp_path)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        key = RedisRoomStore(url).create_room("The capital of France is")
        RedisRoomStore(url).add_guess(key.code, "student-aaaa", "Paris")
        stop([proc])  # SIGTERM: Redis writes its append-only file and exits
        url, proc = start_redis(tmp_path, port)
        assert RedisRoomStore(url).resume(key).counts == (("Paris", 1),)
        assert (tmp_path / "redis").is_dir()
    finally:
        stop([proc])


def test_start_redis_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="redis-server is not installed"):
        start_redis(tmp_path)

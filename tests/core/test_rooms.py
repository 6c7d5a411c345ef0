"""The class poll's room stores: one behaviour suite run against the in-process store and against Redis (a real
Debian `redis-server` started by a fixture on a free port, no persistence, stopped after). Without redis-server the
Redis half skips loudly, except where NTE_REQUIRE_BROWSER=1 (CI), where it fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from core.poll import GuessError
from core.serving.rooms import (
    ALPHABET,
    CODE_LENGTH,
    MAX_GUESSES_PER_ROUND,
    MemoryRoomStore,
    NotTeacher,
    RedisRoomStore,
    RoomError,
    RoomNotFound,
    StoreUnavailable,
    TeacherKey,
    new_code,
    normalise_code,
    room_store,
)
from core.text import PromptError
from tests.needs import missing

PROMPT = "The capital of France is"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """A real redis-server on a free localhost port, in a temp dir, with no snapshots or append-only file."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: the Redis room-store tests need Debian's redis-server (make redis)"
        missing("the Redis room-store tests", message)
    workdir = tempfile.mkdtemp(prefix="nte-redis-")
    port = _free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    log = open(os.path.join(workdir, "redis.log"), "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"redis-server did not start (log in {workdir})")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    """A factory of stores of one kind; every Redis store of one test shares a fresh key prefix (one "deployment")."""
    if request.param == "memory":
        return lambda ttl=3600.0: MemoryRoomStore(ttl=ttl)
    url = request.getfixturevalue("redis_url")
    prefix = f"test:{uuid.uuid4().hex}:"
    return lambda ttl=3600.0: RedisRoomStore(url, ttl=ttl, prefix=prefix)


@pytest.fixture
def store(make_store):
    return make_store()


def test_codes_are_short_and_unambiguous():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) > 1990  # drawn at random, not a counter
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
    assert not set("0O1IL") & set(ALPHABET)
    assert normalise_code("k7m x3p") == "K7MX3P"
    assert normalise_code(" K7M-X3P ") == "K7MX3P"
    for bad in ("", "K7MX3", "K7MX3PP", "K0MX3P", "<scri>", None):
        with pytest.raises(RoomNotFound):
            normalise_code(bad)


def test_room_store_picks_redis_only_with_a_url(redis_url):
    assert isinstance(room_store(None), MemoryRoomStore)
    assert isinstance(room_store(""), MemoryRoomStore)
    assert isinstance(room_store(redis_url), RedisRoomStore)


def test_create_get_and_the_histogram(store):
    key = store.create_room(PROMPT)
    assert len(key.code) == CODE_LENGTH and set(key.code) <= set(ALPHABET)
    assert key.code not in repr(key.token) and len(key.token) >= 24
    view = store.get(key.code.lower())  # a code typed in lower case finds the room
    assert (view.round, view.prompt, view.revealed, view.closed, view.total) == (1, PROMPT, False, False, 0)
    assert 3000 < view.expires_in <= 3600
    store.add_guess(key.code, "student-aaaa", " Paris ")
    store.add_guess(key.code, "student-bbbb", "Paris")
    store.add_guess(key.code, "student-cccc", "Lyon")
    view = store.get(key.code)
    assert view.counts == (("Paris", 2), ("Lyon", 1))
    assert view.total == 3


def test_one_guess_per_student_per_round_the_new_one_replaces_the_old(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Lyon")
    store.add_guess(key.code, "student-aaaa", "Paris")
    assert store.get(key.code).counts == (("Paris", 1),)
    assert store.my_guess(key.code, "student-aaaa") == "Paris"


def test_students_read_counts_and_their_own_guess_only(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    view = store.get(key.code)
    assert "student-aaaa" not in repr(view)  # the public view holds no student ids
    assert store.my_guess(key.code, "student-bbbb") is None  # another student does not see the first one's entry
    assert store.my_guess(key.code, "student-aaaa") == "Paris"
    records = store.rounds(key)
    assert "student-aaaa" not in repr(records)  # the teacher's results are counts too


def test_bad_guesses_are_refused_with_a_message(store):
    key = store.create_room(PROMPT)
    for bad in ("", "   ", "\x00\x07", "Par\u200bis", "x" * 41):
        with pytest.raises(GuessError) as caught:
            store.add_guess(key.code, "student-aaaa", bad)
        assert str(caught.value)
    assert store.get(key.code).total == 0
    with pytest.raises(RoomError):
        store.add_guess(key.code, "", "Paris")  # no anonymous id


def test_bad_prompts_are_refused(store):
    for bad in ("", "   ", "\u200b\u200b", "x" * 1001):
        with pytest.raises(PromptError):
            store.create_room(bad)


def test_unknown_codes_say_so(store):
    key = store.create_room(PROMPT)
    other = next(c for c in iter(new_code, None) if c != key.code)
    with pytest.raises(RoomNotFound, match="No open room"):
        store.get(other)
    with pytest.raises(RoomNotFound):
        store.add_guess(other, "student-aaaa", "Paris")


def test_the_teacher_token_is_required(store):
    key = store.create_room(PROMPT)
    forged = TeacherKey(key.code, "not-the-token")
    for action in (lambda k: store.reveal(k), lambda k: store.next_round(k, "Next"), lambda k: store.close(k)):
        with pytest.raises(NotTeacher):
            action(forged)
    with pytest.raises(NotTeacher):
        store.rounds(forged)
    with pytest.raises(NotTeacher):
        store.rounds(TeacherKey(key.code, ""))
    view = store.get(key.code)
    assert (view.round, view.revealed, view.closed) == (1, False, False)


def test_reveal_freezes_the_round_and_next_round_starts_a_new_one(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    store.reveal(key)
    assert store.get(key.code).revealed
    with pytest.raises(RoomError, match="answer is out"):
        store.add_guess(key.code, "student-bbbb", "Lyon")
    assert store.next_round(key, "The package left the") == 2
    view = store.get(key.code)
    assert (view.round, view.prompt, view.revealed, view.total) == (2, "The package left the", False, 0)
    assert store.my_guess(key.code, "student-aaaa") is None  # a new round: no guess yet
    with pytest.raises(RoomError, match="moved on"):
        store.add_guess(key.code, "student-aaaa", "Paris", round_number=1)  # a page still showing round 1
    store.add_guess(key.code, "student-aaaa", "warehouse", round_number=2)
    records = store.rounds(key)
    assert [(r.number, r.prompt, r.revealed, r.counts) for r in records] == [
        (1, PROMPT, True, (("Paris", 1),)),
        (2, "The package left the", False, (("warehouse", 1),)),
    ]


def test_close_forgets_the_guesses(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    store.close(key)
    view = store.get(key.code)
    assert view.closed and view.total == 0
    with pytest.raises(RoomError, match="closed"):
        store.add_guess(key.code, "student-aaaa", "Paris")
    with pytest.raises(RoomError, match="closed"):
        store.next_round(key, "Another")


def test_a_round_takes_at_most_its_limit_of_guesses(store):
    key = store.create_room(PROMPT)
    for i in range(MAX_GUESSES_PER_ROUND):
        store.add_guess(key.code, f"student-{i:06d}", "Paris")
    with pytest.raises(RoomError, match=str(MAX_GUESSES_PER_ROUND)):
        store.add_guess(key.code, "student-late", "Paris")
    store.add_guess(key.code, "student-000001", "Lyon")  # changing a guess is still fine
    assert dict(store.get(key.code).counts) == {"Paris": MAX_GUESSES_PER_ROUND - 1, "Lyon": 1}


def test_rooms_expire(make_store):
    store = make_store(ttl=1.0)
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    assert store.get(key.code).total == 1
    time.sleep(2.0)  # past the time to live (not a timing assertion: only that the room is gone afterwards)
    store.expire()
    with pytest.raises(RoomNotFound):
        store.get(key.code)
    with pytest.raises(RoomNotFound):
        store.add_guess(key.code, "student-aaaa", "Paris")


def test_memory_store_expiry_with_a_clock():
    now = [1000.0]
    store = MemoryRoomStore(ttl=60, clock=lambda: now[0])
    key = store.create_room(PROMPT)
    now[0] += 59
    store.reveal(key)  # a teacher's action: another 60 s from now
    now[0] += 59
    assert store.get(key.code).revealed
    now[0] += 2
    assert store.expire() == 1
    with pytest.raises(RoomNotFound):
        store.get(key.code)


def test_two_redis_stores_see_the_same_room(redis_url):
    """Two replicas: a room made through one store object is read and answered through another."""
    prefix = f"test:{uuid.uuid4().hex}:"
    one, two = RedisRoomStore(redis_url, prefix=prefix), RedisRoomStore(redis_url, prefix=prefix)
    key = one.create_room(PROMPT)
    two.add_guess(key.code, "student-aaaa", "Paris")
    one.add_guess(key.code, "student-bbbb", "Paris")
    assert two.get(key.code).counts == (("Paris", 2),)
    two.reveal(key)
    assert one.get(key.code).revealed
    assert one.rounds(key) == two.rounds(key)


def test_an_unreachable_redis_gives_a_message():
    store = RedisRoomStore(f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(StoreUnavailable, match="not reachable"):
        store.create_room(PROMPT)


def test_the_teacher_resumes_with_the_key_and_only_with_it(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    view = store.resume(TeacherKey(key.code.lower(), key.token))
    assert (view.code, view.round, view.total) == (key.code, 1, 1)
    with pytest.raises(NotTeacher):
        store.resume(TeacherKey(key.code, "not-the-token"))
    store.close(key)
    with pytest.raises(RoomError, match="closed"):
        store.resume(key)


def _start_redis(port: int, workdir: str, persist: bool) -> subprocess.Popen:
    save = ["--appendonly", "yes", "--appendfsync", "always"] if persist else ["--save", "", "--appendonly", "no"]
    cmd = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, *save]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            pytest.fail("redis-server did not start")
        time.sleep(0.1)


def _stop_redis(proc: subprocess.Popen) -> None:
    proc.terminate()  # SIGTERM: Redis flushes its append-only file and exits
    proc.wait(timeout=30)


@pytest.mark.parametrize("persist", [True, False], ids=["appendonly", "no-persistence"])
def test_a_room_outlives_a_restart_of_the_app_and_of_a_persistent_redis(redis_url, persist):
    """The app restarting makes a new store object: the teacher's key still runs the room. Redis restarting keeps
    the room only when it saves to disk; without that the room is gone (RoomNotFound, told apart by the page)."""
    workdir = tempfile.mkdtemp(prefix="nte-redis-restart-")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    proc = _start_redis(port, workdir, persist)
    try:
        key = RedisRoomStore(url).create_room(PROMPT)
        RedisRoomStore(url).add_guess(key.code, "student-aaaa", "Paris")
        assert RedisRoomStore(url).resume(key).total == 1  # a new app process, the same Redis
        _stop_redis(proc)
        proc = _start_redis(port, workdir, persist)
        after = RedisRoomStore(url)
        if persist:
            view = after.resume(key)
            assert (view.round, view.counts) == (1, (("Paris", 1),))
            after.reveal(key)
            assert after.get(key.code).revealed
        else:
            with pytest.raises(RoomNotFound):
                after.resume(key)
    finally:
        _stop_redis(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_locked_round_takes_no_more_guesses_until_the_next(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    store.lock(key)
    view = store.get(key.code)
    assert view.locked and not view.revealed and view.total == 1
    with pytest.raises(RoomError, match="locked"):
        store.add_guess(key.code, "student-bbbb", "Lyon")
    with pytest.raises(RoomError, match="locked"):
        store.add_guess(key.code, "student-aaaa", "Lyon")  # no change either
    store.reveal(key)
    assert store.get(key.code).revealed
    store.next_round(key, "The package left the")
    assert not store.get(key.code).locked
    store.add_guess(key.code, "student-bbbb", "warehouse")
    with pytest.raises(NotTeacher):
        store.lock(TeacherKey(key.code, "not-the-token"))


def test_a_removed_guess_leaves_every_view_and_the_results(store):
    key = store.create_room(PROMPT)
    for student, guess in (("student-aaaa", "Paris"), ("student-bbbb", "rude"), ("student-cccc", "rude")):
        store.add_guess(key.code, student, guess)
    store.hide_guess(key, " rude ")
    view = store.get(key.code)
    assert view.counts == (("Paris", 1),) and view.total == 1 and view.hidden == ("rude",)
    store.add_guess(key.code, "student-dddd", "rude")  # guessing it again does not bring it back
    assert store.get(key.code).counts == (("Paris", 1),)
    assert store.rounds(key)[0].counts == (("Paris", 1),)
    store.hide_guess(key, "rude", hidden=False)
    assert store.get(key.code).counts == (("rude", 3), ("Paris", 1))
    with pytest.raises(NotTeacher):
        store.hide_guess(TeacherKey(key.code, "not-the-token"), "Paris")


def test_moving_the_room_gives_a_new_code_and_kills_the_old_one(store):
    key = store.create_room(PROMPT)
    store.add_guess(key.code, "student-aaaa", "Paris")
    store.reveal(key)
    store.next_round(key, "The package left the")
    store.add_guess(key.code, "student-aaaa", "warehouse")
    store.hide_guess(key, "warehouse")
    moved = store.move(key)
    assert moved.code != key.code and moved.token == key.token
    with pytest.raises(RoomNotFound):
        store.get(key.code)
    with pytest.raises(RoomNotFound):
        store.add_guess(key.code, "student-bbbb", "hub")
    view = store.get(moved.code)
    assert (view.round, view.prompt, view.hidden) == (2, "The package left the", ("warehouse",))
    store.add_guess(moved.code, "student-bbbb", "hub")
    assert store.my_guess(moved.code, "student-aaaa") == "warehouse"
    assert [r.counts for r in store.rounds(moved)] == [(("Paris", 1),), (("hub", 1),)]
    with pytest.raises(NotTeacher):
        store.move(TeacherKey(moved.code, "not-the-token"))


def test_hit_counts_per_name_in_fixed_windows(make_store):
    store = make_store()
    assert [store.hit("join:K7MX3P:10.0.0.1", 60) for _ in range(3)] == [1, 2, 3]
    assert store.hit("join:K7MX3P:10.0.0.2", 60) == 1  # another client
    assert store.hit("join:K7MX3P:10.0.0.1", 60, count=0) == 3  # a read adds nothing
    assert store.hit("join:K7MX3P:10.0.0.3", 60, count=0) == 0
    assert store.hit("lookup:10.0.0.1", 0.2) == 1
    time.sleep(0.5)  # past the short window (not a timing assertion: only that a new window starts)
    assert store.hit("lookup:10.0.0.1", 0.2) == 1
    assert store.hit("join:K7MX3P:10.0.0.1", 60) == 4


def test_a_round_timer_locks_the_guesses_when_it_runs_out(store):
    key = store.create_room(PROMPT)
    store.lock(key, after=1.0)
    view = store.get(key.code)
    assert not view.locked and 0 < view.locks_in <= 1.0
    store.add_guess(key.code, "student-aaaa", "Paris")  # still open
    store.lock(key, after=600)  # a later timer does not postpone the first one
    time.sleep(1.5)  # past the timer (not a timing assertion: only that the round is locked afterwards)
    view = store.get(key.code)
    assert view.locked and view.locks_in is None and view.total == 1
    with pytest.raises(RoomError, match="locked"):
        store.add_guess(key.code, "student-bbbb", "Lyon")
    store.next_round(key, "The package left the")
    assert store.get(key.code).locks_in is None and not store.get(key.code).locked

"""Class-poll rooms behind one small interface (``RoomStore``): in this process by default (``MemoryRoomStore``),
in Redis when the operator gives a URL (``RedisRoomStore``, for several replicas). ``room_store(url)`` picks one.

A room has a short code that students type or scan (6 characters from an alphabet without 0/O/1/I/L, drawn with
``secrets``: 31**6, about 887 million codes) and a secret teacher token that only the teacher's session holds:
starting a round, revealing and closing need it. Each student's guess is kept under an anonymous id; what anyone
reads back is the histogram (guess -> count) and, for a student, their own guess. A room expires ``ttl`` seconds
(default 2 h) after the teacher's last action; a closed room forgets its guesses and is kept CLOSED_TTL seconds so
students see that it closed. The teacher can lock a round's guesses before the reveal, remove a guess from what
everyone sees (an offensive one), and move the room to a new code (a flooded or leaked one: the old code stops
working). ``hit`` counts requests per client in fixed windows, for the page's per-client limits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.poll import check_guess, guess_histogram
from core.text import PromptError, clean_prompt

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: nothing to misread on a projector
CODE_LENGTH = 6
DEFAULT_TTL = 2 * 60 * 60.0  # seconds
CLOSED_TTL = 10 * 60.0  # seconds a closed room still answers "closed"
MAX_GUESSES_PER_ROUND = 500
MAX_ROUNDS = 50
MAX_ROOMS = 500  # open rooms one process keeps (the in-process store)
MAX_POLL_PROMPT_CHARS = 1_000


class RoomError(ValueError):
    """Something a room will not do; the message says why, for the person who asked."""


class RoomNotFound(RoomError):
    """No open room has this code (mistyped, never made, or expired)."""


class NotTeacher(RoomError):
    """The teacher token is missing or wrong."""


class StoreUnavailable(RoomError):
    """The room store (Redis) cannot be reached."""


@dataclass(frozen=True)
class TeacherKey:
    """What the teacher's session keeps: the room's code and the secret token that runs it."""

    code: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class RoomView:
    """What anyone with the code may read of a room: the current round and the class's histogram, no entries.

    Attributes:
        counts: (guess, number of students) pairs, most frequent first.
        expires_in: seconds until the room expires.
    """

    code: str
    round: int
    prompt: str
    revealed: bool
    closed: bool
    counts: tuple[tuple[str, int], ...]
    expires_in: float
    locked: bool = False  # the teacher stopped taking guesses for this round (before the reveal)
    hidden: tuple[str, ...] = ()  # guesses the teacher removed from what everyone sees (not in ``counts``)
    locks_in: float | None = None  # seconds until the round's timer locks the guesses, while it runs

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True)
class RoundRecord:
    """One round for the teacher's results: its prompt and the histogram of its guesses."""

    number: int
    prompt: str
    revealed: bool
    counts: tuple[tuple[str, int], ...]  # without the guesses the teacher removed


class RoomStore(Protocol):
    """The rooms of the class poll. Every method raises RoomError (or a subclass) with a sentence for the person."""

    def create_room(self, prompt: str) -> TeacherKey: ...
    def get(self, code: str) -> RoomView: ...
    def add_guess(self, code: str, student: str, guess: str, round_number: int | None = None) -> str: ...
    def my_guess(self, code: str, student: str) -> str | None: ...
    def next_round(self, key: TeacherKey, prompt: str) -> int: ...
    def resume(self, key: TeacherKey) -> RoomView: ...
    def reveal(self, key: TeacherKey) -> None: ...
    def lock(self, key: TeacherKey, after: float = 0.0) -> None: ...
    def hide_guess(self, key: TeacherKey, guess: str, hidden: bool = True) -> None: ...
    def move(self, key: TeacherKey) -> TeacherKey: ...
    def close(self, key: TeacherKey) -> None: ...
    def rounds(self, key: TeacherKey) -> list[RoundRecord]: ...
    def expire(self) -> int: ...
    def hit(self, name: str, window: float, count: int = 1) -> int: ...


def new_code() -> str:
    """A fresh room code: CODE_LENGTH characters of ALPHABET, each drawn with ``secrets``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: object) -> str:
    """A typed code as stored: upper case, spaces and dashes removed.

    Raises:
        RoomNotFound: not CODE_LENGTH characters of ALPHABET.
    """
    code = "".join(str(text or "").split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        shown = code[:12] + ("…" if len(code) > 12 else "")
        raise RoomNotFound(f"'{shown}' is not a room code: a code is {CODE_LENGTH} letters and digits, like K7MX3P.")
    return code


def check_poll_prompt(prompt: str) -> str:
    """A round's prompt, checked like every prompt box (PromptError) and at most MAX_POLL_PROMPT_CHARS long."""
    return clean_prompt(prompt, max_chars=MAX_POLL_PROMPT_CHARS)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _counts(guesses, hidden=()) -> tuple[tuple[str, int], ...]:
    hidden = set(hidden)
    return tuple((guess, n) for guess, n in guess_histogram(guesses).items() if guess not in hidden)


def _ms(value: str | None) -> float | None:
    """A stored Unix time in ms as seconds, or None."""
    try:
        return int(value) / 1000.0 if value else None
    except ValueError:
        return None


def _bucket(name: str) -> str:
    """A rate-limit counter's name as stored: hashed, so no client address is kept in the store."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


def _not_found(code: str) -> RoomNotFound:
    return RoomNotFound(f"No open room has the code {code}: check the code (rooms close after two hours).")


def _student(student: str) -> str:
    if not isinstance(student, str) or not 8 <= len(student) <= 64:
        raise RoomError("This browser has no student id; reload the page.")
    return student


# In process.


@dataclass
class _Round:
    prompt: str
    revealed: bool = False
    entries: dict[str, str] = field(default_factory=dict)  # anonymous student id -> guess
    locks_at: float | None = None  # clock time the guesses lock (the teacher's lock or round timer)
    hidden: set[str] = field(default_factory=set)  # guesses the teacher removed from the chart


@dataclass
class _Room:
    teacher: str  # sha256 of the teacher token
    rounds: list[_Round]
    expires_at: float
    closed: bool = False


class MemoryRoomStore:
    """Rooms in this process (one dict behind one lock): for one server process, and for tests."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = float(ttl)
        self._clock = clock
        self._rooms: dict[str, _Room] = {}
        self._hits: dict[str, tuple[float, int]] = {}  # bucket -> (end of its window, count)
        self._lock = threading.Lock()

    def _sweep(self) -> int:
        now = self._clock()
        gone = [code for code, room in self._rooms.items() if room.expires_at <= now]
        for code in gone:
            del self._rooms[code]
        for name in [name for name, (end, _) in self._hits.items() if end <= now]:
            del self._hits[name]
        return len(gone)

    def hit(self, name: str, window: float, count: int = 1) -> int:
        """Add ``count`` requests (0: only read) under ``name`` in its current window of ``window`` seconds;
        returns the window's count so far."""
        bucket = _bucket(name)
        with self._lock:
            now = self._clock()
            end, total = self._hits.get(bucket, (0.0, 0))
            if end <= now:
                if len(self._hits) > 100_000:
                    self._sweep()
                end, total = now + window, 0
            if count:
                self._hits[bucket] = (end, total + count)
            return total + count

    def _room(self, code: str) -> _Room:
        code = normalise_code(code)
        room = self._rooms.get(code)
        if room is None or room.expires_at <= self._clock():
            raise _not_found(code)
        return room

    def _teacher_room(self, key: TeacherKey) -> _Room:
        room = self._room(key.code)
        if not hmac.compare_digest(room.teacher, _digest(str(key.token))):
            raise NotTeacher("Only the teacher who started this room can do that.")
        if room.closed:
            raise RoomError("This room is closed.")
        return room

    def expire(self) -> int:
        """Forget every expired room now; returns how many."""
        with self._lock:
            return self._sweep()

    def create_room(self, prompt: str) -> TeacherKey:
        prompt = check_poll_prompt(prompt)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sweep()
            if len(self._rooms) >= MAX_ROOMS:
                raise RoomError(f"This server already holds {MAX_ROOMS} open rooms; try again later.")
            code = new_code()
            while code in self._rooms:
                code = new_code()
            self._rooms[code] = _Room(_digest(token), [_Round(prompt)], self._clock() + self.ttl)
        return TeacherKey(code, token)

    def get(self, code: str) -> RoomView:
        with self._lock:
            room = self._room(code)
            current = room.rounds[-1]
            return RoomView(
                normalise_code(code),
                len(room.rounds),
                current.prompt,
                current.revealed,
                room.closed,
                _counts(current.entries.values(), current.hidden),
                max(0.0, room.expires_at - self._clock()),
                _locked(current.locks_at, self._clock()),
                tuple(sorted(current.hidden)),
                _locks_in(current.locks_at, self._clock()),
            )

    def add_guess(self, code: str, student: str, guess: str, round_number: int | None = None) -> str:
        student, guess = _student(student), check_guess(guess)
        with self._lock:
            room = self._room(code)
            current = room.rounds[-1]
            locked = _locked(current.locks_at, self._clock())
            refusal = _refusal(room.closed, len(room.rounds), current.revealed, round_number, locked)
            if refusal is None and student not in current.entries and len(current.entries) >= MAX_GUESSES_PER_ROUND:
                refusal = "full"
            if refusal:
                raise RoomError(_REFUSALS[refusal])
            current.entries[student] = guess
        return guess

    def my_guess(self, code: str, student: str) -> str | None:
        with self._lock:
            return self._room(code).rounds[-1].entries.get(student)

    def resume(self, key: TeacherKey) -> RoomView:
        """The room ``key`` runs, for a teacher coming back (a reload, another tab, a restarted server).

        Raises:
            RoomNotFound: no such room (expired, or lost by the store); NotTeacher: the token is wrong;
            RoomError: the room is closed.
        """
        with self._lock:
            self._teacher_room(key)
        return self.get(key.code)

    def next_round(self, key: TeacherKey, prompt: str) -> int:
        prompt = check_poll_prompt(prompt)
        with self._lock:
            room = self._teacher_room(key)
            if len(room.rounds) >= MAX_ROUNDS:
                raise RoomError(f"A room holds at most {MAX_ROUNDS} rounds; start a new poll.")
            room.rounds.append(_Round(prompt))
            room.expires_at = self._clock() + self.ttl
            return len(room.rounds)

    def reveal(self, key: TeacherKey) -> None:
        with self._lock:
            room = self._teacher_room(key)
            room.rounds[-1].revealed = True
            room.expires_at = self._clock() + self.ttl

    def lock(self, key: TeacherKey, after: float = 0.0) -> None:
        """Stop taking guesses for the current round now, or ``after`` seconds from now (a round timer); the class
        sees the count, not yet the model's answer."""
        with self._lock:
            room = self._teacher_room(key)
            current, at = room.rounds[-1], self._clock() + max(0.0, float(after))
            current.locks_at = at if current.locks_at is None else min(current.locks_at, at)
            room.expires_at = self._clock() + self.ttl

    def hide_guess(self, key: TeacherKey, guess: str, hidden: bool = True) -> None:
        """Remove ``guess`` from the current round's histogram for everyone (or, ``hidden=False``, put it back)."""
        guess = check_guess(guess)
        with self._lock:
            current = self._teacher_room(key).rounds[-1]
            if hidden:
                current.hidden.add(guess)
            else:
                current.hidden.discard(guess)

    def move(self, key: TeacherKey) -> TeacherKey:
        """The room under a fresh code, with its rounds and the same token; the old code stops working."""
        with self._lock:
            room = self._teacher_room(key)
            code = new_code()
            while code in self._rooms:
                code = new_code()
            del self._rooms[normalise_code(key.code)]
            self._rooms[code] = room
            room.expires_at = self._clock() + self.ttl
        return TeacherKey(code, key.token)

    def close(self, key: TeacherKey) -> None:
        with self._lock:
            room = self._teacher_room(key)
            room.closed = True
            for past in room.rounds:
                past.entries.clear()
                past.hidden.clear()
            room.expires_at = self._clock() + min(CLOSED_TTL, self.ttl)

    def rounds(self, key: TeacherKey) -> list[RoundRecord]:
        with self._lock:
            room = self._teacher_room(key)
            return [
                RoundRecord(n, r.prompt, r.revealed, _counts(r.entries.values(), r.hidden))
                for n, r in enumerate(room.rounds, start=1)
            ]


_REFUSALS = {
    "closed": "The teacher has closed this room.",
    "moved": "The teacher has moved on to another round: here is the new prompt.",
    "revealed": "The model's answer is out: wait for the next round.",
    "locked": "The teacher has locked the guesses for this round: wait for the reveal.",
    "full": f"This round already has {MAX_GUESSES_PER_ROUND} guesses.",
}


def _locked(locks_at: float | None, now: float) -> bool:
    return locks_at is not None and now >= locks_at


def _locks_in(locks_at: float | None, now: float) -> float | None:
    return locks_at - now if locks_at is not None and now < locks_at else None


def _refusal(closed: bool, current: int, revealed: bool, round_number: int | None, locked: bool = False) -> str | None:
    """Why a guess for ``round_number`` (None: the current one) cannot be taken now (a _REFUSALS key), or None."""
    if closed:
        return "closed"
    if round_number is not None and round_number != current:
        return "moved"
    if revealed:
        return "revealed"
    return "locked" if locked else None


# In Redis: one hash per room (teacher digest, round number, closed flag, each round's prompt and revealed flag)
# and one hash per round (student id -> guess), all with the room's time to live.

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'teacher', ARGV[1], 'round', '1', 'closed', '0', 'prompt:1', ARGV[2], 'revealed:1', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the room, the round's entries. ARGV: round number, student, guess, most guesses per round, now (Unix ms).
_ADD_GUESS = """
local room = redis.call('HMGET', KEYS[1], 'round', 'closed', 'revealed:' .. ARGV[1], 'locked:' .. ARGV[1])
if not room[1] then return 'gone' end
if room[2] == '1' then return 'closed' end
if room[1] ~= ARGV[1] then return 'moved' end
if room[3] == '1' then return 'revealed' end
if room[4] and tonumber(room[4]) <= tonumber(ARGV[5]) then return 'locked' end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then
  return 'full'
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 'ok'
"""

# KEYS: the room under its old and its new code. ARGV: the old and the new key prefix of its rounds' keys.
_MOVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local rounds = redis.call('HGET', KEYS[1], 'round')
if not rounds then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
for i = 1, tonumber(rounds) do
  for _, kind in ipairs({':r', ':h'}) do
    local old = ARGV[1] .. kind .. i
    if redis.call('EXISTS', old) == 1 then redis.call('RENAME', old, ARGV[2] .. kind .. i) end
  end
end
return 1
"""

# KEYS: the counter. ARGV: its window in ms, how many to add (0: only read). A fixed window: the first hit sets
# the expiry.
_HIT = """
if ARGV[2] == '0' then return tonumber(redis.call('GET', KEYS[1]) or '0') end
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRoomStore:
    """Rooms in Redis (the ``redis`` package): every replica behind a load balancer sees the same rooms.

    Expiry is Redis's own (PEXPIRE on every key of a room); the checks that must not race (a guess against the
    round, the reveal and the per-round limit) run in one Lua script.
    """

    def __init__(self, url: str, ttl: float = DEFAULT_TTL, prefix: str = "nte:poll:") -> None:
        import redis  # only a Redis deployment needs the package

        self.ttl = float(ttl)
        self.prefix = prefix
        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._create = self._redis.register_script(_CREATE)
        self._add = self._redis.register_script(_ADD_GUESS)
        self._move = self._redis.register_script(_MOVE)
        self._hit = self._redis.register_script(_HIT)

    def _key(self, code: str) -> str:
        return f"{self.prefix}{code}"

    def _entries_key(self, code: str, number: int) -> str:
        return f"{self.prefix}{code}:r{number}"

    def _hidden_key(self, code: str, number: int) -> str:
        return f"{self.prefix}{code}:h{number}"

    def _call(self, fn: Callable, *args):
        try:
            return fn(*args)
        except self._errors as error:
            raise StoreUnavailable("The room store is not reachable just now; try again in a moment.") from error

    def _room(self, code: str) -> tuple[str, dict[str, str]]:
        code = normalise_code(code)
        data = self._call(self._redis.hgetall, self._key(code))
        if not data or "round" not in data:
            raise _not_found(code)
        return code, data

    def _teacher_room(self, key: TeacherKey) -> tuple[str, dict[str, str]]:
        code, data = self._room(key.code)
        if not hmac.compare_digest(data.get("teacher", ""), _digest(str(key.token))):
            raise NotTeacher("Only the teacher who started this room can do that.")
        if data.get("closed") == "1":
            raise RoomError("This room is closed.")
        return code, data

    def _refresh(self, code: str, rounds: int, ttl: float | None = None) -> None:
        ms = int((self.ttl if ttl is None else ttl) * 1000)
        pipe = self._redis.pipeline()
        pipe.pexpire(self._key(code), ms)
        for n in range(1, rounds + 1):
            pipe.pexpire(self._entries_key(code, n), ms)
            pipe.pexpire(self._hidden_key(code, n), ms)
        self._call(pipe.execute)

    def expire(self) -> int:
        """Redis forgets expired keys itself: nothing to do (0)."""
        return 0

    def create_room(self, prompt: str) -> TeacherKey:
        prompt = check_poll_prompt(prompt)
        token = secrets.token_urlsafe(24)
        for _ in range(20):
            code = new_code()
            made = self._call(self._create, [self._key(code)], [_digest(token), prompt, int(self.ttl * 1000)])
            if made:
                return TeacherKey(code, token)
        raise RoomError("Could not find a free room code; try again.")

    def get(self, code: str) -> RoomView:
        code, data = self._room(code)
        number = int(data["round"])
        pipe = self._redis.pipeline(transaction=False)
        pipe.hvals(self._entries_key(code, number))
        pipe.pttl(self._key(code))
        pipe.smembers(self._hidden_key(code, number))
        guesses, ttl_ms, hidden = self._call(pipe.execute)
        return RoomView(
            code,
            number,
            data.get(f"prompt:{number}", ""),
            data.get(f"revealed:{number}") == "1",
            data.get("closed") == "1",
            _counts(guesses, hidden),
            max(0.0, ttl_ms / 1000.0) if ttl_ms and ttl_ms > 0 else 0.0,
            _locked(_ms(data.get(f"locked:{number}")), time.time()),
            tuple(sorted(hidden)),
            _locks_in(_ms(data.get(f"locked:{number}")), time.time()),
        )

    def add_guess(self, code: str, student: str, guess: str, round_number: int | None = None) -> str:
        student, guess = _student(student), check_guess(guess)
        code, data = self._room(code)
        number = int(data["round"]) if round_number is None else int(round_number)
        keys = [self._key(code), self._entries_key(code, number)]
        now_ms = int(time.time() * 1000)
        outcome = self._call(self._add, keys, [number, student, guess, MAX_GUESSES_PER_ROUND, now_ms])
        if outcome == "gone":
            raise _not_found(code)
        if outcome != "ok":
            raise RoomError(_REFUSALS[outcome])
        return guess

    def my_guess(self, code: str, student: str) -> str | None:
        code, data = self._room(code)
        return self._call(self._redis.hget, self._entries_key(code, int(data["round"])), student)

    def resume(self, key: TeacherKey) -> RoomView:
        """The room ``key`` runs, for a teacher coming back; raises as ``MemoryRoomStore.resume``."""
        self._teacher_room(key)
        return self.get(key.code)

    def next_round(self, key: TeacherKey, prompt: str) -> int:
        prompt = check_poll_prompt(prompt)
        code, data = self._teacher_room(key)
        number = int(data["round"]) + 1
        if number > MAX_ROUNDS:
            raise RoomError(f"A room holds at most {MAX_ROUNDS} rounds; start a new poll.")
        mapping = {f"prompt:{number}": prompt, f"revealed:{number}": "0", "round": str(number)}
        self._call(self._redis.hset, self._key(code), None, None, mapping)
        self._refresh(code, number)
        return number

    def reveal(self, key: TeacherKey) -> None:
        code, data = self._teacher_room(key)
        self._call(self._redis.hset, self._key(code), f"revealed:{data['round']}", "1")
        self._refresh(code, int(data["round"]))

    def lock(self, key: TeacherKey, after: float = 0.0) -> None:
        code, data = self._teacher_room(key)
        field_name = f"locked:{data['round']}"
        at = int((time.time() + max(0.0, float(after))) * 1000)  # Unix ms; every replica reads the same clock
        earlier = _ms(data.get(field_name))
        if earlier is not None:
            at = min(at, int(earlier * 1000))
        self._call(self._redis.hset, self._key(code), field_name, str(at))
        self._refresh(code, int(data["round"]))

    def hide_guess(self, key: TeacherKey, guess: str, hidden: bool = True) -> None:
        guess = check_guess(guess)
        code, data = self._teacher_room(key)
        number = int(data["round"])
        if hidden:
            self._call(self._redis.sadd, self._hidden_key(code, number), guess)
        else:
            self._call(self._redis.srem, self._hidden_key(code, number), guess)
        self._refresh(code, number)

    def move(self, key: TeacherKey) -> TeacherKey:
        code, _ = self._teacher_room(key)
        for _ in range(20):
            fresh = new_code()
            keys = [self._key(code), self._key(fresh)]
            moved = self._call(self._move, keys, [self._key(code), self._key(fresh)])
            if moved == 0:
                raise _not_found(code)
            if moved == 1:
                data = self._room(fresh)[1]
                self._refresh(fresh, int(data["round"]))
                return TeacherKey(fresh, key.token)
        raise RoomError("Could not find a free room code; try again.")

    def hit(self, name: str, window: float, count: int = 1) -> int:
        key = f"{self.prefix}hits:{_bucket(name)}"
        return int(self._call(self._hit, [key], [max(1, int(window * 1000)), int(count)]))

    def close(self, key: TeacherKey) -> None:
        code, data = self._teacher_room(key)
        number = int(data["round"])
        self._call(self._redis.hset, self._key(code), "closed", "1")
        keys = [self._entries_key(code, n) for n in range(1, number + 1)]
        keys += [self._hidden_key(code, n) for n in range(1, number + 1)]
        self._call(self._redis.delete, *keys)
        self._refresh(code, 0, min(CLOSED_TTL, self.ttl))

    def rounds(self, key: TeacherKey) -> list[RoundRecord]:
        code, data = self._teacher_room(key)
        number = int(data["round"])
        pipe = self._redis.pipeline(transaction=False)
        for n in range(1, number + 1):
            pipe.hvals(self._entries_key(code, n))
            pipe.smembers(self._hidden_key(code, n))
        found = self._call(pipe.execute)
        return [
            RoundRecord(n, data.get(f"prompt:{n}", ""), data.get(f"revealed:{n}") == "1", _counts(guesses, hidden))
            for n, guesses, hidden in zip(range(1, number + 1), found[0::2], found[1::2])
        ]


def room_store(url: str | None = None, *, ttl: float = DEFAULT_TTL) -> RoomStore:
    """Redis when ``url`` is given (``redis://host:6379/0``), else a store in this process."""
    if url:
        return RedisRoomStore(url, ttl=ttl)
    return MemoryRoomStore(ttl=ttl)


__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "MemoryRoomStore",
    "NotTeacher",
    "PromptError",
    "RedisRoomStore",
    "RoomError",
    "RoomNotFound",
    "RoomStore",
    "RoomView",
    "RoundRecord",
    "StoreUnavailable",
    "TeacherKey",
    "room_store",
]

"""A small per-session memo of model outputs, keyed by (kind, model name, inputs), inside one memory budget.

Moving a slider re-runs the page script; this keeps the model from running again on the same prompt. Each session's
memo lives in ``st.session_state`` (never shared) as a ``SessionMemo``: a dict of kind -> LRU table of values.

A class of 30 students shares one small server, so memoised values are counted in bytes (``nbytes_of``: the
tensors, arrays and strings they hold, ``core.serving.memory.nbytes_of``) against two budgets (README, Operator notes):

- ``memo_session_mb`` per session: a session over it forgets its own least recently used values;
- ``memo_total_mb`` for the whole process: over it, the least recently used values of *any* session go first (a
  student who left ten minutes ago loses theirs before an active one does).

A session's values are freed with its session state when Streamlit ends the session; the budget's accounting
follows (a weak reference per session memo), so a finished session stops counting against the class.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from core.forward import ForwardFn, Need
from core.next_token import NextTokenDistribution, next_token_distribution
from core.serving.memory import nbytes_of
from ui import state
from ui.inference import owner_id, shared_forward
from ui.settings import limits

MB = 1024 * 1024


class SessionMemo(dict):
    """One session's memo: kind -> OrderedDict(key -> value), least recently used first; ``sizes`` holds bytes."""

    def __init__(self, session_id: str = "") -> None:
        super().__init__()
        self.session_id = session_id  # whose memo (ui.idle_release forgets the memos of sessions that have left)
        self.sizes: OrderedDict[tuple[str, Hashable], int] = OrderedDict()  # least recently used first

    @property
    def nbytes(self) -> int:
        return sum(self.sizes.values())

    def drop(self, kind: str, key: Hashable) -> None:
        """Forget one value (and its bytes)."""
        table = self.get(kind)
        if table is not None:
            table.pop(key, None)
        self.sizes.pop((kind, key), None)

    def touch(self, kind: str, key: Hashable) -> None:
        """Mark (kind, key) as just used."""
        self[kind].move_to_end(key)
        if (kind, key) in self.sizes:
            self.sizes.move_to_end((kind, key))


class _Budget:
    """Every session memo's entries in this process, least recently used first, with their bytes."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.order: OrderedDict[tuple[int, str, Hashable], int] = OrderedDict()  # (id(memo), kind, key) -> bytes
        self.memos: dict[int, weakref.ref[SessionMemo]] = {}
        self.total = 0

    def track(self, memo: SessionMemo) -> None:
        with self.lock:
            if id(memo) not in self.memos:
                self.memos[id(memo)] = weakref.ref(memo)
                weakref.finalize(memo, self.forget_memo, id(memo))

    def forget_memo(self, memo_id: int) -> None:
        """A session ended (its memo was collected): its values no longer count."""
        with self.lock:
            self.memos.pop(memo_id, None)
            for entry in [e for e in self.order if e[0] == memo_id]:
                self.total -= self.order.pop(entry)

    def forget_sessions(self, gone: Callable[[str], bool]) -> int:
        """Drop every value of each memo whose session ``gone(session_id)`` says has left (its tab closed: Streamlit
        keeps a disconnected session's state a while for a reconnect, which then recomputes); returns bytes freed."""
        freed = 0
        with self.lock:
            for memo_id, ref in list(self.memos.items()):
                memo = ref()
                if memo is None or not memo.session_id or not gone(memo.session_id):
                    continue
                for entry in [e for e in self.order if e[0] == memo_id]:
                    freed += self.order.pop(entry)
                    memo.drop(entry[1], entry[2])
            self.total -= freed
        return freed

    def touch(self, memo: SessionMemo, kind: str, key: Hashable) -> None:
        with self.lock:
            entry = (id(memo), kind, key)
            if entry in self.order:
                self.order.move_to_end(entry)

    def add(self, memo: SessionMemo, kind: str, key: Hashable, nbytes: int) -> None:
        with self.lock:
            self.remove(memo, kind, key)
            self.order[(id(memo), kind, key)] = nbytes
            self.total += nbytes

    def remove(self, memo: SessionMemo, kind: str, key: Hashable) -> None:
        with self.lock:
            self.total -= self.order.pop((id(memo), kind, key), 0)

    def evict(self, limit: int, keep: tuple[int, str, Hashable]) -> None:
        """Drop the least recently used entries of any session until the total is within ``limit``."""
        with self.lock:
            for entry in list(self.order):
                if self.total <= limit:
                    break
                if entry == keep:
                    continue
                memo = self.memos.get(entry[0], lambda: None)()
                self.total -= self.order.pop(entry)
                if memo is not None:
                    memo.drop(entry[1], entry[2])


BUDGET = _Budget()


def current_memo() -> SessionMemo:
    """This session's memo (made on first use; a plain dict left by an older run is replaced)."""
    memo = st.session_state.get(state.MEMO)
    if not isinstance(memo, SessionMemo):
        memo = SessionMemo(owner_id())
        st.session_state[state.MEMO] = memo
    BUDGET.track(memo)
    return memo


def remember(kind: str, key: Hashable, value: Any, *, max_entries: int = 8) -> None:
    """Store ``value`` under (kind, key) and keep the session's and the process's budgets."""
    memo = current_memo()
    table = memo.setdefault(kind, OrderedDict())
    size = nbytes_of(value)
    table[key] = value
    table.move_to_end(key)
    memo.sizes.pop((kind, key), None)
    memo.sizes[(kind, key)] = size
    BUDGET.add(memo, kind, key, size)
    while len(table) > max_entries:
        old, _ = table.popitem(last=False)
        memo.sizes.pop((kind, old), None)
        BUDGET.remove(memo, kind, old)
    budget = limits()
    session_limit = budget.memo_session_mb * MB
    for entry_kind, entry_key in list(memo.sizes):  # this session's least recently used values first
        if memo.nbytes <= session_limit:
            break
        if (entry_kind, entry_key) != (kind, key):
            memo.drop(entry_kind, entry_key)
            BUDGET.remove(memo, entry_kind, entry_key)
    BUDGET.evict(budget.memo_total_mb * MB, keep=(id(memo), kind, key))


def session_memo(kind: str, key: Hashable, compute: Callable[[], Any], *, max_entries: int = 8) -> Any:
    """Return the memoised value for (kind, key), computing and storing it on a miss (LRU per kind, byte budgets)."""
    memo = current_memo()
    table = memo.get(kind)
    if table is not None and key in table:
        memo.touch(kind, key)
        BUDGET.touch(memo, kind, key)
        return table[key]
    value = compute()
    remember(kind, key, value, max_entries=max_entries)
    return value


FORWARD_RECORDS = 4  # (model, prompt) records kept per session: a few prompts, each read by several pages


def session_forward(kind: str = "forward") -> ForwardFn:
    """A ``core.forward.ForwardFn`` backed by this session's memo: one ForwardRecord per (model, token ids).

    A page's request reuses the record when it covers it (next-token after attention on the same prompt);
    otherwise one pass runs for the union of what the old record held and what is asked now, and replaces it,
    so every page of the session reads the same pass afterwards. A pass goes through the model's shared inference
    service (ui.inference.shared_forward): a record another session already asked for costs no pass at all.
    """

    def forward(lm, ids, need: Need | None = None):
        need = need or Need()
        memo = current_memo()
        key = (lm.name, tuple(ids))
        record = memo.get(kind, {}).get(key)
        if record is not None and record.covers(need):
            memo.touch(kind, key)
            BUDGET.touch(memo, kind, key)
            return record
        record = shared_forward(lm, list(ids), need if record is None else record.need.union(need))
        remember(kind, key, record, max_entries=FORWARD_RECORDS)
        return record

    return forward


def session_distribution(lm, prompt: str) -> NextTokenDistribution:
    """The next-token distribution after ``prompt``, memoised per (model, prompt) in this session.

    Every page that shows one distribution reads it here (next-token, temperature, the class poll, Predict first),
    so moving a sampling control or switching pages never runs the model again for the same prompt.
    """
    with st.spinner(f"Running the model on the prompt ({len(prompt):,} characters)…"):  # shown after 0.5 s only
        return session_memo(
            "next_token",
            (lm.name, prompt),
            lambda: next_token_distribution(lm, prompt, forward=session_forward()),
            max_entries=16,
        )

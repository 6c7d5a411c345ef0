"""A small per-session memo of model outputs, keyed by (kind, model name, inputs).

Moving a slider re-runs the page script; this keeps the model from running again on the same prompt.
It lives in ``st.session_state`` (never shared), holds at most a few entries per kind, and is forgotten
when the model changes name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from core.forward import ForwardFn, Need, forward_record
from ui import state


def session_memo(kind: str, key: Hashable, compute: Callable[[], Any], *, max_entries: int = 8) -> Any:
    """Return the memoised value for (kind, key), computing and storing it on a miss (LRU per kind)."""
    memo = st.session_state.setdefault(state.MEMO, {})
    table = memo.setdefault(kind, OrderedDict())
    if key in table:
        table.move_to_end(key)
        return table[key]
    value = compute()
    table[key] = value
    while len(table) > max_entries:
        table.popitem(last=False)
    return value


FORWARD_RECORDS = 4  # (model, prompt) records kept per session: a few prompts, each read by several pages


def session_forward(kind: str = "forward") -> ForwardFn:
    """A ``core.forward.ForwardFn`` backed by this session's memo: one ForwardRecord per (model, token ids).

    A page's request reuses the record when it covers it (next-token after attention on the same prompt);
    otherwise one pass runs for the union of what the old record held and what is asked now, and replaces it,
    so every page of the session reads the same pass afterwards.
    """

    def forward(lm, ids, need: Need | None = None):
        need = need or Need()
        memo = st.session_state.setdefault(state.MEMO, {})
        table = memo.setdefault(kind, OrderedDict())
        key = (lm.name, tuple(ids))
        record = table.get(key)
        if record is not None and record.covers(need):
            table.move_to_end(key)
            return record
        record = forward_record(lm, list(ids), need if record is None else record.need.union(need))
        table[key] = record
        table.move_to_end(key)
        while len(table) > FORWARD_RECORDS:
            table.popitem(last=False)
        return record

    return forward

"""A small per-session memo of model outputs, keyed by (kind, model name, inputs).

Moving a slider re-runs the page script; this keeps the model from running again on the same prompt.
It lives in ``st.session_state`` (never shared), holds at most a few entries per kind, and is forgotten
when the model changes name.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable

import streamlit as st

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

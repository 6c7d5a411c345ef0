"""The client-side sampler on a page: a Custom Component (v2) whose controls and bars live in the browser.

Moving temperature, top-k or top-p redraws the bars in the page (components/client_sampler.js) and costs the
server nothing. When the user lets go the browser sends the final settings once; the change callback checks them
and stores them under the page's own session-state keys (``ui.state``), so the share link, the view file, the
seeded "Sample a token" and a lesson button keep reading and writing the same keys as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import streamlit as st

from components.client_sampler import SAMPLER_CSS, SAMPLER_HTML, SAMPLER_JS, encoded_logits, sampler_data
from core.next_token import NextTokenDistribution
from ui.memo import session_memo
from ui.presenter import presenter_mode

# Registered once per process, when a page first imports this module (Streamlit re-registers it on a new runtime).
# Not in a shadow root: its text is the page's text (find in page, screen readers' page text, presenter-mode checks);
# its style rules all start with .nte-sampler, so they reach nothing else.
_mount = st.components.v2.component(
    "nte.client_sampler", html=SAMPLER_HTML, css=SAMPLER_CSS, js=SAMPLER_JS, isolate_styles=False
)


@dataclass(frozen=True)
class SamplerKeys:
    """The page's session-state keys the sampler reads and writes (None: the page has no such control)."""

    component: str
    temperature: str
    top_k: str | None = None
    top_p: str | None = None
    max_temperature: float = 3.0
    max_top_k: int = 1_000_000


def _number(value: Any, low: float, high: float, whole: bool = False) -> float | int | None:
    """``value`` when it is a finite number in [low, high] (a whole one when ``whole``), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if not low <= value <= high or (whole and value != int(value)):
        return None
    return int(value) if whole else float(value)


def let_go(keys: SamplerKeys) -> None:
    """Change callback: the browser let go of a control. Store its settings (each checked: a browser is not to be
    trusted) under the page's keys; a value out of range is ignored and the old one kept."""
    sent = st.session_state.get(keys.component)
    settings = sent.get("settings") if hasattr(sent, "get") else None
    if not isinstance(settings, dict):
        return
    checks = [(keys.temperature, "temperature", 0.0, keys.max_temperature, False)]
    if keys.top_k:
        checks.append((keys.top_k, "top_k", 0, keys.max_top_k, True))
    if keys.top_p:
        checks.append((keys.top_p, "top_p", 0.0, 1.0, False))
    for state_key, name, low, high, whole in checks:
        value = _number(settings.get(name), low, high, whole)
        if value is not None:
            st.session_state[state_key] = value


def client_sampler(dist: NextTokenDistribution, keys: SamplerKeys, *, page: str, top_n: int) -> None:
    """Draw the sampler's controls, bars and numbers for ``dist`` in the browser.

    The settings it starts from are the page's session state (defaults: T = 1, top-k off, top-p off); they are
    sent with the whole vocabulary's logits, so every later move is computed in the page.
    """
    st.session_state.setdefault(keys.temperature, 1.0)
    if keys.top_k:
        st.session_state.setdefault(keys.top_k, 0)
    if keys.top_p:
        st.session_state.setdefault(keys.top_p, 1.0)
    data = sampler_data(
        dist,
        page=page,
        top_n=top_n,
        temperature=float(st.session_state[keys.temperature]),
        top_k=int(st.session_state[keys.top_k]) if keys.top_k else 0,
        top_p=float(st.session_state[keys.top_p]) if keys.top_p else 1.0,
        max_temperature=keys.max_temperature,
        max_top_k=keys.max_top_k,
        presenter=presenter_mode(),
        # encoded once per distribution (the memoised one of this session), not on every run that lets go
        logits_b64=session_memo("client_sampler.logits", dist, lambda: encoded_logits(dist), max_entries=2),
    )
    _mount(key=keys.component, data=data, on_settings_change=partial(let_go, keys))

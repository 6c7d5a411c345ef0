"""Opening another page in a given state: on a prompt (the page's own box starts from the shared prompt) and with
one of its lesson presets (applied when that page draws its "Lesson examples" row, before its widgets)."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.navigation import ROOT


def prepare_page(page: str, *, prompt: str | None = None, preset: str | None = None) -> None:
    """Put ``app_pages/<page>.py`` in the state it should open in, without switching to it.

    Args:
        page: the page's file stem ("attention", "temperature", ...).
        prompt: the prompt it opens on: it becomes the shared prompt, and the page's own box (if any) is reset so
            the page reads it.
        preset: the label of one of the page's lesson presets (core.lessons.PRESETS) to apply on arrival.
    """
    if prompt is not None:
        st.session_state[state.PROMPT] = prompt
        if page in state.PAGE_PROMPT:
            st.session_state.pop(state.PAGE_PROMPT[page], None)
    if preset:
        st.session_state[state.LESSON_PENDING] = (page, preset)


def open_page(page: str, *, prompt: str | None = None, preset: str | None = None) -> None:
    """``prepare_page``, then switch to the page (call from the script, not from a widget callback)."""
    prepare_page(page, prompt=prompt, preset=preset)
    st.switch_page(str(ROOT / "app_pages" / f"{page}.py"))

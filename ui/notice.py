"""The one way a page shows a message that may carry user or model text (an error, a refusal, a note)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.inert import inert_markdown
from ui.state import Kind, Message

__all__ = ["Kind", "Message", "notice"]


def notice(message: Any, kind: Kind | None = None, where: Any = st) -> None:
    """Show ``message`` (a string, an exception or a ``Message``) inert: any markdown or HTML in it is shown as typed.

    Args:
        message: the text, an exception whose ``str`` is the text (core errors are plain sentences), or a
            ``ui.state.Message`` left by a callback (it carries its own kind).
        kind: the Streamlit element: info, warning, error, success or caption (default: the Message's kind, else info).
        where: ``st`` or a container (a column, an ``st.empty`` slot).
    """
    if isinstance(message, Message):
        kind, message = kind or message.kind, message.text
    getattr(where, kind or "info")(inert_markdown(str(message)))

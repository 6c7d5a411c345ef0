"""The one way a page shows a message that may carry user or model text (an error, a refusal, a note)."""
from __future__ import annotations

from typing import Any, Literal

import streamlit as st

from components.inert import inert_markdown

Kind = Literal["info", "warning", "error", "success", "caption"]


def notice(message: Any, kind: Kind = "info", where: Any = st) -> None:
    """Show ``message`` (a string or an exception) inert: any markdown or HTML in it is shown as typed.

    Args:
        message: the text, or an exception whose ``str`` is the text (core errors are plain sentences).
        kind: the Streamlit element: info, warning, error, success or caption.
        where: ``st`` or a container (a column, an ``st.empty`` slot).
    """
    getattr(where, kind)(inert_markdown(str(message)))

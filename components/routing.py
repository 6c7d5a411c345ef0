"""Make every page run inside app.py's frame, even when a shared link is the server's first request.

Streamlit treats a folder named ``pages/`` next to the main script as a legacy (v1) multipage app until
``st.navigation`` has been called once in the process; a first request for ``/next_token`` would then run
the page alone, without app.py's sidebar and navigation. Each page calls ``route_through_app()`` first:
in that legacy case it switches the process to ``st.navigation`` mode and reruns, so app.py runs and opens
the requested page.
"""
from __future__ import annotations

import streamlit as st


def route_through_app() -> None:
    """Rerun through app.py when Streamlit started this page in legacy pages/-folder mode."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()

"""The last line of defence around a page: what must pass through (Streamlit's rerun and stop), what the page says
when anything else escapes, including what is not an ``Exception`` (a Rust panic from the tokenizers library)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from components.inert import inert_markdown
from core.models import ModelLoadError

UNEXPECTED_ERROR = (
    "Unexpected error: this page could not finish (the details are in the server's log). "
    "Try another input, or reload the page."
)
# BaseExceptions that end a script run on purpose: st.rerun / st.stop / st.switch_page (ScriptControlException),
# Ctrl-C, interpreter exit, a generator being closed. Everything else that escapes a page is an error.
_CONTROL_FLOW = (ScriptControlException, KeyboardInterrupt, SystemExit, GeneratorExit)


def is_control_flow(exc: BaseException) -> bool:
    """True when ``exc`` must be re-raised: Streamlit's rerun/stop, KeyboardInterrupt, SystemExit, GeneratorExit.

    False for every error, whether an ``Exception`` or a bare ``BaseException`` such as pyo3's PanicException.
    """
    return isinstance(exc, _CONTROL_FLOW)


def run_guarded(run: Callable[[], object], where: str) -> None:
    """Call ``run`` (a page's ``run``); an error it lets out is logged and the page shows UNEXPECTED_ERROR.

    Args:
        run: the page body.
        where: the page's title, for the log.
    """
    try:
        run()
    except ModelLoadError as error:  # a page that works without the model reached a part that needs it
        st.warning(inert_markdown(f"This part needs the language model, which could not be loaded: {error}"))
    except BaseException as error:  # a panic is no Exception; control flow is re-raised below
        if is_control_flow(error):
            raise
        logging.getLogger("next_token_explorer").error("Unexpected error on %s", where, exc_info=error)
        st.error(UNEXPECTED_ERROR)

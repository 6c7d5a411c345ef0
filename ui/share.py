"""Shareable views: a page's inputs live in the URL's query parameters, so a pasted link shows the same view.

Each page declares its shareable inputs once (``Shared`` fields) and calls ``share_inputs(fields)`` before its
widgets. The first time a session sees a URL parameter it validates it and puts it into the widget's session
state (an invalid or hostile value is ignored with a note); on every run the current values are written back to
the URL. Sampling is seeded, so the same link also gives the same sampled tokens.

What a link cannot hold (a text too long for a URL) is never dropped silently: the "Share this view" box says so
and offers a view file (JSON) that holds every value and restores the view exactly. A session that starts from a
URL written by another server process (the server restarted and the browser reconnected) says so.
"""

from __future__ import annotations

import json
import math
import secrets
import tomllib
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import streamlit as st

from core.text import MAX_PROMPT_CHARS
from ui import state
from ui.notice import notice

BOOT_ID = secrets.token_hex(4)  # one per server process: a URL written by another process means a restart
BOOT_PARAM = "boot"
# A link must load everywhere: Tornado refuses request headers over 64 KB and many proxies stop at 8 KB, so one
# value may take at most this many characters once URL-encoded (besides the field's own max_chars).
MAX_LINK_VALUE_CHARS = 24_000
MAX_VIEW_FILE_BYTES = 1_000_000
VIEW_KIND = "next-token-explorer view"
RECONNECT_WATCH_SECONDS = 3600


def _app_version() -> str:
    try:
        with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


APP_VERSION = _app_version()


@dataclass(frozen=True)
class Shared:
    """One shareable input: the widget's session-state key, its URL name, and how to check a value.

    ``max_chars`` is the most a link carries; ``limit`` the most the page itself accepts when that is more (a
    view file may hold up to it; default: ``max_chars``)."""

    key: str
    param: str
    kind: str = "str"  # "str", "int", "float", "bool" or "choice"
    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] = ()
    max_chars: int = MAX_PROMPT_CHARS
    limit: int | None = None

    @property
    def file_max_chars(self) -> int:
        return self.limit if self.limit is not None else self.max_chars


def bounds(fields: Sequence[Shared], key: str) -> tuple[Any, Any]:
    """The (min, max) of the shared number with session-state key ``key``, for its widget: the link and the widget
    then take the same values (floats for a "float" field, as Streamlit wants one type)."""
    field = next(f for f in fields if f.key == key)
    cast = float if field.kind == "float" else int
    return cast(field.low), cast(field.high)


class ViewFileError(ValueError):
    """A view file that cannot be used at all (its message is for the person who uploaded it)."""


def parse(field: Shared, raw: str, max_chars: int | None = None) -> Any:
    """The value of ``raw`` for ``field``; ValueError when it is not acceptable."""
    if len(raw) > (field.max_chars if max_chars is None else max_chars):
        raise ValueError("too long")
    if field.kind == "str":
        return raw
    if field.kind == "bool":
        if raw.lower() not in ("0", "1", "true", "false"):
            raise ValueError("not a yes/no value")
        return raw.lower() in ("1", "true")
    if field.kind == "choice":
        matches = [c for c in field.choices if encode(c) == raw or str(c) == raw]  # str: links before "none"
        if not matches:
            raise ValueError("not one of the choices")
        return matches[0]
    try:
        number = float(raw)
    except ValueError:  # its message is Python's ("could not convert string to float: '0x10'"), not the page's
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    if field.kind == "int":
        if number != int(number):
            raise ValueError("not a whole number")
        number = int(number)
    if (field.low is not None and number < field.low) or (field.high is not None and number > field.high):
        if field.low is None or field.high is None:
            raise ValueError("out of range")
        raise ValueError(f"out of range: this page takes {_number(field.low)} to {_number(field.high)}")
    return number


def _number(value: float) -> str:
    """A bound as a person reads it: 2,147,483,647 or 0.01."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def encode(value: Any) -> str:
    if value is None:  # a choice of nothing in particular, e.g. the attention page's average over heads
        return "none"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fits_link(field: Shared, text: str) -> bool:
    """Whether an encoded value can travel in a link."""
    return len(text) <= field.max_chars and len(quote(text, safe="")) <= MAX_LINK_VALUE_CHARS


@st.fragment(run_every=RECONNECT_WATCH_SECONDS)
def _reconnect_watch() -> None:
    """Draws nothing and costs nothing. Streamlit's frontend runs the page again when its connection comes back
    only if the page has a timed fragment: this one, so a restarted server gets to restore the view at once."""


def _dismiss_restart() -> None:
    st.session_state[state.SHARE_RESTART] = None


def _restart_notice(page: str) -> None:
    """Once per session: a URL written by another server process means the server restarted (the browser
    reconnected to a new process, which knows nothing of the old session): say so, on this page, until dismissed."""
    if state.SHARE_SESSION_STARTED not in st.session_state:
        st.session_state[state.SHARE_SESSION_STARTED] = True
        written_by = st.query_params.get(BOOT_PARAM)
        if written_by and written_by != BOOT_ID:
            st.session_state[state.SHARE_RESTART] = page
    if st.session_state.get(state.SHARE_RESTART) not in (None, page):
        st.session_state[state.SHARE_RESTART] = None
    if st.session_state.get(state.SHARE_RESTART) == page:
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.info(
            "The server restarted, so this page started afresh: your view was restored from the link.",
            icon=":material/restart_alt:",
        )
        right.button("OK", key=state.SHARE_RESTART_OK, on_click=_dismiss_restart)
    st.query_params[BOOT_PARAM] = BOOT_ID
    _reconnect_watch()


def share_inputs(fields: Sequence[Shared], page: str) -> None:
    """Apply a link's parameters on the page's first run in a session, then publish the current values."""
    _restart_notice(page)
    applied = st.session_state.setdefault(state.SHARE_APPLIED, set())
    first_visit = page not in applied  # only a link's parameters count, never the ones we wrote ourselves
    applied.add(page)
    notes = []
    for field in fields:
        if first_visit and field.param in st.query_params:
            raw = st.query_params.get(field.param, "")
            try:
                value = parse(field, raw)
            except (TypeError, ValueError) as error:
                notes.append(f"Ignored the link's '{field.param}' value ({error}).")
                del st.query_params[field.param]  # never written back: a reload would refuse it again
                continue
            st.session_state[field.key] = value
            if field.key.endswith(".prompt"):
                st.session_state[state.PROMPT] = value
    st.session_state[state.SHARE_NOTES] = notes
    publish_inputs(fields, page)
    for note in notes:
        notice(note, "caption")


def publish_inputs(fields: Sequence[Shared], page: str) -> None:
    """Write the current values to the URL (and what cannot travel in it to the "Share this view" box). A fragment
    whose widgets are shared calls this at its end: a fragment rerun does not run the page's ``share_inputs``."""
    too_long = []
    for field in fields:
        if field.key in st.session_state:
            value = st.session_state[field.key]
            if not isinstance(value, (str, int, float, bool)) and not (field.kind == "choice" and value is None):
                continue
            if fits_link(field, encode(value)):
                st.query_params[field.param] = encode(value)
            else:  # never leave an older value in the URL: the opener would see another text
                too_long.append(state.TooLong(field.param, len(encode(value))))
                if field.param in st.query_params:
                    del st.query_params[field.param]
    state.set_share_view(state.ShareView(page, tuple(fields), tuple(too_long)))


def share_link() -> str:
    """The URL of this view with its query parameters (for the "copy link" control)."""
    base = st.context.url or ""
    params = {k: st.query_params.get(k) for k in st.query_params if k != BOOT_PARAM}
    return base + ("?" + urlencode(params) if params else "")


def view_file_bytes(fields: Sequence[Shared], page: str, values: Any = None) -> bytes:
    """The view file: JSON with the page, the app version and every shared input's value (texts in full).

    Args:
        values: where the values are (default: this session's state); any mapping keyed by session-state key.
    """
    values = st.session_state if values is None else values
    out = {}
    for field in fields:
        try:
            value = values[field.key]
        except KeyError:
            continue
        if value is None or isinstance(value, (str, int, float, bool)):
            out[field.param] = value
    document = {"kind": VIEW_KIND, "page": page, "app_version": APP_VERSION, "values": out}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _raw(value: Any) -> str:
    """A JSON value as the text ``parse`` reads (floats in full precision, so the view comes back exactly)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _quoted(text: Any, limit: int = 40) -> str:
    """A value from a file, quoted on one line (plain text: ``notice`` shows it inert)."""
    text = str(text)
    return "'" + " ".join((text[:limit] + ("…" if len(text) > limit else "")).splitlines()) + "'"


def apply_view_file(
    fields: Sequence[Shared], page: str, data: bytes, target: MutableMapping | None = None
) -> list[str]:
    """Put a view file's values into the session state, validated as a link's are (with each field's real limit).

    Returns:
        Notes on what was ignored (unknown keys, unacceptable values), as plain text (show them with ``notice``).
    Raises:
        ViewFileError: the file is too big, not JSON, not a view file, or for another page.
    """
    target = st.session_state if target is None else target
    if len(data) > MAX_VIEW_FILE_BYTES:
        raise ViewFileError(f"The file has {len(data):,} bytes; a view file has at most {MAX_VIEW_FILE_BYTES:,}.")
    try:
        document = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ViewFileError(
            "This is not a view file: it is not readable JSON. Download one from "
            "“Share this view” and load it unchanged."
        ) from None
    values = document.get("values") if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get("kind") != VIEW_KIND or not isinstance(values, dict):
        raise ViewFileError("This JSON file is not a view file of this app (it has no page values in it).")
    if document.get("page") != page:
        raise ViewFileError(
            f"This view file is for another page ({_quoted(document.get('page'))}): open that page and load it there."
        )
    notes = []
    version = document.get("app_version")
    if version != APP_VERSION:
        notes.append(f"The file was written by version {_quoted(version)} of the app; this is {APP_VERSION}.")
    by_param = {field.param: field for field in fields}
    unknown = [name for name in document["values"] if name not in by_param]
    if unknown:
        shown = ", ".join(_quoted(name) for name in unknown[:5])
        more = f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
        notes.append(f"Ignored {len(unknown):,} unknown {'key' if len(unknown) == 1 else 'keys'}: {shown}{more}.")
    for name, value in document["values"].items():
        field = by_param.get(name)
        if field is None:
            continue
        try:
            if field.kind == "str" and not isinstance(value, str):
                raise ValueError("not a text")
            if not (value is None or isinstance(value, (str, int, float, bool))):
                raise ValueError("not a single value")
            parsed = parse(field, _raw(value), max_chars=field.file_max_chars)
        except (TypeError, ValueError, OverflowError) as error:
            notes.append(f"Ignored the file's '{field.param}' value ({error}).")
            continue
        target[field.key] = parsed
        if field.key.endswith(".prompt"):
            target[state.PROMPT] = parsed
    return notes


def _upload_key(page: str) -> str:
    return f"{state.SHARE_VIEW_UPLOAD}.{page}"


def load_view_file(page: str, fields: Sequence[Shared]) -> None:
    """Uploader callback: restore the view from the file (before the widgets are drawn), or say why not."""
    upload = st.session_state.get(_upload_key(page))
    if upload is None:
        return
    name = " ".join(str(upload.name)[:80].splitlines())
    try:
        if upload.size > MAX_VIEW_FILE_BYTES:
            raise ViewFileError(f"The file has {upload.size:,} bytes; a view file has at most {MAX_VIEW_FILE_BYTES:,}.")
        notes = apply_view_file(fields, page, upload.getvalue())
    except ViewFileError as error:
        state.set_view_message(state.ViewMessage(page, state.Message("error", f"{name}: {error}")))
        return
    st.session_state.setdefault(state.SHARE_APPLIED, set()).add(page)  # the file's values win over the link's
    restored = state.Message("success", f"View restored from {name}.")
    state.set_view_message(state.ViewMessage(page, restored, tuple(notes)))


def view_file_controls(page: str, fields: Sequence[Shared]) -> None:
    """Download this view as a small JSON file, or load one back (it holds what a link cannot)."""
    left, right = st.columns(2)
    left.download_button(
        "Download the view file (JSON)",
        view_file_bytes(fields, page),
        f"{page}-view.json",
        "application/json",
        key=f"{state.SHARE_VIEW_DOWNLOAD}.{page}",
        on_click="ignore",
        icon=":material/download:",
    )
    right.file_uploader(
        "Load a view file",
        type=["json"],
        key=_upload_key(page),
        on_change=load_view_file,
        args=(page, tuple(fields)),
        max_upload_size=1,
    )
    message = state.view_message()
    if message and message.page == page:
        notice(message.message)
        for note in message.notes:
            notice(note, "caption")


def copy_link_control() -> None:
    """A small expander with the link to this exact view (st.code has a copy button), what the link cannot hold,
    and the view file that holds everything."""
    view = state.share_view()
    page, fields = view.page, view.fields
    with st.expander("Share this view", icon=":material/link:"):
        st.caption("Everyone who opens this link sees the same inputs (and, with the same seed, the same samples).")
        for item in view.too_long:
            st.warning(
                f"This {item.param} ({item.length:,} characters) is too long for a link: the link keeps the "
                "other settings. Download the view file to share it exactly.",
                icon=":material/warning:",
            )
        st.code(share_link(), language=None, wrap_lines=True)
        if fields:
            view_file_controls(page, fields)

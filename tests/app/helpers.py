"""AppTest helpers: run the app through app.py, switch pages, read plotly specs, assert a clean page."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str | None = None) -> AppTest:
    """Run app.py, then switch to ``page`` (e.g. "app_pages/next_token.py") and run it."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert_clean(at)
    if page:
        at.switch_page(page).run()
        assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    """No exception and no catch-all "Unexpected error" on the page."""
    assert not at.exception, [e.value for e in at.exception]
    unexpected = [e.value for e in at.error if "Unexpected error" in e.value]
    assert not unexpected, unexpected


def plotly_specs(at: AppTest) -> list[dict]:
    """The JSON spec of every plotly chart on the page (plotly charts are unknown elements in AppTest)."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def sampler_payloads(at: AppTest) -> list[dict]:
    """The data each client-side sampler on the page was sent (ui/client_sampler.py): logits, rows, settings."""
    found = at.get("bidi_component")
    return [json.loads(e.proto.json) for e in found if e.proto.component_name == "nte.client_sampler"]


def values(array) -> list:
    """A plotly data array as a list, decoding plotly's base64 typed-array form when present."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def matrix(array) -> np.ndarray:
    """A plotly 2-D data array (heatmap z) as a float numpy array: base64 typed arrays decoded with their shape,
    nested lists with None (a gap) read as NaN."""
    if isinstance(array, dict) and "bdata" in array:
        flat = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = tuple(int(n) for n in str(array.get("shape", len(flat))).split(","))
        return flat.reshape(shape).astype(np.float64)
    return np.array([[np.nan if v is None else v for v in row] for row in array], dtype=np.float64)


def all_text(at: AppTest) -> str:
    """Every markdown, caption, text, info, warning, success and error string and st.html body on the page, joined."""
    parts = []
    for kind in ("markdown", "caption", "text", "info", "warning", "success", "error", "title", "subheader", "header"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += html_blocks(at)
    return "\n".join(parts)


def html_blocks(at: AppTest) -> list[str]:
    """The body of every st.html element (token chips, the generated text): HTML the page drew, escaped."""
    return [element.proto.body for element in at.get("html")]

"""The in-page scripts of the Custom Components (the client-side sampler, the attention explorer): each one's own file
after components/page_dom.js, the DOM helpers they share, as one text (an inline v2 component's script cannot import
another file)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
DOM_HELPERS = _HERE / "page_dom.js"


def page_script(name: str) -> str:
    """The script a component ships: components/page_dom.js, then ``components/<name>``."""
    return DOM_HELPERS.read_text(encoding="utf-8") + "\n" + (_HERE / name).read_text(encoding="utf-8")

"""Token renderers: HTML strings with every piece of token text escaped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from components.inert import escape_html

_LOW = np.array([255, 255, 255])


def _colour(value: float, high: Sequence[int]) -> str:
    """Blend from white (0) to ``high`` (1)."""
    v = float(np.clip(value, 0.0, 1.0)) if np.isfinite(value) else 0.0
    r, g, b = (_LOW + (np.array(high) - _LOW) * v).astype(int)
    return f"rgb({r},{g},{b})"


def token_chips(
    tokens: Sequence[str],
    shades: Sequence[float] | None = None,
    titles: Sequence[str] | None = None,
    *,
    high: Sequence[int] = (59, 91, 219),
) -> str:
    """Tokens as inline chips, each shaded by a value in [0, 1] and with a hover title.

    Every token and title is escaped (``components.inert.escape_html``): token text comes from the user.
    Show the result with ``st.html``, never ``st.markdown``.
    """
    chips = []
    for i, token in enumerate(tokens):
        shade = shades[i] if shades is not None else (0.15 if i % 2 else 0.3)
        background = _colour(shade, high)
        foreground = "#fff" if shade is not None and float(shade) > 0.6 else "#1b1e28"
        title = escape_html(titles[i]) if titles is not None else ""
        chips.append(
            f'<span class="nte-chip" title="{title}" style="background:{background};color:{foreground};'
            "border-radius:4px;padding:1px 3px;margin:1px;display:inline-block;font-family:monospace;"
            f'white-space:pre">{escape_html(token)}</span>'
        )
    return '<div class="nte-tokens" style="line-height:1.9">' + "".join(chips) + "</div>"

"""Token renderers: HTML strings with every piece of token text escaped."""

from __future__ import annotations

from collections.abc import Sequence

from components.inert import escape_html
from components.palettes import CHIP_HIGH, blend, text_on


def token_chips(
    tokens: Sequence[str],
    shades: Sequence[float] | None = None,
    titles: Sequence[str] | None = None,
    *,
    high: Sequence[int] = CHIP_HIGH,
) -> str:
    """Tokens as inline chips, each shaded by a value in [0, 1] and with a hover title.

    Every token and title is escaped (``components.inert.escape_html``): token text comes from the user.
    Show the result with ``st.html``, never ``st.markdown``.
    """
    chips = []
    for i, token in enumerate(tokens):
        shade = shades[i] if shades is not None else (0.15 if i % 2 else 0.3)
        rgb = blend(shade, high)
        background = "rgb({},{},{})".format(*rgb)
        foreground = text_on(rgb)  # black or white, whichever passes WCAG contrast on this shade
        title = escape_html(titles[i]) if titles is not None else ""
        chips.append(
            f'<span class="nte-chip" title="{title}" style="background:{background};color:{foreground};'
            "border-radius:4px;padding:1px 3px;margin:1px;display:inline-block;font-family:monospace;"
            f'white-space:pre">{escape_html(token)}</span>'
        )
    return '<div class="nte-tokens" style="line-height:1.9">' + "".join(chips) + "</div>"

"""Every colour a figure or token chip chooses, in one place, chosen to survive colour blindness.

Categories drawn side by side come from the Okabe-Ito palette or differ in lightness; quantities use scales whose
lightness changes steadily (single-hue blues, viridis, a white-to-red blend), so they read the same in grey; red
against green is never the only cue. tests/components/test_palettes.py checks both under simulated deuteranopia and
protanopia.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.colors

# Okabe & Ito (2008), "Color Universal Design": eight colours told apart by the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

# The sampler's three colours (next-token, temperature, generation, n-gram, tokenizer pages): one blue hue at three
# lightnesses, so they stay apart under any colour-vision deficiency.
MODEL_COLOUR = "#9aa5c4"  # the model's own probabilities (full-vocabulary softmax)
SAMPLING_COLOUR = "#3b5bdb"  # after temperature / top-k / top-p: what the sampler draws from
CUT_COLOUR = "#e9ecef"  # tokens a filter removed (also n-gram continuations never seen)

ACCENT = OKABE_ITO["vermillion"]  # the one thing to look at: a picked token, the chosen head, the current temperature
GUIDE = "#495057"  # reference lines (a chosen length, a mean) and the entropy line
MUTED = "#6c757d"  # the prompt's text (4.7:1 on white, WCAG AA), a baseline (ln V)
GRID = "#eee"  # grid lines

# Generation: with the KV cache (blue) against recomputing the whole sequence (vermillion).
CACHE = OKABE_ITO["blue"]
NO_CACHE = OKABE_ITO["vermillion"]

# KV-cache page: up to four batch-size curves, then the weights and cache bars and the GPU's memory line.
SERIES = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish green"], OKABE_ITO["sky blue"])
WEIGHTS = MODEL_COLOUR
GPU_LIMIT = OKABE_ITO["black"]

# Training: the noisy per-batch loss (a pale blue), the evaluated training-text loss and the held-out loss.
BATCH_LOSS = "#c5cce0"
TRAIN = OKABE_ITO["blue"]
HELDOUT = OKABE_ITO["vermillion"]

# Heatmaps of weights in [0, 1] (attention, logit lens): plotly's single-hue "Blues", white = 0, dark blue = 1,
# spelled out as [position, colour] pairs because plotly.js's own "Blues" runs the other way.
HEATMAP = [[i / (len(plotly.colors.sequential.Blues) - 1), c] for i, c in enumerate(plotly.colors.sequential.Blues)]
MASKED = "#dee2e6"  # cells of a heatmap that are not defined (the causal mask): grey, neither end of the scale
# The layers x heads summary grid: viridis, dark purple (low) to yellow (high), lightness rising all the way.
SUMMARY = [[i / (len(plotly.colors.sequential.Viridis) - 1), c] for i, c in enumerate(plotly.colors.sequential.Viridis)]

# Surprisal (perplexity page): white (the model was certain) blending to a dark red (16+ bits); lightness falls
# steadily, so a grey print or a red-blind reader still sees which tokens surprised the model.
SURPRISAL_HIGH = (165, 15, 21)
SURPRISAL = "#a50f15"  # the same red for the per-token loss bars
CHIP_HIGH = (59, 91, 219)  # token chips shaded by a value (tokenizer page): white to the sampling blue

# Pipeline page: signed values of a vector (an embedding row, the normed hidden state), blue below zero,
# white at zero, vermillion above (blue against orange-red survives deuteranopia and protanopia); what attention
# and the MLP add to the logit, side by side (Okabe-Ito blue and orange).
SIGNED = [[0.0, OKABE_ITO["blue"]], [0.5, "#ffffff"], [1.0, OKABE_ITO["vermillion"]]]
ATTENTION_PART = OKABE_ITO["blue"]
MLP_PART = OKABE_ITO["orange"]

# Generation tree: the three decoding methods' paths (Okabe-Ito), edges in a light grey.
TREE_PATHS = {"beam": OKABE_ITO["blue"], "greedy": OKABE_ITO["orange"], "sampled": OKABE_ITO["reddish purple"]}
TREE_EDGE = "#ced4da"

DARK_TEXT = "#000000"  # black, not a softer dark grey: either it or white then reaches WCAG's 4.5:1 on any chip
LIGHT_TEXT = "#ffffff"


def blend(value: float, high: Sequence[int]) -> tuple[int, int, int]:
    """The colour of ``value`` in [0, 1] on a white-to-``high`` scale (sRGB, linear in each channel)."""
    v = min(1.0, max(0.0, float(value))) if value == value else 0.0  # NaN -> 0
    r, g, b = (round(255 + (h - 255) * v) for h in high)
    return r, g, b


def _luminance(rgb: Sequence[int]) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: Sequence[int], b: Sequence[int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: Sequence[int]) -> str:
    """Dark or white text, whichever contrasts more with ``background`` (0-255 sRGB)."""
    dark = tuple(int(DARK_TEXT[i : i + 2], 16) for i in (1, 3, 5))
    return DARK_TEXT if contrast(dark, background) >= contrast((255, 255, 255), background) else LIGHT_TEXT

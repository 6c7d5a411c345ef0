"""The palettes survive colour blindness: colours drawn side by side stay apart, and sequential scales stay ordered
in lightness, under simulated deuteranopia and protanopia.

Simulation: Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB and clipped to [0, 1].
Distance: CIEDE2000 on CIELAB (D65). A pair counts as distinguishable at ΔE00 >= 15: roughly the gap between two
neighbouring Okabe-Ito colours, well above the ~2 of a just-noticeable difference, so thin lines and small bars
stay apart too.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import plotly.colors
import pytest

from components import palettes as P
from components.attention import SCALE
from components.generation import CACHE_COLOUR, NO_CACHE_COLOUR
from components.kv_cache import BATCH_COLOURS, GPU_COLOUR, WEIGHTS_COLOUR
from components.kv_cache import CACHE_COLOUR as KV_CACHE_COLOUR
from components.perplexity import SURPRISAL_COLOUR
from components.token_chips import token_chips
from components.training import BATCH_COLOUR, HELDOUT_COLOUR, START_COLOUR, TRAIN_COLOUR

MIN_DELTA_E = 15.0

PROTANOPIA = np.array(
    [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
)
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)
VISION = {"normal": None, "deuteranopia": DEUTERANOPIA, "protanopia": PROTANOPIA}
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
D65 = np.array([0.95047, 1.0, 1.08883])

# Colours the app draws next to each other, by figure: every pair inside a group must stay apart.
SIDE_BY_SIDE = {
    "next-token bars: model / sampling / cut": [P.MODEL_COLOUR, P.SAMPLING_COLOUR, P.CUT_COLOUR],
    "generation: model's pick / your pick": [P.SAMPLING_COLOUR, P.ACCENT],
    "generation: with / without KV cache": [CACHE_COLOUR, NO_CACHE_COLOUR],
    "generation: cached tokens / measured size": [CACHE_COLOUR, P.MODEL_COLOUR],
    "KV cache: batch curves and the GPU line": [*BATCH_COLOURS, GPU_COLOUR],
    "KV cache: weights / cache": [WEIGHTS_COLOUR, KV_CACHE_COLOUR],
    "training: batch / training text / held-out / uniform guess": [
        BATCH_COLOUR,
        TRAIN_COLOUR,
        HELDOUT_COLOUR,
        START_COLOUR,
    ],
    "n-gram: seen / unseen, finite / infinite": [P.MODEL_COLOUR, P.CUT_COLOUR, P.SAMPLING_COLOUR, P.ACCENT],
}


def _rgb(colour) -> np.ndarray:
    """'#rrggbb', 'rgb(r,g,b)' or an (r, g, b) tuple -> sRGB in [0, 1]."""
    if isinstance(colour, str) and colour.startswith("#"):
        return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    if isinstance(colour, str):
        return np.array([float(v) for v in re.findall(r"[\d.]+", colour)[:3]]) / 255
    return np.array(colour, dtype=float) / 255


def lab(colour, vision: str = "normal") -> np.ndarray:
    """CIELAB (D65) of a colour as seen with `vision` (Machado 2009, severity 1.0, in linear RGB)."""
    c = _rgb(colour)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    if VISION[vision] is not None:
        linear = np.clip(VISION[vision] @ linear, 0.0, 1.0)
    xyz = SRGB_TO_XYZ @ linear / D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), kL = kC = kH = 1."""
    (L1, a1, b1), (L2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_bar - 30))
        + 0.24 * math.cos(math.radians(2 * h_bar))
        + 0.32 * math.cos(math.radians(3 * h_bar + 6))
        - 0.20 * math.cos(math.radians(4 * h_bar - 63))
    )
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_bar**7 / (cp_bar**7 + 25**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dc / s_c) * (dH / s_h))


def delta_e(a, b, vision: str = "normal") -> float:
    return ciede2000(lab(a, vision), lab(b, vision))


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu & Dalal (2005), table 1, pairs 1, 7 and 17
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ],
)
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_simulation_keeps_grey_and_collapses_red_against_green():
    """The simulation itself: greys are unchanged, and the classic red/green pair collapses (so the check can fail)."""
    for grey in ("#000000", "#808080", "#ffffff"):
        for vision in ("deuteranopia", "protanopia"):
            assert np.allclose(lab(grey, vision), lab(grey), atol=0.5)
    red, green = "#d62728", "#2ca02c"  # matplotlib's tab:red / tab:green
    assert delta_e(red, green) > 60
    assert delta_e(red, green, "deuteranopia") < MIN_DELTA_E
    # the colours this app used before: green (with cache) against orange (without) collapsed the same way
    assert delta_e("#2f9e44", "#e8590c", "protanopia") < MIN_DELTA_E


@pytest.mark.parametrize("group", sorted(SIDE_BY_SIDE))
@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_colours_side_by_side_stay_distinguishable(group, vision):
    colours = SIDE_BY_SIDE[group]
    for a, b in itertools.combinations(colours, 2):
        assert delta_e(a, b, vision) >= MIN_DELTA_E, f"{group}: {a} vs {b} under {vision}"


def _scale_colours(scale) -> list:
    return [c for _, c in scale]


SEQUENTIAL = {
    "attention / logit-lens heatmap (Blues)": _scale_colours(SCALE),
    "head summary grid (viridis)": _scale_colours(P.SUMMARY),
    "surprisal chips (white to dark red)": [P.blend(v / 20, SURPRISAL_COLOUR) for v in range(21)],
    "token chips (white to blue)": [P.blend(v / 20, P.CHIP_HIGH) for v in range(21)],
}


@pytest.mark.parametrize("name", sorted(SEQUENTIAL))
@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_sequential_scales_stay_monotonic_in_lightness(name, vision):
    """Lightness L* only moves one way along the scale and spans a wide range, so it reads without hue."""
    lightness = [lab(c, vision)[0] for c in SEQUENTIAL[name]]
    steps = np.diff(lightness)
    assert (steps < 0).all() or (steps > 0).all(), f"{name} under {vision}: L* = {np.round(lightness, 1)}"
    assert abs(lightness[-1] - lightness[0]) >= 50


def test_a_hue_only_scale_would_fail_the_lightness_check():
    """Plotly's 'Jet'-like rainbow is not monotonic in lightness: the check above can fail."""
    lightness = [lab(c)[0] for c in plotly.colors.sequential.Jet]
    steps = np.diff(lightness)
    assert not ((steps < 0).all() or (steps > 0).all())


def test_the_builders_use_the_palette():
    """The heatmap scale and the surprisal colours are the palette's, and the old green/orange pair is gone."""
    assert SCALE == P.HEATMAP
    assert SURPRISAL_COLOUR == P.SURPRISAL_HIGH
    assert (CACHE_COLOUR, NO_CACHE_COLOUR) == (P.CACHE, P.NO_CACHE)
    assert BATCH_COLOURS == list(P.SERIES)


@pytest.mark.parametrize("shade", [i / 20 for i in range(21)])
@pytest.mark.parametrize("high", [P.SURPRISAL_HIGH, P.CHIP_HIGH])
def test_chip_text_passes_wcag_contrast_on_every_shade(shade, high):
    """Token chips pick black or white text: at least 4.5:1 on every background shade (WCAG AA)."""
    html = token_chips(["tok"], [shade], ["t"], high=high)
    background = tuple(int(v) for v in re.search(r"background:rgb\((\d+),(\d+),(\d+)\)", html).groups())
    foreground = re.search(r";color:(#[0-9a-fA-F]{6})", html).group(1)
    fg = tuple(int(foreground[i : i + 2], 16) for i in (1, 3, 5))
    assert P.contrast(fg, background) >= 4.5

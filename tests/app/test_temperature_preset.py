"""AppTest of the temperature page: the support-bot preset sets the draw's temperature too. (The "Tokens the sampler
can pick" count is drawn in the browser by the client-side sampler now: tests/browser/test_client_sampler_browser.py
reads it there.)"""

from __future__ import annotations

import numpy as np

from core.seed_examples import SUPPORT_BOT_EXPECTED, WAREHOUSE_TEMPERATURE
from tests.app.helpers import open_page
from ui import state

FIVE_WORDS, WAREHOUSE = 0, 1  # the temperature page's lesson buttons, in core.lessons order

# Measured in Chromium at 1440 x 900 (sidebar open): the four metrics' row is 980 px wide with three 16 px gaps, and
# the metric font draws "49,152 of 49,152" 241 px wide, 15.1 px a character.
ROW_PX = 980 - 3 * 16


def click(at, index: int):
    at.button(key=f"{state.LESSON_BUTTON}.temperature.{index}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def drawn_probabilities(at) -> list[float]:
    line = next(t.value for t in at.text if "probabilities:" in t.value).split("probabilities: ")[1]
    return [float(v) for v in line.strip("[]").split(", ")]


def test_support_bot_preset_sets_the_draw_temperature_it_describes():
    at = open_page("app_pages/temperature.py")
    click(at, WAREHOUSE)
    assert at.number_input(key=state.TEMP_DRAW_T).value == WAREHOUSE_TEMPERATURE
    click(at, FIVE_WORDS)
    assert at.session_state[state.TEMP_VALUE] == 0.5  # the client-side sampler's temperature
    assert at.number_input(key=state.TEMP_DRAW_T).value == 0.5  # was 1.4: the warehouse preset's, kept
    # The draw uses the lesson's T = 0.5 probabilities (0.952 for "correctly"), not T = 1.4's.
    expected = [round(p, 3) for p in SUPPORT_BOT_EXPECTED[0.5]]
    assert np.allclose(drawn_probabilities(at)[: len(expected)], expected, atol=1e-3), drawn_probabilities(at)
    assert any("five-word vocabulary" in str(i.value) for i in at.info)  # the preset's note: every value still holds


def test_support_bot_preset_on_a_fresh_page_sets_the_draw_temperature():
    at = click(open_page("app_pages/temperature.py"), FIVE_WORDS)
    assert at.number_input(key=state.TEMP_DRAW_T).value == 0.5  # the widget's own default is the warehouse's 1.4

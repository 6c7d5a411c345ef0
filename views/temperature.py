"""The temperature page's Streamlit parts: its shared inputs and toy presets, the temperature fragment (bars at T,
entropy curve, share box), the side-by-side panels and the seeded NumPy draws of the toy vocabulary."""

from __future__ import annotations

import numpy as np
import streamlit as st

from components.client_sampler import TEMPERATURE
from components.temperature import temperature_panels, temperature_table
from core.lessons import FIVE_WORD_VOCABULARY, NEXT_TOKEN_LESSON
from core.sampling import sampling_probs
from core.seed_examples import (
    SUPPORT_BOT_LOGITS,
    SUPPORT_BOT_TOKENS,
    WAREHOUSE_LOGITS,
    WAREHOUSE_SEED,
    WAREHOUSE_TEMPERATURE,
    WAREHOUSE_TOKENS,
)
from core.temperature import probs_at_temperatures
from core.toy import numpy_samples
from ui import state
from ui.charts import show_chart, show_table
from ui.client_sampler import SamplerKeys, client_sampler
from ui.presenter import presenter_mode
from ui.share import Shared, copy_link_control, publish_inputs

REAL, TOY = state.REAL_LOGITS, state.TOY_LOGITS
PRESETS = {
    f"The support bot: {FIVE_WORD_VOCABULARY} ({NEXT_TOKEN_LESSON})": (SUPPORT_BOT_TOKENS, SUPPORT_BOT_LOGITS),
    f"Warehouse / hub / carrier ({NEXT_TOKEN_LESSON})": (WAREHOUSE_TOKENS, WAREHOUSE_LOGITS),
}
FIVE_WORDS, WAREHOUSE = list(PRESETS)
MAX_TEMPERATURE = 5.0  # the slider's and the link's highest T
MAX_TOP_N = 15  # bars shown at most: the slider's and the link's top_n
PANEL_CHOICES = [0.0, 0.25, 0.5, 0.75, 1.0, 1.4, 1.5, 2.0, 3.0]
SHARED = [
    Shared(state.TEMP_PROMPT, "prompt"),
    Shared(state.TEMP_SOURCE, "source", "choice", choices=(REAL, TOY)),
    Shared(state.TEMP_VALUE, "t", "float", 0.0, MAX_TEMPERATURE),
    Shared(state.TEMP_TOP_N, "top_n", "int", 1, MAX_TOP_N),
    Shared(state.TEMP_TOY_TOKENS, "toy_tokens", max_chars=2000),
    Shared(state.TEMP_TOY_LOGITS, "toy_logits", max_chars=2000),
]
SAMPLER = SamplerKeys(state.TEMP_SAMPLER, state.TEMP_VALUE, max_temperature=MAX_TEMPERATURE)


def use_preset():
    """Example picker callback: fill the toy boxes with the chosen lesson example's tokens and logits."""
    tokens, logits = PRESETS[st.session_state[state.TEMP_PRESET]]
    st.session_state[state.TEMP_TOY_TOKENS] = ", ".join(tokens)
    st.session_state[state.TEMP_TOY_LOGITS] = ", ".join(f"{v:g}" for v in logits)


@st.fragment
def temperature_view(dist, top_n: int) -> None:
    """The temperature slider, the bars at T beside T = 1, the entropy curve and the share box.

    The slider, the bars, the curve and its caption live in the browser (ui/client_sampler.py): a temperature step
    redraws them there and never reaches the server. A fragment: letting go of the slider reruns only this function
    (the link follows).
    """
    client_sampler(dist, SAMPLER, page=TEMPERATURE, top_n=top_n)
    publish_inputs(SHARED, "temperature")  # the slider is in the link; a fragment rerun skips the page's top
    if not presenter_mode():
        copy_link_control()  # after publish_inputs, so the link it shows is this view's


def side_by_side(dist, top_n: int) -> None:
    """The temperature picker, the top ``top_n`` tokens at each chosen temperature as panels, and as a table.

    With no temperature picked it says so and stops the page.
    """
    st.subheader("Side by side")
    st.session_state.setdefault(state.TEMP_PANELS, [0.5, 1.0, 2.0])
    panels = st.multiselect("Temperatures", PANEL_CHOICES, max_selections=4, key=state.TEMP_PANELS)
    if not panels:
        st.info("Pick at least one temperature.")
        st.stop()
    panels = sorted(panels)
    ids = dist.top_ids(top_n)
    table = probs_at_temperatures(dist.logits, panels, ids)  # (K, N)
    other = 1.0 - table.sum(axis=1) if len(ids) < dist.vocab_size else None
    labels = [dist.token_text(i) for i in ids]
    show_chart(temperature_panels(labels, table, panels, other), "temperature.panels_chart")
    frame = temperature_table(labels, table, panels)
    show_table(frame.style.format({c: "{:.3f}" for c in frame.columns[1:]}), hide_index=True)


def draw_samples(dist) -> None:
    """The toy vocabulary's seeded draws with NumPy's default_rng(seed).choice, as the lesson does: T, seed and
    count inputs, the greedy token, the probabilities and the sampled tokens."""
    st.subheader(f"Draw samples, as {NEXT_TOKEN_LESSON} does")
    st.caption(
        f"NumPy's default_rng(seed).choice, one token at a time. With warehouse / hub / carrier, seed {WAREHOUSE_SEED} "
        f"and T = {WAREHOUSE_TEMPERATURE} this gives the lesson's eight samples."
    )
    a, b, c = st.columns(3)
    st.session_state.setdefault(state.TEMP_DRAW_T, WAREHOUSE_TEMPERATURE)
    t_draw = a.number_input("T", 0.05, MAX_TEMPERATURE, step=0.05, key=state.TEMP_DRAW_T)
    st.session_state.setdefault(state.TEMP_DRAW_SEED, WAREHOUSE_SEED)
    seed = b.number_input("Seed", 0, 2**31 - 1, key=state.TEMP_DRAW_SEED)
    st.session_state.setdefault(state.TEMP_DRAW_N, 8)
    n = c.number_input("Samples", 1, 100, key=state.TEMP_DRAW_N)
    draw_probs = sampling_probs(dist.logits, temperature=float(t_draw)).double().numpy()
    tokens = [dist.raw_text(i) for i in range(dist.vocab_size)]
    st.text(f"greedy: {tokens[int(np.argmax(draw_probs))]}\nprobabilities: {np.round(draw_probs, 3).tolist()}")
    st.text("sampled: " + str(numpy_samples(tokens, draw_probs, int(seed), int(n))))

"""Temperature: the same logits divided by T before softmax, side by side, and entropy as T moves."""

import streamlit as st

from core.seed_examples import SUPPORT_BOT_LOGITS, SUPPORT_BOT_TOKENS
from core.text import PromptError
from core.toy import ToyError, parse_toy, toy_distribution
from ui import state
from ui.controls import bounded_slider, prompt_area
from ui.lessons import lesson_presets
from ui.memo import session_distribution
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import share_inputs
from views.temperature import (
    FIVE_WORDS,
    MAX_TOP_N,
    PRESETS,
    REAL,
    SHARED,
    TOY,
    WAREHOUSE,
    draw_samples,
    side_by_side,
    temperature_view,
    use_preset,
)

st.title("Temperature")
st.markdown(
    "Before softmax, the logits are divided by a temperature **T**. Dividing changes the *gaps* between logits: "
    "**T < 1** stretches them, so the top token pulls ahead (sharper); **T > 1** shrinks them, so lower-ranked "
    "tokens stay competitive (flatter). Adding a constant would change nothing, since softmax cancels it. "
    "**T = 0** would divide by zero, so it is treated as greedy decoding: always the most likely token."
)
lesson_presets("temperature", toy=TOY, five_words=FIVE_WORDS, warehouse=WAREHOUSE)
share_inputs(SHARED, "temperature")
lm = current_model()
source = st.radio("Logits from", [REAL, TOY], horizontal=True, key=state.TEMP_SOURCE)
try:
    if source == REAL:
        prompt = prompt_area(state.TEMP_PROMPT)
        dist = session_distribution(lm, prompt)  # the next-token page's memoised call: the same key, the same spinner
    else:
        st.selectbox("Example", list(PRESETS), key=state.TEMP_PRESET, on_change=use_preset)
        left, right = st.columns(2)
        st.session_state.setdefault(state.TEMP_TOY_TOKENS, ", ".join(SUPPORT_BOT_TOKENS))
        st.session_state.setdefault(state.TEMP_TOY_LOGITS, ", ".join(f"{v:g}" for v in SUPPORT_BOT_LOGITS))
        tokens_text = left.text_input("Tokens", key=state.TEMP_TOY_TOKENS)
        logits_text = right.text_input("Logits", key=state.TEMP_TOY_LOGITS)
        dist = toy_distribution(*parse_toy(tokens_text, logits_text))
except (PromptError, ToyError) as error:
    notice(error)
    st.stop()

top_n = bounded_slider("Tokens to show", 1, min(MAX_TOP_N, dist.vocab_size), 8, key=state.TEMP_TOP_N)
temperature_view(dist, top_n)
side_by_side(dist, top_n)
if source == TOY:
    draw_samples(dist)

"""Temperature: the same logits divided by T before softmax, side by side, and entropy as T moves."""

import numpy as np
import pandas as pd
import streamlit as st

from components.next_token import probability_bars
from components.tables import candidate_table
from components.temperature import entropy_curve, temperature_panels
from core.lessons import FIVE_WORD_VOCABULARY, NEXT_TOKEN_LESSON
from core.next_token import entropy_bits, next_token_distribution
from core.sampling import sampling_probs
from core.seed_examples import (
    SUPPORT_BOT_LOGITS,
    SUPPORT_BOT_TOKENS,
    WAREHOUSE_LOGITS,
    WAREHOUSE_SEED,
    WAREHOUSE_TEMPERATURE,
    WAREHOUSE_TOKENS,
)
from core.temperature import entropy_curve as entropy_values
from core.temperature import probs_at_temperatures
from core.text import PromptError
from core.toy import numpy_samples, parse_toy, toy_distribution
from ui import state
from ui.charts import show_chart
from ui.controls import bounded_slider, prompt_area
from ui.lessons import lesson_presets
from ui.memo import session_forward, session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.presenter import presenter_mode
from ui.share import Shared, copy_link_control, publish_inputs, share_inputs

REAL, TOY = "Real model", "Toy vocabulary"
PRESETS = {
    f"The support bot: {FIVE_WORD_VOCABULARY} ({NEXT_TOKEN_LESSON})": (SUPPORT_BOT_TOKENS, SUPPORT_BOT_LOGITS),
    f"Warehouse / hub / carrier ({NEXT_TOKEN_LESSON})": (WAREHOUSE_TOKENS, WAREHOUSE_LOGITS),
}
FIVE_WORDS, WAREHOUSE = list(PRESETS)
PANEL_CHOICES = [0.0, 0.25, 0.5, 0.75, 1.0, 1.4, 1.5, 2.0, 3.0]
SHARED = [
    Shared(state.TEMP_PROMPT, "prompt"),
    Shared(state.TEMP_SOURCE, "source", "choice", choices=(REAL, TOY)),
    Shared(state.TEMP_VALUE, "t", "float", 0, 5),
    Shared(state.TEMP_TOP_N, "top_n", "int", 1, 15),
    Shared(state.TEMP_TOY_TOKENS, "toy_tokens", max_chars=2000),
    Shared(state.TEMP_TOY_LOGITS, "toy_logits", max_chars=2000),
]


def use_preset():
    tokens, logits = PRESETS[st.session_state[state.TEMP_PRESET]]
    st.session_state[state.TEMP_TOY_TOKENS] = ", ".join(tokens)
    st.session_state[state.TEMP_TOY_LOGITS] = ", ".join(f"{v:g}" for v in logits)


@st.fragment
def temperature_view(dist, source_key: tuple, top_n: int) -> None:
    """The temperature slider, the bars at T beside T = 1, the entropy curve and the share box.

    A fragment: a temperature step reruns only this function on the distribution the last full run computed.
    ``source_key`` names that distribution (model and prompt, or the toy's text) for the memoised entropy curve.
    """
    st.session_state.setdefault(state.TEMP_VALUE, 1.0)
    temperature = st.slider("Temperature T", 0.0, 5.0, step=0.05, key=state.TEMP_VALUE, help="0 = greedy.")
    probs = sampling_probs(dist.logits, temperature=temperature)  # (V,)
    left, right = st.columns([3, 2])
    show_chart(
        probability_bars(candidate_table(dist, top_n, probs), title=f"T = 1 (model) beside T = {temperature:g}"),
        "temperature.current",
        where=left,
    )
    grid = np.round(np.linspace(0.0, max(3.0, temperature), 61), 3)  # (61,): the same grid for every T <= 3
    curve = session_memo(
        "temperature_entropy", (*source_key, float(grid[-1])), lambda: entropy_values(dist.logits, grid), max_entries=4
    )
    bits = entropy_bits(probs)
    max_bits = float(np.log2(dist.vocab_size))
    show_chart(entropy_curve(grid, curve, temperature, bits, max_bits), "temperature.entropy", where=right)
    right.caption(
        f"Entropy at T = {temperature:g}: {bits:.3f} bits, like a fair choice among "
        f"{2**bits:,.2f} tokens. As T grows the curve climbs toward the uniform limit."
    )
    publish_inputs(SHARED, "temperature")  # the slider is in the link; a fragment rerun skips the page's top
    if not presenter_mode():
        copy_link_control()  # after publish_inputs, so the link it shows is this view's


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
        source_key = (lm.name, prompt)
        with st.spinner(f"Running the model on the prompt ({len(prompt):,} characters)…"):  # after 0.5 s only
            dist = session_memo(
                "next_token",
                source_key,
                lambda: next_token_distribution(lm, prompt, forward=session_forward()),
                max_entries=16,
            )
    else:
        st.selectbox("Example", list(PRESETS), key=state.TEMP_PRESET, on_change=use_preset)
        left, right = st.columns(2)
        st.session_state.setdefault(state.TEMP_TOY_TOKENS, ", ".join(SUPPORT_BOT_TOKENS))
        st.session_state.setdefault(state.TEMP_TOY_LOGITS, ", ".join(f"{v:g}" for v in SUPPORT_BOT_LOGITS))
        tokens_text = left.text_input("Tokens", key=state.TEMP_TOY_TOKENS)
        logits_text = right.text_input("Logits", key=state.TEMP_TOY_LOGITS)
        source_key = (TOY, tokens_text, logits_text)
        dist = toy_distribution(*parse_toy(tokens_text, logits_text))
except (PromptError, ValueError) as error:
    notice(error)
    st.stop()

top_n = bounded_slider("Tokens to show", 1, min(15, dist.vocab_size), 8, key=state.TEMP_TOP_N)
temperature_view(dist, source_key, top_n)
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
frame = pd.DataFrame(table.T, columns=[f"T = {t:g}" for t in panels])
frame.insert(0, "token", labels)
st.dataframe(frame.style.format({c: "{:.3f}" for c in frame.columns[1:]}), hide_index=True)

if source == TOY:
    st.subheader(f"Draw samples, as {NEXT_TOKEN_LESSON} does")
    st.caption(
        f"NumPy's default_rng(seed).choice, one token at a time. With warehouse / hub / carrier, seed {WAREHOUSE_SEED} "
        f"and T = {WAREHOUSE_TEMPERATURE} this gives the lesson's eight samples."
    )
    a, b, c = st.columns(3)
    st.session_state.setdefault(state.TEMP_DRAW_T, WAREHOUSE_TEMPERATURE)
    t_draw = a.number_input("T", 0.05, 5.0, step=0.05, key=state.TEMP_DRAW_T)
    st.session_state.setdefault(state.TEMP_DRAW_SEED, WAREHOUSE_SEED)
    seed = b.number_input("Seed", 0, 2**31 - 1, key=state.TEMP_DRAW_SEED)
    st.session_state.setdefault(state.TEMP_DRAW_N, 8)
    n = c.number_input("Samples", 1, 100, key=state.TEMP_DRAW_N)
    draw_probs = sampling_probs(dist.logits, temperature=float(t_draw)).double().numpy()
    tokens = [dist.raw_text(i) for i in range(dist.vocab_size)]
    st.text(f"greedy: {tokens[int(np.argmax(draw_probs))]}\nprobabilities: {np.round(draw_probs, 3).tolist()}")
    st.text("sampled: " + str(numpy_samples(tokens, draw_probs, int(seed), int(n))))

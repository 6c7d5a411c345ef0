"""Attention: which earlier tokens each token looks at, per layer and head, and how generation adds rows."""

import streamlit as st

from core.attention import AttentionUnavailable, attention_maps
from core.text import PromptError
from ui import state
from ui.backend import require_local_model
from ui.controls import prompt_area
from ui.memo import session_forward, session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import share_inputs
from views.attention import SHARED, explore, map_facts, upgrade_old_layer_link

st.title("Attention")
st.markdown(
    "In every layer each token makes a **query**; every token so far offers a **key** and a **value**. The query is "
    "compared with each key, softmax turns the scores into **attention weights** that sum to 1, and the token takes "
    "that weighted mix of the values. One row of a map below is one token's weights. A token may only look at "
    "itself and earlier tokens (the causal mask), so the upper triangle is empty."
)
upgrade_old_layer_link()  # a link from before layers were numbered 1..L opens the same layer
share_inputs(SHARED, "attention")
require_local_model("attention weights per layer and head")
lm = current_model()
prompt = prompt_area(state.ATT_PROMPT)
try:
    with st.spinner(f"Computing every layer's attention maps for the prompt ({len(prompt):,} characters)…"):
        maps = session_memo(
            "attention", (lm.name, prompt), lambda: attention_maps(lm, prompt, forward=session_forward()), max_entries=4
        )
except AttentionUnavailable as error:
    notice(error, "error")
    st.stop()
except PromptError as error:
    notice(error)
    st.stop()

map_facts(lm, maps)
explore(lm, prompt, maps)

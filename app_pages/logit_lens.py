"""Layer by layer: what the model would predict if it stopped after each layer (the logit lens)."""

import streamlit as st

from components.inert import inert_markdown
from core.logit_lens import GRID_POSITIONS, LENS_CAP, LensUnavailable
from core.text import PromptError
from ui import state
from ui.backend import require_local_model
from ui.controls import prompt_area
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import copy_link_control, share_inputs
from views.logit_lens import SHARED, layer_table, lens_charts, read_lens

st.title("Layer by layer")
st.markdown(
    "The model's prediction is built up in a stream of hidden vectors, one per token, that every layer reads and "
    "adds to. The **logit lens** asks: what would the model predict if it stopped after layer *l*? It sends that "
    "layer's hidden state through the same final steps as the last layer, **the final norm and then the "
    "unembedding** (the output head), and applies softmax over the whole vocabulary. Skipping the final norm, as "
    "one well-known tool does, gives wrong early layers: the hidden states are on a different scale."
)
share_inputs(SHARED, "logit_lens")
copy_link_control()
require_local_model("every layer's hidden state")
lm = current_model()
prompt = prompt_area(state.LENS_PROMPT)
st.session_state.setdefault(state.LENS_EVERY_POSITION, True)  # a default in state: a shared link may set it
every = st.toggle(
    f"Every position (the last {GRID_POSITIONS} tokens), not only the last",
    key=state.LENS_EVERY_POSITION,
    help="Each position costs one projection onto the vocabulary per layer.",
)
try:
    lens = read_lens(lm, prompt, every)
except LensUnavailable as error:
    notice(error, "error")
    st.stop()
except PromptError as error:
    notice(error)
    st.stop()

if lens.dropped_tokens:
    st.warning(f"Long prompt: the model read only its last {LENS_CAP} tokens ({lens.dropped_tokens:,} left out).")
final = lens.label(lens.final_ids[-1])
st.markdown(
    f"After the whole model the most likely next token is **{inert_markdown(final)}** "
    f"({float(lens.top_probs[-1, -1, 0]):.1%}). The rows below show when it appears on the way up."
)

lens_charts(lens, final)
layer_table(lens)

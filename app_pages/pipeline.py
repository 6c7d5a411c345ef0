"""The whole pipeline: the last prompt token's path through the real model, from its id to the sampled token."""

import streamlit as st

from core.logit_lens import LensUnavailable
from core.pipeline import PIPELINE_CAP, pipeline_trace
from core.text import PromptError
from ui import state
from ui.controls import prompt_area
from ui.inference import shared_run
from ui.memo import session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import share_inputs
from views.pipeline import (
    SHARED,
    diagram_panel,
    embedding_stage,
    layers_stage,
    logits_stage,
    norm_stage,
    sampler,
    tokens_stage,
)

st.title("The whole pipeline")
st.caption(
    "One next-token prediction, top to bottom, with the real model's numbers: the prompt's tokens, the last token's "
    "embedding, what every layer adds, the final norm, the logits, the sampler's filters, the sampled token and "
    "the KV cache that grows by one token. Each card links to the page that explains its stage in depth."
)
share_inputs(SHARED, "pipeline")
lm = current_model()
prompt = prompt_area(state.PIPE_PROMPT)
try:
    with st.spinner("Following the last token through the model…"):
        trace = session_memo(
            "pipeline",
            (lm.name, prompt),
            lambda: shared_run(lm, lambda: pipeline_trace(lm, prompt), what="pipeline"),
            max_entries=4,
        )
except LensUnavailable as error:
    notice(error, "error")
    st.stop()
except PromptError as error:
    notice(error)
    st.stop()

if trace.dropped_tokens:
    st.warning(f"Long prompt: the model read only its last {PIPELINE_CAP} tokens ({trace.dropped_tokens:,} left out).")

st.subheader("The model as one picture")
diagram_panel(lm, trace)
st.subheader("The same pass, card by card")
tokens_stage(trace)
embedding_stage(trace)
layers_stage(trace)
norm_stage(lm, trace)
logits_stage(trace)
sampler(lm, trace)  # bounded widgets: nothing a person sets here is refused

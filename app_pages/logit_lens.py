"""Layer by layer: what the model would predict if it stopped after each layer (the logit lens)."""

import streamlit as st

from components.inert import inert_markdown
from components.logit_lens import lens_heatmap, lens_table, rank_chart
from core.logit_lens import GRID_POSITIONS, LENS_CAP, LensUnavailable, layer_predictions
from core.text import PromptError
from ui import state
from ui.backend import require_local_model
from ui.charts import show_chart
from ui.controls import prompt_area
from ui.memo import session_forward, session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.presenter import presenter_mode
from ui.share import Shared, copy_link_control, share_inputs

TOP_N = 5

st.title("Layer by layer")
st.markdown(
    "The model's prediction is built up in a stream of hidden vectors, one per token, that every layer reads and "
    "adds to. The **logit lens** asks: what would the model predict if it stopped after layer *l*? It sends that "
    "layer's hidden state through the same final steps as the last layer, **the final norm and then the "
    "unembedding** (the output head), and applies softmax over the whole vocabulary. Skipping the final norm, as "
    "one well-known tool does, gives wrong early layers: the hidden states are on a different scale."
)
SHARED = [Shared(state.LENS_PROMPT, "prompt"), Shared(state.LENS_EVERY_POSITION, "every", "bool")]
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
    with st.spinner(f"Reading the prediction after every layer ({len(prompt):,} characters of prompt)…"):
        lens = session_memo(
            "lens",
            (lm.name, prompt, every),
            lambda: layer_predictions(
                lm, prompt, TOP_N, grid_positions=GRID_POSITIONS if every else 1, forward=session_forward()
            ),
            max_entries=4,
        )
except LensUnavailable as error:
    notice(error, "error")
    st.stop()
except (PromptError, ValueError) as error:
    notice(error)
    st.stop()

if lens.dropped_tokens:
    st.warning(f"Long prompt: the model read only its last {LENS_CAP} tokens ({lens.dropped_tokens:,} left out).")
names = lens.layer_names
labels = [[lens.label(i) for i in stage[:, 0]] for stage in lens.top_ids]  # (S, P) each stage's top token
final = lens.label(lens.final_ids[-1])
st.markdown(
    f"After the whole model the most likely next token is **{inert_markdown(final)}** "
    f"({float(lens.top_probs[-1, -1, 0]):.1%}). The rows below show when it appears on the way up."
)

left, right = (st.container(), st.container()) if presenter_mode() else st.columns([3, 2])  # projector: stacked
with left:
    show_chart(
        lens_heatmap(
            lens.final_prob,
            names,
            [lens.tokens[p] for p in lens.positions],
            lens.positions,
            labels,
            lens.top_probs[:, :, 0],
            [lens.label(i) for i in lens.final_ids],
        ),
        "lens.heatmap",
    )
    st.caption(
        "Each column is a position: the prediction of the token *after* it. Colour: the probability this "
        "layer gives to what the model finally predicts there. Text: this layer's own top token."
    )
with right:
    show_chart(rank_chart(lens.final_rank[:, -1], lens.final_prob[:, -1], names, final), "lens.rank")
    st.caption(
        f"Rank 1 means the layer already puts {inert_markdown(final)} first; the vocabulary has "
        f"{lens.last_logits.shape[-1]:,} tokens."
    )

st.subheader("Top tokens at each layer")
options = list(range(len(lens.positions)))
if st.session_state.get(state.LENS_POSITION) not in options:
    st.session_state[state.LENS_POSITION] = options[-1]
pick = st.selectbox(
    "Position",
    options,
    key=state.LENS_POSITION,
    format_func=lambda i: f"{lens.positions[i]} {lens.tokens[lens.positions[i]]}",
)
rows = [[lens.label(i) for i in stage[pick]] for stage in lens.top_ids]  # (S, n)
table = lens_table(names, rows, lens.top_probs[:, pick, :])
st.dataframe(table.iloc[::-1], hide_index=True, height=min(36 * len(names) + 40, 700))
st.caption(
    "The top row is the model's real output (the same numbers as the next-token page); the bottom row "
    "reads the token embeddings alone, before any layer has mixed in the context."
)

"""The Layer by layer page's parts: its shared inputs, the memoised logit-lens read, the heatmap and rank charts,
and the table of each layer's top tokens at one position."""

import streamlit as st

from components.inert import inert_markdown
from components.logit_lens import lens_heatmap, lens_table, rank_chart
from core.logit_lens import GRID_POSITIONS, LayerPredictions, layer_predictions
from core.models import LoadedModel
from ui import state
from ui.charts import show_chart, show_table
from ui.memo import session_forward, session_memo
from ui.presenter import presenter_mode
from ui.share import Shared

TOP_N = 5
SHARED = [Shared(state.LENS_PROMPT, "prompt"), Shared(state.LENS_EVERY_POSITION, "every", "bool")]


def read_lens(lm: LoadedModel, prompt: str, every: bool) -> LayerPredictions:
    """Every layer's prediction for the prompt (the last position, or the last GRID_POSITIONS), memoised."""
    with st.spinner(f"Reading the prediction after every layer ({len(prompt):,} characters of prompt)…"):
        return session_memo(
            "lens",
            (lm.name, prompt, every),
            lambda: layer_predictions(
                lm, prompt, TOP_N, grid_positions=GRID_POSITIONS if every else 1, forward=session_forward()
            ),
            max_entries=4,
        )


def lens_charts(lens: LayerPredictions, final: str) -> None:
    """The heatmap (probability of the final prediction at every layer and position) beside the rank chart."""
    names = lens.layer_names
    labels = [[lens.label(i) for i in stage[:, 0]] for stage in lens.top_ids]  # (S, P) each stage's top token
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


def layer_table(lens: LayerPredictions) -> None:
    """The position picker and each layer's top tokens at that position, the model's output on top."""
    names = lens.layer_names
    st.subheader("Top tokens at each layer")
    options = list(range(len(lens.positions)))
    if st.session_state.get(state.LENS_POSITION) not in options:
        st.session_state[state.LENS_POSITION] = options[-1]
    labels = [f"{p} {lens.tokens[p]}" for p in lens.positions]  # the widget keeps its format_func: not the lens
    pick = st.selectbox("Position", options, key=state.LENS_POSITION, format_func=labels.__getitem__)
    rows = [[lens.label(i) for i in stage[pick]] for stage in lens.top_ids]  # (S, n)
    table = lens_table(names, rows, lens.top_probs[:, pick, :])
    show_table(table.iloc[::-1], hide_index=True, height=min(36 * len(names) + 40, 700))
    st.caption(
        "The top row is the model's real output (the same numbers as the next-token page); the bottom row "
        "reads the token embeddings alone, before any layer has mixed in the context."
    )

"""Generation tree: a prompt's continuations as a tree of tokens, a beam search step by step, and greedy, beam and
sampled paths compared by their log-probabilities."""

import streamlit as st

from components.generation_tree import frontier_table, tree_figure
from core.generation_tree import MAX_BEAM_WIDTH, MAX_CHILDREN, MAX_DEPTH
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import SEED_RANGE, prompt_area, sampling_controls
from ui.model_picker import current_model
from ui.presenter import presenter_mode
from ui.share import copy_link_control, share_inputs
from views.generation_tree import (
    DEFAULTS,
    SHARED,
    beam_controls,
    beam_to,
    comparison_panel,
    expand_panel,
    greedy_and_sampled,
    session_tree,
)

PAGE = "generation_tree"

for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
st.title("Generation tree")
st.markdown(
    "Every continuation of a prompt is a path in a tree: each node is a token, with the probability the model gave "
    "it after its parent (the softmax over the **whole vocabulary**, never renormalised over the few shown). A "
    "path's probability is the **product** of its steps' probabilities, so its log-probability is the **sum** of "
    "their logs. Expand any node, or watch a **beam search** keep the likeliest paths one step at a time."
)
share_inputs(SHARED, PAGE)
copy_link_control()
lm = current_model()
prompt = prompt_area(state.TREE_PROMPT, height=80)
a, b, c = st.columns(3)
k = a.slider("Children per node", 2, MAX_CHILDREN, key=state.TREE_CHILDREN)
width = b.slider("Beam width", 1, MAX_BEAM_WIDTH, key=state.TREE_WIDTH, help="Paths the beam keeps at each step.")
depth = c.slider("Depth (tokens)", 1, MAX_DEPTH, key=state.TREE_DEPTH, help="How far the beam and the paths go.")
beam_to(st.session_state[state.TREE_STEPS])  # a lower depth ends the beam there

steps = st.session_state[state.TREE_STEPS]
tree = session_tree(lm, prompt, k, width, steps)
beam_controls(tree, steps, depth, width)

with st.expander("Sampling settings for the sampled path"):
    temperature, top_k, top_p = sampling_controls(state.TREE_TEMPERATURE, state.TREE_TOP_K, state.TREE_TOP_P)
    seed = int(st.number_input("Seed", *SEED_RANGE, key=state.TREE_SEED))

greedy, drawn = greedy_and_sampled(lm, prompt, depth, temperature, top_k, top_p, seed)
beam = tree.best_beam_path()
highlights = {"greedy": greedy.token_ids, "sampled": drawn.token_ids, "beam": beam.token_ids}
frontier = tree.frontier(k)
show_chart(
    tree_figure(tree.nodes, highlights=highlights, frontier=[n.path for n in frontier], large=presenter_mode()),
    "tree.chart",
)
st.caption(
    "Edges: each token's probability after its parent. Colour: the path's Σ ln p. Thick lines: the beam's best path "
    "(blue), greedy (orange), sampled (purple) where they run through the tree. Black rings: the frontier."
)

left, right = st.columns([3, 2])
with left:
    st.subheader(f"Frontier: the {len(frontier)} likeliest unexplored branches")
    show_table(frontier_table(frontier, tree.nodes), hide_index=True)
with right:
    expand_panel(tree)

comparison_panel(tree, greedy, beam, drawn)

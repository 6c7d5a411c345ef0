"""Generation tree: a prompt's continuations as a tree of tokens, a beam search step by step, and greedy, beam and
sampled paths compared by their log-probabilities."""

import streamlit as st

from components.generation_tree import frontier_table, paths_figure, paths_table, tree_figure
from components.inert import inert_markdown
from core.generation_tree import (
    MAX_BEAM_WIDTH,
    MAX_CHILDREN,
    MAX_DEPTH,
    MAX_OPEN,
    GenerationTree,
    decoded_path,
    format_paths,
    parse_paths,
)
from core.text import PromptError, visible_text
from ui import state
from ui.charts import show_chart
from ui.controls import prompt_area, sampling_controls
from ui.inference import shared_step_runner
from ui.memo import session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import Shared, copy_link_control, share_inputs

PAGE = "generation_tree"
SHARED = [
    Shared(state.TREE_PROMPT, "prompt"),
    Shared(state.TREE_CHILDREN, "k", "int", 2, MAX_CHILDREN),
    Shared(state.TREE_WIDTH, "width", "int", 1, MAX_BEAM_WIDTH),
    Shared(state.TREE_DEPTH, "depth", "int", 1, MAX_DEPTH),
    Shared(state.TREE_STEPS, "steps", "int", 0, MAX_DEPTH),
    Shared(state.TREE_OPEN, "open", max_chars=2000),
    Shared(state.TREE_TEMPERATURE, "t", "float", 0, 3),
    Shared(state.TREE_TOP_K, "top_k", "int", 0, 1_000_000),
    Shared(state.TREE_TOP_P, "top_p", "float", 0, 1),
    Shared(state.TREE_SEED, "seed", "int", 0, 2**31 - 1),
]
DEFAULTS = {state.TREE_CHILDREN: 3, state.TREE_WIDTH: 2, state.TREE_DEPTH: 5, state.TREE_STEPS: 0, state.TREE_OPEN: ""}
DEFAULTS |= {state.TREE_TEMPERATURE: 0.7, state.TREE_TOP_P: 0.9, state.TREE_SEED: 0}


def beam_to(steps: int) -> None:
    st.session_state[state.TREE_STEPS] = min(int(steps), int(st.session_state[state.TREE_DEPTH]))


def reset() -> None:
    st.session_state[state.TREE_STEPS], st.session_state[state.TREE_OPEN] = 0, ""


def expand_pick() -> None:
    """Expand-button callback: add the picked node to the link's list of expanded nodes."""
    pick = st.session_state.get(state.TREE_PICK)
    if pick:
        opened = [p for p in str(st.session_state[state.TREE_OPEN]).split("_") if p]
        st.session_state[state.TREE_OPEN] = "_".join(dict.fromkeys(opened + [pick]))


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

opened, notes = parse_paths(st.session_state[state.TREE_OPEN], len(lm.tokenizer))
tree = st.session_state.get(state.TREE_STATE)
settings = (lm.name, lm.model, prompt, k, width)
steps = st.session_state[state.TREE_STEPS]
if (
    not isinstance(tree, GenerationTree)
    or (tree.model_name, tree.lm.model, tree.prompt, tree.children_per_node, tree.beam_width) != settings
    or tree.beam_steps > steps
    or not set(tree.open_paths) <= set(opened)
):
    try:
        with st.spinner(f"Reading the prompt ({len(prompt):,} characters) into a KV cache…"):
            tree = GenerationTree(lm, prompt, children=k, beam_width=width, runner=shared_step_runner(lm))
    except PromptError as error:
        notice(error)
        st.stop()
    st.session_state[state.TREE_STATE] = tree  # this session's own tree and prompt cache
tree.runner = shared_step_runner(lm)
with st.spinner("Running the model on the new nodes…"):
    notes += tree.catch_up(steps, opened)
st.session_state[state.TREE_OPEN] = format_paths(tree.open_paths)  # what the tree really holds goes in the link
for note in notes:
    notice(note, "caption")
if tree.dropped_tokens:
    st.warning(f"Long prompt: the tree reads only its last {len(tree.prompt_ids):,} tokens.")

b1, b2, b3, b4 = st.columns([1, 1.4, 1, 3], vertical_alignment="center")
done = tree.beam_steps >= depth
b1.button("Beam step", type="primary", key=state.TREE_STEP_BUTTON, on_click=beam_to, args=(steps + 1,), disabled=done)
b2.button(f"Run the beam to depth {depth}", key=state.TREE_RUN_BUTTON, on_click=beam_to, args=(depth,), disabled=done)
b3.button("Reset", key=state.TREE_RESET_BUTTON, on_click=reset)
b4.markdown(f"Beam: **{tree.beam_steps} of {depth}** steps, width {width}, {len(tree.nodes) - 1:,} nodes.")

with st.expander("Sampling settings for the sampled path"):
    temperature, top_k, top_p = sampling_controls(state.TREE_TEMPERATURE, state.TREE_TOP_K, state.TREE_TOP_P)
    seed = int(st.number_input("Seed", 0, 2**31 - 1, key=state.TREE_SEED))


def paths() -> tuple:
    runner = shared_step_runner(lm)
    greedy = decoded_path(lm, prompt, depth, temperature=0, runner=runner)
    drawn = decoded_path(lm, prompt, depth, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, runner=runner)
    return greedy, drawn


try:
    with st.spinner(f"Decoding the greedy and the sampled paths ({depth} tokens each)…"):
        greedy, drawn = session_memo("tree_paths", (lm.name, prompt, depth, temperature, top_k, top_p, seed), paths)
except (PromptError, ValueError) as error:
    notice(error)
    st.stop()
beam = tree.best_beam_path()
highlights = {"greedy": greedy.token_ids, "sampled": drawn.token_ids, "beam": beam.token_ids}
frontier = tree.frontier(k)
show_chart(tree_figure(tree.nodes, highlights=highlights, frontier=[n.path for n in frontier]), "tree.chart")
st.caption(
    "Edges: each token's probability after its parent. Colour: the path's Σ ln p. Thick lines: the beam's best path "
    "(blue), greedy (orange), sampled (purple) where they run through the tree. Black rings: the frontier."
)

left, right = st.columns([3, 2])
with left:
    st.subheader(f"Frontier: the {len(frontier)} likeliest unexplored branches")
    st.dataframe(frontier_table(frontier, tree.nodes), hide_index=True)
with right:
    st.subheader("Expand a node")
    choices = [".".join(map(str, n.path)) for n in tree.frontier(len(tree.nodes))]
    labels = {c: visible_text("".join(n.text for n in tree.path_nodes(tuple(map(int, c.split(".")))))) for c in choices}
    if choices and st.session_state.get(state.TREE_PICK) not in choices:
        st.session_state[state.TREE_PICK] = choices[0]
    st.selectbox("Node (likeliest first)", choices, key=state.TREE_PICK, format_func=lambda c: labels[c][-60:])
    full = len(tree.open_paths) >= MAX_OPEN
    st.button("Expand", key=state.TREE_EXPAND_BUTTON, on_click=expand_pick, disabled=not choices or full)
    if full:
        st.caption(f"At most {MAX_OPEN} nodes are expanded by hand. Reset to start again.")

st.subheader("Greedy, beam and sampled paths")
s = tree.beam_steps
if s == 0:
    st.info("Take a beam step to compare the beam's best path with greedy and sampled decoding.")
    st.stop()
compared = [greedy.first(s), beam, drawn.first(s)]
st.dataframe(paths_table(compared).style.format({"Σ ln p": "{:.3f}", "∏ p": "{:.3g}"}), hide_index=True)
best = max(compared, key=lambda p: p.total_logprob)
found_by = [p.method for p in compared if p.token_ids == best.token_ids]  # equal paths: say so, name no winner
who = f"the path {' and '.join(found_by)} found" if len(found_by) > 1 else f"**{best.method}**'s path"
st.markdown(
    f"After {s} token(s) the likeliest of the three is {who}: "
    f"{inert_markdown(visible_text(best.text), single_line=True)} (Σ ln p = {best.total_logprob:.3f}). Beam search "
    "keeps several candidates, so it usually finds a path at least as likely as greedy; sampling trades likelihood "
    "for variety."
)
show_chart(paths_figure(compared), "tree.paths_chart")

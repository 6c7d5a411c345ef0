"""The Generation tree page's Streamlit parts: its shared inputs and defaults, the button callbacks, the session's
tree (rebuilt when its settings change), the beam buttons, the greedy and sampled paths, the expand-a-node panel and
the comparison of the three paths."""

from __future__ import annotations

import streamlit as st

from components.generation_tree import paths_figure, paths_table
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
from ui.charts import show_chart, show_table
from ui.controls import SEED_RANGE, TEMPERATURE_RANGE, TOP_K_RANGE, TOP_P_RANGE
from ui.inference import shared_step_runner
from ui.memo import session_memo
from ui.notice import notice
from ui.share import Shared

SHARED = [
    Shared(state.TREE_PROMPT, "prompt"),
    Shared(state.TREE_CHILDREN, "k", "int", 2, MAX_CHILDREN),
    Shared(state.TREE_WIDTH, "width", "int", 1, MAX_BEAM_WIDTH),
    Shared(state.TREE_DEPTH, "depth", "int", 1, MAX_DEPTH),
    Shared(state.TREE_STEPS, "steps", "int", 0, MAX_DEPTH),
    Shared(state.TREE_OPEN, "open", max_chars=2000),
    Shared(state.TREE_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.TREE_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.TREE_TOP_P, "top_p", "float", *TOP_P_RANGE),
    Shared(state.TREE_SEED, "seed", "int", *SEED_RANGE),
]
DEFAULTS = {state.TREE_CHILDREN: 3, state.TREE_WIDTH: 2, state.TREE_DEPTH: 5, state.TREE_STEPS: 0, state.TREE_OPEN: ""}
DEFAULTS |= {state.TREE_TEMPERATURE: 0.7, state.TREE_TOP_P: 0.9, state.TREE_SEED: 0}


def beam_to(steps: int) -> None:
    """Beam-button callback (and the page's clamp): set the beam's step count, never beyond the chosen depth."""
    st.session_state[state.TREE_STEPS] = min(int(steps), int(st.session_state[state.TREE_DEPTH]))


def reset() -> None:
    """Reset-button callback: no beam steps and no node expanded by hand."""
    st.session_state[state.TREE_STEPS], st.session_state[state.TREE_OPEN] = 0, ""


def expand_pick() -> None:
    """Expand-button callback: add the picked node to the link's list of expanded nodes."""
    pick = st.session_state.get(state.TREE_PICK)
    if pick:
        opened = [p for p in str(st.session_state[state.TREE_OPEN]).split("_") if p]
        st.session_state[state.TREE_OPEN] = "_".join(dict.fromkeys(opened + [pick]))


def session_tree(lm, prompt: str, k: int, width: int, steps: int) -> GenerationTree:
    """This session's ``GenerationTree``, rebuilt when the model, prompt, children or beam width changed (or the
    beam went back, or a node was closed), then caught up with the beam steps and the expanded nodes the link asks
    for; the link's list of expanded nodes is rewritten to what the tree really holds. A bad prompt stops the page
    with a message."""
    opened, notes = parse_paths(st.session_state[state.TREE_OPEN], len(lm.tokenizer))
    tree = st.session_state.get(state.TREE_STATE)
    settings = (lm.name, lm.model, prompt, k, width)
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
    return tree


def beam_controls(tree: GenerationTree, steps: int, depth: int, width: int) -> None:
    """The Beam step, Run the beam and Reset buttons, and where the beam has got to."""
    b1, b2, b3, b4 = st.columns([1, 1.4, 1, 3], vertical_alignment="center")
    done = tree.beam_steps >= depth
    b1.button(
        "Beam step", type="primary", key=state.TREE_STEP_BUTTON, on_click=beam_to, args=(steps + 1,), disabled=done
    )
    b2.button(
        f"Run the beam to depth {depth}", key=state.TREE_RUN_BUTTON, on_click=beam_to, args=(depth,), disabled=done
    )
    b3.button("Reset", key=state.TREE_RESET_BUTTON, on_click=reset)
    b4.markdown(f"Beam: **{tree.beam_steps} of {depth}** steps, width {width}, {len(tree.nodes) - 1:,} nodes.")


def greedy_and_sampled(lm, prompt: str, depth: int, temperature: float, top_k: int, top_p: float, seed: int):
    """The greedy path and the seeded sampled path of ``depth`` tokens (memoised per session); a bad prompt or
    setting stops the page with a message.

    Returns:
        (greedy, sampled), two ``core.generation_tree.ScoredPath``.
    """

    def paths() -> tuple:
        runner = shared_step_runner(lm)
        greedy = decoded_path(lm, prompt, depth, temperature=0, runner=runner)
        drawn = decoded_path(
            lm, prompt, depth, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, runner=runner
        )
        return greedy, drawn

    try:
        with st.spinner(f"Decoding the greedy and the sampled paths ({depth} tokens each)…"):
            return session_memo("tree_paths", (lm.name, prompt, depth, temperature, top_k, top_p, seed), paths)
    except PromptError as error:
        notice(error)
        st.stop()


def expand_panel(tree: GenerationTree) -> None:
    """Pick any unexplored node (likeliest first) and expand it; at most ``MAX_OPEN`` nodes by hand."""
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


def comparison_panel(tree: GenerationTree, greedy, beam, drawn) -> None:
    """Greedy, beam and sampled paths cut to the beam's length: their table, which is likeliest, and their
    cumulative log-probability chart (before the first beam step: a hint, and the page stops)."""
    st.subheader("Greedy, beam and sampled paths")
    s = tree.beam_steps
    if s == 0:
        st.info("Take a beam step to compare the beam's best path with greedy and sampled decoding.")
        st.stop()
    compared = [greedy.first(s), beam, drawn.first(s)]
    show_table(paths_table(compared).style.format({"Σ ln p": "{:.3f}", "∏ p": "{:.3g}"}), hide_index=True)
    best = max(compared, key=lambda p: p.total_logprob)
    found_by = [p.method for p in compared if p.token_ids == best.token_ids]  # equal paths: say so, name no winner
    who = f"the path {' and '.join(found_by)} found" if len(found_by) > 1 else f"**{best.method}**'s path"
    st.markdown(
        f"After {s} token(s) the likeliest of the three is {who}: "
        f"{inert_markdown(visible_text(best.text), single_line=True)} (Σ ln p = {best.total_logprob:.3f}). Beam "
        "search keeps several candidates, so it usually finds a path at least as likely as greedy; sampling trades "
        "likelihood for variety."
    )
    show_chart(paths_figure(compared), "tree.paths_chart")

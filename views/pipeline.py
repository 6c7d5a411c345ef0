"""The whole-pipeline page's Streamlit parts: its shared inputs, the bordered stage card, one function per stage of
the model (1 to 5), and the sampler fragment (stages 6 to 8)."""

from __future__ import annotations

import functools

import streamlit as st

from components.diagram import architecture_figure, clicked_part, explanation, shapes_text
from components.inert import inert_markdown
from components.kv_cache import human_bytes
from components.next_token import probability_bars
from components.pipeline import (
    CARD_WORDS,
    cache_chart,
    count_text,
    filter_chart,
    layer_chart,
    neighbour_table,
    norm_reason,
    shape_text,
    vector_strip,
)
from components.tables import candidate_table
from components.token_chips import token_chips
from core.architecture import architecture
from core.logit_lens import final_norm
from core.models import LoadedModel
from core.pipeline import PipelineTrace, cache_growth, sampling_trace
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import SEED_RANGE, TEMPERATURE_RANGE, TOP_K_RANGE, TOP_P_RANGE, sampling_controls
from ui.inference import shared_run
from ui.memo import session_memo
from ui.navigation import ROOT, available_pages
from ui.page_links import open_page
from ui.share import Shared, copy_link_control, publish_inputs

SHARED = [
    Shared(state.PIPE_PROMPT, "prompt"),
    Shared(state.PIPE_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.PIPE_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.PIPE_TOP_P, "top_p", "float", *TOP_P_RANGE),
    Shared(state.PIPE_SEED, "seed", "int", *SEED_RANGE),
]


@functools.cache
def page_titles() -> dict[str, str]:
    """Each registered page's title by its path (the registry does not change while the server runs)."""
    return {info.path: info.title for info in available_pages()}


SHOWN_PROMPT_TOKENS = 64  # card 7 shows the whole prompt up to this many tokens, else "…" and the last ones

# The page that details each part of the diagram (an app_pages stem).
PART_PAGES = {
    "tokens": "tokenizer",
    "embedding": "embeddings",
    "positions": "attention",
    "norm1": "logit_lens",
    "attention": "attention",
    "add1": "logit_lens",
    "norm2": "logit_lens",
    "mlp": "logit_lens",
    "add2": "logit_lens",
    "kv_cache": "kv_cache",
    "final_norm": "logit_lens",
    "unembedding": "embeddings",
    "softmax": "next_token",
    "sampler": "temperature",
    "append": "generation",
}


def _pick_clicked_part() -> None:
    """The diagram's on_select callback: a click on a box explains that part."""
    key = clicked_part(st.session_state.get(state.PIPE_DIAGRAM))
    if key in PART_PAGES:
        st.session_state[state.PIPE_PART] = key


def diagram_panel(lm: LoadedModel, trace: PipelineTrace) -> None:
    """The whole model as one picture for this prompt; a click on a part (or the picker under it) explains it in
    plain words and offers its detailed page with the same prompt."""
    arch = session_memo("pipeline.diagram", (lm.name, tuple(trace.token_ids)), lambda: architecture(lm, trace))
    st.session_state.setdefault(state.PIPE_PART, "tokens")
    selected = st.session_state[state.PIPE_PART]
    show_chart(
        architecture_figure(arch, selected),
        state.PIPE_DIAGRAM,
        on_select=_pick_clicked_part,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    numbers = {part.key: number for number, part in enumerate(arch.parts, start=1)}
    st.selectbox(
        "Explain a part (or click its box)",
        list(numbers),
        key=state.PIPE_PART,
        format_func=lambda key: f"{numbers[key]}. {arch.part(key).title}",
    )
    part = arch.part(selected)
    plain, word = explanation(arch, selected)
    page = PART_PAGES[selected]
    with st.container(border=True):
        st.markdown(f"**{numbers[selected]}. {inert_markdown(part.title)}**")
        st.markdown(plain)
        st.markdown(f"The technical word: **{word}**.")
        st.caption(f"For your prompt: shape `{shapes_text(part)}`, {inert_markdown(part.value)}.")
        title = page_titles().get(f"app_pages/{page}.py", "its page")
        if st.button(f"Open {title} with this prompt", key=state.PIPE_OPEN, icon=":material/arrow_forward:"):
            if page == "embeddings":  # the Embeddings page reads a word, not a prompt: the last token's
                st.session_state[state.EMB_WORD] = trace.tokens[-1].replace("␣", " ").strip() or trace.tokens[-1]
            open_page(page, prompt=st.session_state.get(state.PIPE_PROMPT))


def stage(number: int, title: str, shape: str, *pages: str):
    """A bordered card for one stage: its number, name and tensor shape, and links to the pages that detail it."""
    titles = page_titles()
    box = st.container(border=True)
    head, *links = box.columns([3] + [1] * len(pages), vertical_alignment="center")
    head.markdown(f"**{number}. {title}** &nbsp; shape `{shape}`")
    box.markdown(CARD_WORDS[number])
    for column, page in zip(links, pages):
        if page in titles:
            column.page_link(str(ROOT / page), label=titles[page], icon=":material/arrow_forward:")
    return box


def tokens_stage(trace: PipelineTrace) -> None:
    """Stage 1: the prompt's tokens as chips and their ids (the last 24 when there are more)."""
    T = len(trace.token_ids)
    with stage(1, "Tokens", shape_text((T,)), "app_pages/tokenizer.py"):
        st.html(token_chips(trace.tokens, titles=[f"token id {i}" for i in trace.token_ids]))
        st.caption(
            f"{count_text(T, 'token id')}: {', '.join(str(i) for i in trace.token_ids[-24:])}"
            + (" (the last 24)" if T > 24 else "")
        )


def embedding_stage(trace: PipelineTrace) -> None:
    """Stage 2: the last token's embedding row as a strip, its norm, its nearest tokens, and the position vector
    when the model adds one."""
    d, V, last = trace.hidden_size, trace.distribution.vocab_size, trace.tokens[-1]
    with stage(2, f"Embedding of the last token {inert_markdown(last)}", shape_text((d,)), "app_pages/embeddings.py"):
        left, right = st.columns([3, 1])
        with left:
            show_chart(
                vector_strip(
                    trace.embedding, f"Row {trace.token_ids[-1]} of the {shape_text((V, d))} embedding matrix"
                ),
                "pipeline.embedding",
            )
        right.metric("Norm of the row", f"{trace.embedding_norm:.3f}")
        show_table(neighbour_table(trace.neighbours), where=right, hide_index=True, height=250)
        right.caption("Nearest tokens by cosine in the embedding matrix.")
        if trace.position_added:
            st.caption(
                "This model adds a learned position vector: the residual stream starts at norm "
                f"{trace.residual_norms[0]:.3f}."
            )


def layers_stage(trace: PipelineTrace) -> None:
    """Stage 3: what each layer (its attention and MLP when they can be told apart) adds to the logit of the final
    top token, read with the logit lens."""
    T, d, L = len(trace.token_ids), trace.hidden_size, trace.num_layers
    split = "attention and the MLP" if trace.split else "each layer (its attention and MLP cannot be told apart here)"
    LAYERS = f"{L} layers: attention and MLP add to the residual stream"
    with stage(3, LAYERS, f"({T}, {d}) per layer", "app_pages/attention.py", "app_pages/logit_lens.py"):
        show_chart(
            layer_chart(
                trace.residual_norms, trace.layer_logit, trace.attention_logit, trace.mlp_logit, trace.target_label
            ),
            "pipeline.layers",
        )
        st.caption(
            f"Method (the logit lens): the residual stream at the last position is read through the final norm and "
            f"the unembedding just before and just after each block; a bar is the change in the logit of the final "
            f"top token {inert_markdown(trace.target_label)} across {split}. The bars add up from "
            f"{trace.start_logit:+.2f} (the embeddings alone) to the model's own logit {trace.lens_logits[-1]:+.2f}."
        )


def norm_stage(lm: LoadedModel, trace: PipelineTrace) -> None:
    """Stage 4: the last hidden state after the final norm, its norm before and after, and why it falls."""
    with stage(4, "Final norm", shape_text((trace.hidden_size,)), "app_pages/logit_lens.py"):
        show_chart(vector_strip(trace.normed, "The last hidden state after the final norm"), "pipeline.normed")
        st.caption(f"Norm {trace.final_residual_norm:,.1f} before the final norm, {trace.normed_norm:,.1f} after it.")
        kind = type(final_norm(lm.model)).__name__
        st.caption(norm_reason(kind, trace.hidden_size, trace.final_residual_norm, trace.normed_norm))


def logits_stage(trace: PipelineTrace) -> None:
    """Stage 5: the top logits and their probabilities (softmax over the whole vocabulary)."""
    dist = trace.distribution
    V = dist.vocab_size
    with stage(5, "Logits and probabilities", shape_text((V,)), "app_pages/next_token.py"):
        show_chart(
            probability_bars(
                candidate_table(dist, 8), title="Top logits, softmax over the whole vocabulary", show_sampling=False
            ),
            "pipeline.logits",
        )
        rows = dist.top_rows(5)
        st.caption(
            "Logits: "
            + ", ".join(f"{inert_markdown(r.token)} {r.logit:.2f}" for r in rows)
            + f"; the softmax runs over all {V:,} logits."
        )


@st.fragment
def sampler(lm: LoadedModel, trace: PipelineTrace) -> None:
    """Stages 6 to 8: moving a sampling control reruns only these (the model's logits are cached above)."""
    T, dist = len(trace.token_ids), trace.distribution
    V = dist.vocab_size
    with stage(6, "Sampling filters: temperature → top-k → top-p", shape_text((V,)), "app_pages/temperature.py"):
        for key, value in ((state.PIPE_TEMPERATURE, 0.8), (state.PIPE_TOP_K, 50), (state.PIPE_TOP_P, 0.9)):
            st.session_state.setdefault(key, value)  # every filter cuts something at first
        temperature, top_k, top_p = sampling_controls(state.PIPE_TEMPERATURE, state.PIPE_TOP_K, state.PIPE_TOP_P)
        st.session_state.setdefault(state.PIPE_SEED, 0)
        seed = st.number_input("Seed", *SEED_RANGE, step=1, key=state.PIPE_SEED)
        drawn = sampling_trace(dist.logits, temperature, top_k, top_p, int(seed))
        show_chart(filter_chart(V, drawn.stages), "pipeline.filters")
    token = dist.token_text(drawn.token_id)
    with stage(7, f"Sampled token {inert_markdown(token)}", "(1,)", "app_pages/generation.py"):
        st.html(
            token_chips(
                [*(["…"] if T > SHOWN_PROMPT_TOKENS else []), *trace.tokens[-SHOWN_PROMPT_TOKENS:], token],
                [0.15] * (min(T, SHOWN_PROMPT_TOKENS) + (T > SHOWN_PROMPT_TOKENS)) + [1.0],
                [""] * (min(T, SHOWN_PROMPT_TOKENS) + (T > SHOWN_PROMPT_TOKENS)) + [f"token id {drawn.token_id}"],
            )
        )
        st.caption(
            f"Seed {drawn.seed} drew token id {drawn.token_id}: model probability {drawn.model_probability:.2%}, "
            f"{drawn.sampling_probability:.2%} after the filters ({count_text(drawn.kept, 'token')} could be drawn)."
        )
    with stage(8, "KV cache one token longer", "(layers, kv_heads, tokens, head_dim)", "app_pages/kv_cache.py"):
        growth = session_memo(
            "pipeline.cache",
            (lm.name, tuple(trace.token_ids), drawn.token_id),
            lambda: shared_run(lm, lambda: cache_growth(lm, trace.token_ids, drawn.token_id), what="KV cache"),
            max_entries=8,
        )
        show_chart(cache_chart(growth), "pipeline.cache")
        st.caption(
            f"A real DynamicCache: {shape_text(growth.before_shape)} after the prompt, "
            f"{shape_text(growth.after_shape)} after the sampled token. "
            "One more token adds one row per layer for keys and values: "
            f"{human_bytes(growth.bytes_per_token)} ({growth.dtype}, {growth.bytes_per_value} bytes a value). "
            f"The formula gives {human_bytes(growth.estimated_after)}; the tensors hold "
            f"{human_bytes(growth.after_bytes)}."
        )
    publish_inputs(SHARED, "pipeline")
    copy_link_control()

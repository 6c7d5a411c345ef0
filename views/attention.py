"""The attention page's Streamlit parts: the facts about the computed maps, and the explore fragment (the layer
selector, the in-page explorer with its head and query selects, heatmap and bars, the layers x heads overview, every
head of a layer, the rows generation adds)."""

from __future__ import annotations

import streamlit as st

from components.attention import METRICS, clicked_head, head_grid, head_heatmap, overview_chart
from components.attention_explorer import head_name
from components.inert import inert_markdown
from core.attention import (
    DISPLAY_CAP,
    MAX_NEW_TOKENS,
    AttentionMaps,
    generation_attention,
    generation_maps,
    head_summaries,
    query_heads_by_kv,
    without_first_key,
)
from core.models import LoadedModel
from core.text import PromptError
from ui import state
from ui.attention_explorer import attention_explorer
from ui.charts import memo_figure, show_chart
from ui.inference import shared_forward, shared_step_runner
from ui.memo import session_memo
from ui.notice import notice
from ui.share import Shared, copy_link_control, publish_inputs

SHARED = (
    Shared(state.ATT_PROMPT, "prompt"),
    Shared(state.ATT_LAYER, "layer_number", "int", 1, 1000),  # layers 1..L, as the logit lens and the pipeline
    Shared(state.ATT_HEAD, "head", "choice", choices=(None, *range(256))),
    Shared(state.ATT_HIDE_SINK, "hide_sink", "bool"),
    Shared(state.ATT_QUERY, "query", "int", 0, 10_000),
)


OLD_LAYER_PARAM = "layer"  # links made before layers were numbered 1..L carried the 0-based index


def upgrade_old_layer_link() -> None:
    """Read an older link's 0-based ``layer`` index as the layer number it meant (index + 1), before the link is
    applied: an old link still opens the same layer."""
    if OLD_LAYER_PARAM not in st.query_params:
        return
    raw = st.query_params.get(OLD_LAYER_PARAM, "")
    del st.query_params[OLD_LAYER_PARAM]
    if "layer_number" not in st.query_params:
        text = str(raw).strip()
        st.query_params["layer_number"] = str(int(text) + 1) if text.isdigit() else text  # a bad value gets its note


def open_clicked_head():
    """Overview callback: a click on a head's square opens that layer and head (runs before the widgets)."""
    picked = clicked_head(st.session_state.get(state.ATT_OVERVIEW))
    if picked is not None:
        st.session_state[state.ATT_LAYER], st.session_state[state.ATT_HEAD] = picked


def map_facts(lm: LoadedModel, maps: AttentionMaps) -> None:
    """What the page shows above the selectors: the long-prompt window warning, the one-token note, the maps' size,
    and for grouped-query models which query heads share each key/value head."""
    L, H, T = maps.layers, maps.heads, maps.length
    if maps.windowed:
        st.warning(
            f"Long prompt: showing the last {T} tokens (the display cap is {DISPLAY_CAP}); the model read only "
            f"those, and {maps.dropped_tokens:,} tokens at the start were left out."
        )
    if T == 1:
        st.info(
            "One token: each map is 1 × 1. The only token can only look at itself, so its weight is 1 everywhere. "
            "Type a few more words to see tokens looking back."
        )
    size = f"{maps.nbytes / 1e6:.1f} MB" if maps.nbytes >= 1e5 else f"{maps.nbytes / 1e3:.1f} kB"
    st.caption(
        f"{inert_markdown(lm.name)}: {L} layers × {H} heads over {T} tokens; these maps hold {size} "
        "(layers × heads × tokens² float32 numbers), computed once for this prompt."
    )
    if maps.kv_heads < H:
        groups = "; ".join(
            f"kv head {g}: query heads {', '.join(map(str, qs))}"
            for g, qs in enumerate(query_heads_by_kv(H, maps.kv_heads))
        )
        st.info(
            f"Grouped-query attention: {H} query heads share {maps.kv_heads} key/value heads ({groups}). Heads in a "
            "group compare their own queries with the same keys, so the KV cache stores only "
            f"{maps.kv_heads} heads' keys and values per layer, {H // maps.kv_heads}× less."
        )


def selectors(maps: AttentionMaps) -> tuple[int, int | None, bool]:
    """The share box and the layer and hide-the-sink selectors, with the head and query the explorer picked (each
    reset when another model or prompt made it out of range), and the attention-sink note when the sink is hidden.

    Returns:
        The picked layer number (1..L: ``maps.weights[layer - 1]``), head (None for the average over heads) and
        whether the first token is hidden.
    """
    L, H, T = maps.layers, maps.heads, maps.length
    st.session_state.setdefault(state.ATT_LAYER, 1)
    st.session_state.setdefault(state.ATT_HEAD, 0)
    layer, head = st.session_state[state.ATT_LAYER], st.session_state[state.ATT_HEAD]
    if layer not in range(1, L + 1) or head not in (None, *range(H)):  # another model was picked, or a link's numbers
        st.session_state[state.ATT_LAYER], st.session_state[state.ATT_HEAD] = 1, 0
        notice(f"This model has layers 1 to {L} and heads 0 to {H - 1}, so layer 1, head 0 is shown.", "caption")
    query = st.session_state.get(state.ATT_QUERY)
    if query not in range(T):
        st.session_state[state.ATT_QUERY] = T - 1  # a new prompt: start from its last token
        if isinstance(query, int) and query >= T:
            notice(f"This prompt has tokens 0 to {T - 1}, so the query is its last token.", "caption")
    publish_inputs(SHARED, "attention")  # the selectors are in the link; a fragment rerun skips the page's top
    copy_link_control()  # inside the fragment, so the link it shows follows the selectors
    left, right = st.columns([1, 2])
    layer = left.selectbox("Layer", list(range(1, L + 1)), key=state.ATT_LAYER, format_func=lambda n: f"layer {n}")
    left.caption("Another layer's maps come from the server; a head or query token picked below redraws at once.")
    head = st.session_state[state.ATT_HEAD]  # picked in the explorer (or by a link, or the overview)
    hide_sink = right.toggle(
        "Hide the first token and renormalise",
        key=state.ATT_HIDE_SINK,
        disabled=T < 2,
        help="For display only: the model's weights are unchanged.",
    )
    if hide_sink:
        st.caption(
            "Many heads park most of their weight on the first token (an *attention sink*): softmax must put 1 "
            "somewhere, and a head with nothing useful to fetch dumps it on a token every query can see. Hiding "
            "that column and renormalising each row shows where the rest of the weight goes."
        )
    return layer, head, hide_sink


def head_and_overview(
    lm: LoadedModel, prompt: str, maps: AttentionMaps, layer: int, head: int | None, hide_sink: bool
) -> None:
    """The explorer (the Head select, the picked head's heatmap, the Query token select and its bars, all redrawn in
    the browser) beside the layers x heads overview, whose metric selector picks what the squares show and whose
    click opens a head (``open_clicked_head``)."""
    chart_col, overview_col = st.columns([3, 2])
    with chart_col:
        attention_explorer(
            lm.name, prompt, maps, layer, head, st.session_state[state.ATT_QUERY], hide_sink and maps.length > 1
        )

    with overview_col:
        metric = st.selectbox(
            "Find interesting heads by", list(METRICS), key=state.ATT_METRIC, format_func=lambda m: METRICS[m][0]
        )
        summary = session_memo(
            "attention_summary", (lm.name, prompt), lambda: head_summaries(maps.weights), max_entries=4
        )
        show_chart(
            overview_chart(summary[metric], metric, selected=None if head is None else (layer, head)),
            state.ATT_OVERVIEW,
            on_select=open_clicked_head,
            selection_mode="points",
        )
        st.caption(f"{METRICS[metric][1].capitalize()}. Click a square to open that head on the left.")


def layer_grid(lm: LoadedModel, prompt: str, maps: AttentionMaps, layer: int) -> None:
    """The "every head of the layer side by side" toggle (on by default for prompts up to 48 tokens) and the grid of
    one map per head of layer number ``layer`` (1..L), memoised per layer so a head switch in the same layer
    redraws nothing."""
    H, T = maps.heads, maps.length
    st.session_state.setdefault(state.ATT_GRID, T <= 48)
    if st.toggle(
        f"Every head of layer {layer} side by side",
        key=state.ATT_GRID,
        help="Draws one map per head; off by default for long prompts.",
    ):
        groups = [maps.kv_group(h) for h in range(H)] if maps.kv_heads < H else None
        grid = memo_figure(  # a head switch in the same layer redraws the same grid
            "attention_grid",
            (lm.name, prompt, layer),
            lambda: head_grid(
                maps.weights[layer - 1], maps.tokens, title=f"Layer {layer}: all {H} heads", kv_groups=groups
            ),
        )
        show_chart(grid, "attention.grid")


def generation_panel(lm: LoadedModel, prompt: str, layer: int, head: int | None, hide_sink: bool, name: str) -> None:
    """The "Attention during generation" section: behind a toggle, the query rows the generated tokens add for the
    picked layer (its number, 1..L) and head, from the Step-by-step generation page's run when there is one, else
    from a greedy continuation of the prompt (its length on a slider). Both are memoised; a bad prompt shows a
    notice."""
    st.subheader("Attention during generation")
    st.markdown(
        "When the model generates, each step feeds one new token. It adds **one key/value column** to the KV "
        "cache and computes **one new query row** over every token so far; earlier rows never change, which is "
        "why their keys and values can be cached instead of recomputed."
    )
    from_generation = state.generation_for(lm.name)  # the Step-by-step generation page's run, if any
    if st.toggle("Show attention during generation", key=state.ATT_GEN_SHOW):
        try:
            if from_generation:
                st.caption(
                    f"Using the {from_generation.generated} tokens generated on the Step-by-step generation page."
                )
                with st.spinner(f"Computing attention for {len(from_generation.ids):,} tokens…"):
                    gen = session_memo(
                        "attention_generation",
                        (lm.name, from_generation.ids, from_generation.prompt_len),
                        lambda: generation_maps(
                            lm, list(from_generation.ids), from_generation.prompt_len, forward=shared_forward
                        ),
                        max_entries=2,
                    )
            else:
                st.session_state.setdefault(state.ATT_GEN_TOKENS, 8)
                n = st.slider("Tokens to generate (greedy)", 1, MAX_NEW_TOKENS, key=state.ATT_GEN_TOKENS)
                with st.spinner(f"Generating {n} tokens and computing their attention…"):
                    gen = session_memo(
                        "attention_generation",
                        (lm.name, prompt, n),
                        lambda: generation_attention(
                            lm, prompt, n, forward=shared_forward, runner=shared_step_runner(lm)
                        ),
                        max_entries=2,
                    )
        except PromptError as error:
            notice(error)
            return
        new = gen.length - gen.prompt_len
        if new <= 0:
            st.info("No generated tokens fit in the window to show.")
        else:
            full = gen.head(layer - 1, head)  # (T, T)
            rows = (without_first_key(full) if hide_sink else full)[gen.prompt_len :]  # (new, T): one row per new token
            generated_text = "".join(gen.tokens[gen.prompt_len :])
            st.markdown(f"Generated: **{inert_markdown(generated_text)}**")
            show_chart(
                head_heatmap(
                    rows,
                    gen.tokens,
                    title=f"Rows added by {new} generation steps · {name}",
                    row_start=gen.prompt_len,
                    boundary=gen.prompt_len,
                    key_offset=int(hide_sink),
                ),
                "attention.generation",
            )
            st.caption(
                f"Row by row the staircase grows one column per step: the cache held {gen.prompt_len} keys after "
                f"the prompt and {gen.length} after the last generated token."
            )


@st.fragment
def explore(lm: LoadedModel, prompt: str, maps: AttentionMaps) -> None:
    """Everything that reads the layer, head and query selectors: the maps, the overview, the every-head grid and
    the rows generation adds, with the share box (its link holds the selectors).

    A fragment: picking another layer, head or query reruns only this function on the maps the last full run
    computed (memoised per prompt); a new prompt reruns the whole page.
    """
    layer, head, hide_sink = selectors(maps)  # layer: its number, 1..L
    name = head_name(layer, head, maps.heads, maps.kv_heads)
    head_and_overview(lm, prompt, maps, layer, head, hide_sink)
    layer_grid(lm, prompt, maps, layer)
    generation_panel(lm, prompt, layer, head, hide_sink, name)

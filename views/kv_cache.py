"""The KV-cache page's Streamlit parts: where the architecture comes from, the size metrics, the GPU inputs, the two
charts, the weights + cache panel and the measurement of a real cache."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.inert import inert_markdown
from components.kv_cache import (
    attention_comparison,
    gpu_stack,
    human_bytes,
    measurement_table,
    memory_vs_length,
)
from core.kv_cache import (
    GIB,
    KV_DTYPES,
    PRESETS,
    ConfigError,
    KVDtype,
    KVSpec,
    attention_variants,
    cache_curves,
    fits_on_gpu,
    length_grid,
    measure_cache,
    spec_from_hub,
    weight_bytes,
)
from core.lessons import KV_ESTIMATE_EXAMPLE, NEXT_TOKEN_LESSON
from core.seed_examples import KV_ESTIMATE, KV_ESTIMATE_EXPECTED_GIB
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import limited_text
from ui.inference import shared_run
from ui.memo import session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.settings import allow_local_models
from ui.share import Shared, bounds

MANUAL, PRESET, LOADED, HUB = (
    f"Manual entry ({KV_ESTIMATE_EXAMPLE} of {NEXT_TOKEN_LESSON})",
    "Published model",
    "The loaded model",
    "Hugging Face config id",
)
BIG = 10**12

SHARED = [
    Shared(state.KV_SOURCE, "source", "choice", choices=(MANUAL, PRESET, LOADED, HUB)),
    Shared(state.KV_PRESET, "preset", "choice", choices=tuple(PRESETS)),
    Shared(state.KV_HUB_ID, "hub_id", max_chars=120),
    Shared(state.KV_LAYERS, "layers", "int", 1, 10_000),
    Shared(state.KV_HEADS, "heads", "int", 1, 10_000),
    Shared(state.KV_KV_HEADS, "kv_heads", "int", 1, 10_000),
    Shared(state.KV_HEAD_DIM, "head_dim", "int", 1, 100_000),
    Shared(state.KV_WINDOW, "window", "int", 0, BIG),
    Shared(state.KV_PARAMS_B, "params_b", "float", 0, 10_000),
    Shared(state.KV_BATCH, "batch", "int", 1, 10**9),
    Shared(state.KV_SEQ_LEN, "seq_len", "int", 1, BIG),
    Shared(state.KV_DTYPE, "dtype", "choice", choices=tuple(KV_DTYPES)),
    Shared(state.KV_PAGED, "paged", "bool"),
    Shared(state.KV_GPU_GIB, "gpu_gib", "int", 0, 100_000),
    Shared(state.KV_MEASURE_N, "measure_n", "int", 1, 512),
]


def hub_spec(hub_id: str, allow_local: bool) -> KVSpec | ConfigError:
    """The Hub config's spec, or the error (remembered too, so a rerun does not fetch again). A folder on the server
    is read only when the operator allows local models."""
    try:
        return spec_from_hub(hub_id, allow_local=allow_local)
    except ConfigError as error:
        return error


def architecture(source: str) -> tuple[KVSpec, int | None]:
    """The architecture from ``source``: the six manual inputs, a preset box, the loaded model's config or a Hub id.

    Returns:
        The spec and the parameter count (None when unknown). Bad input shows a warning and stops the page.
    """
    params = None
    try:
        if source == MANUAL:
            c = st.columns(6)
            st.session_state.setdefault(state.KV_LAYERS, KV_ESTIMATE["num_layers"])
            layers = c[0].number_input("Layers", *bounds(SHARED, state.KV_LAYERS), key=state.KV_LAYERS)
            st.session_state.setdefault(state.KV_HEADS, 32)
            heads = c[1].number_input("Query heads", *bounds(SHARED, state.KV_HEADS), key=state.KV_HEADS)
            st.session_state.setdefault(state.KV_KV_HEADS, KV_ESTIMATE["num_kv_heads"])
            kv_heads = c[2].number_input("Key/value heads", *bounds(SHARED, state.KV_KV_HEADS), key=state.KV_KV_HEADS)
            st.session_state.setdefault(state.KV_HEAD_DIM, KV_ESTIMATE["head_dim"])
            head_dim = c[3].number_input("Head dim", *bounds(SHARED, state.KV_HEAD_DIM), key=state.KV_HEAD_DIM)
            st.session_state.setdefault(state.KV_WINDOW, 0)
            window = c[4].number_input(
                "Sliding window (0 = none)", *bounds(SHARED, state.KV_WINDOW), key=state.KV_WINDOW
            )
            st.session_state.setdefault(state.KV_PARAMS_B, 8.03)
            params_b = c[5].number_input(
                "Parameters (billions)", *bounds(SHARED, state.KV_PARAMS_B), step=0.01, key=state.KV_PARAMS_B
            )
            spec = KVSpec(
                "your model", int(layers), int(heads), int(kv_heads), int(head_dim), sliding_window=int(window) or None
            )
            params = int(params_b * 1e9) or None
        elif source == PRESET:
            name = st.selectbox("Model", list(PRESETS), index=list(PRESETS).index("Llama-3.1-8B"), key=state.KV_PRESET)
            spec, params = PRESETS[name], PRESETS[name].parameters
            st.caption(f"Source: {spec.source}")
        elif source == LOADED:
            lm = current_model()
            spec, params = KVSpec.from_config(lm.model.config, name=lm.name), lm.facts.parameters
            st.caption(
                f"Read from the config of **{inert_markdown(lm.name)}**, the model in use "
                "(pick another in the sidebar)."
            )
        else:
            hub_id = limited_text(
                "Hub id", state.KV_HUB_ID, 120, area=False, placeholder="meta-llama/Llama-3.1-8B"
            ).strip()
            if not hub_id:
                st.info(
                    "Type a model id: only its config.json is fetched, never the weights. "
                    "This needs a network connection."
                )
                st.stop()
            with st.spinner(f"Fetching the config of {inert_markdown(hub_id)}…"):
                allow = allow_local_models()
                spec = session_memo("kv_hub", (hub_id, allow), lambda: hub_spec(hub_id, allow))
            if isinstance(spec, ConfigError):
                raise spec
            st.caption(f"Source: {inert_markdown(spec.source)}")
    except ConfigError as error:
        notice(error, "warning")
        st.stop()
    return spec, params


def mla_choice(spec: KVSpec) -> str:
    """For an MLA model, a radio: cache the latent or the decompressed per-head K and V; else "latent"."""
    mla = "latent"
    if spec.mla is not None:
        mla = st.radio(
            "The cache holds",
            ["latent", "decompressed"],
            horizontal=True,
            key=state.KV_MLA,
            format_func=lambda m: {
                "latent": "the MLA latent (what MLA caches)",
                "decompressed": "decompressed per-head K and V",
            }[m],
        )
    return mla


def size_metrics(seq_len: int, batch: int, sizes: tuple[int, int, int]) -> None:
    """Three metrics, per token, per request and for the whole batch, each with its exact bytes under it."""
    for col, label, n_bytes in zip(
        st.columns(3),
        ("Per token (one sequence)", f"Per request ({seq_len:,} tokens)", f"Total (batch {batch:,})"),
        sizes,
    ):
        col.metric(label, human_bytes(n_bytes).split(" (")[0])
        col.caption(f"{n_bytes:,} bytes = {human_bytes(n_bytes)}")


def lesson_comparison(spec: KVSpec, batch: int, kw: dict[str, Any]) -> None:
    """The cache at 2,048 and 32,768 tokens beside the numbers the lesson prints for its example."""
    at_2k, at_32k = spec.cache_bytes(2_048, batch, **kw), spec.cache_bytes(32_768, batch, **kw)
    st.markdown(
        f"With batch {batch:,}: **{at_2k / GIB:,.2f} GiB at 2,048 tokens** and "
        f"**{at_32k / GIB:,.2f} GiB at 32,768 tokens** ({NEXT_TOKEN_LESSON} prints "
        f"{KV_ESTIMATE_EXPECTED_GIB[2_048]:.2f} and {KV_ESTIMATE_EXPECTED_GIB[32_768]:.2f} for its example). "
        "GiB = 2^30 bytes; GB = 10^9 bytes."
    )


def gpu_inputs(spec: KVSpec, params: int | None, *, seq_len: int, batch: int, kw: dict[str, Any]) -> tuple:
    """The GPU-memory and weights-dtype inputs, side by side.

    Returns:
        ``(gpu_gib, weight_fmt, weights, fit)``: the GPU's GiB (0 = skip), the weights' dtype name, their bytes
        (0 without a parameter count) and the ``fits_on_gpu`` result (None when skipped).
    """
    g1, g2 = st.columns(2)
    st.session_state.setdefault(state.KV_GPU_GIB, 80)
    gpu_gib = g1.number_input(
        "GPU memory in GiB (0 = skip)",
        *bounds(SHARED, state.KV_GPU_GIB),
        key=state.KV_GPU_GIB,
        help="80 GiB is an A100/H100 80GB.",
    )
    st.session_state.setdefault(state.KV_WEIGHT_DTYPE, list(KV_DTYPES)[1])
    weight_fmt = g2.selectbox("Weights dtype", list(KV_DTYPES), key=state.KV_WEIGHT_DTYPE)
    weights = weight_bytes(params, weight_fmt) if params else 0
    fit = fits_on_gpu(spec, int(gpu_gib) * GIB, weights, seq_len=seq_len, batch_size=batch, **kw) if gpu_gib else None
    return gpu_gib, weight_fmt, weights, fit


def size_charts(
    spec: KVSpec, *, seq_len: int, batch: int, fmt: KVDtype, block: int | None, fit: Any, kw: dict[str, Any]
) -> None:
    """Two charts side by side: the cache against sequence length (up to four batch sizes, the GPU's free memory
    when known) and the cache under MHA / GQA / MQA."""
    left, right = st.columns(2)
    lengths = length_grid(max(seq_len, min(spec.context_length or 32_768, BIG)))
    batches = sorted({1, batch, 4 * batch, 16 * batch})[:4]
    show_chart(
        memory_vs_length(
            lengths,
            cache_curves(spec, lengths, batches, **kw),
            marker=seq_len,
            free_bytes=fit.free_bytes if fit else None,
            title=f"{spec.name}: KV cache against sequence length",
        ),
        "kv.curve_chart",
        where=left,
    )
    show_chart(
        attention_comparison(
            attention_variants(spec, seq_len, batch, dtype=fmt, block_size=block),
            title=f"Fewer key/value heads, smaller cache ({seq_len:,} tokens, batch {batch:,})",
        ),
        "kv.heads_chart",
        where=right,
    )


def gpu_panel(
    *,
    gpu_gib: int,
    params: int | None,
    weights: int,
    weight_fmt: str,
    total: int,
    fmt: KVDtype,
    fit: Any,
    seq_len: int,
    batch: int,
) -> None:
    """Weights + KV cache on one GPU: the stacked bar, then either "the weights do not fit" or the memory left for
    the cache, the longest context and the largest batch."""
    st.subheader("Weights + KV cache on one GPU")
    if not params:
        st.info("Enter a parameter count to include the weights.")
    show_chart(
        gpu_stack(
            weights,
            total,
            int(gpu_gib) * GIB,
            title=f"{gpu_gib:,} GiB GPU: weights ({weight_fmt}) + cache ({fmt.name})",
        ),
        "kv.gpu_chart",
    )
    if fit.free_bytes <= 0:
        st.error(
            f"The weights alone ({human_bytes(weights)}) do not fit in {gpu_gib:,} GiB: split the model "
            "across GPUs or quantise it."
        )
    else:
        longest = (
            "no limit (every layer slides, so the cache stops growing)"
            if fit.max_tokens is None
            else f"{fit.max_tokens:,} tokens"
        )
        st.markdown(
            f"Memory left for the cache: **{human_bytes(fit.free_bytes)}**.  \n"
            f"Longest context at batch {batch:,}: **{longest}**.  \n"
            f"Largest batch at {seq_len:,} tokens: **{fit.max_batch:,} sequences**.  \n"
            f"Activations, allocator overhead and batching metadata are not counted ({NEXT_TOKEN_LESSON})."
        )


def measured_panel() -> None:
    """The prompt-length slider, one run of the model in use with a fresh DynamicCache (memoised per session), the
    measured and estimated bytes side by side, and whether they are equal."""
    lm = current_model()
    low, high = bounds(SHARED, state.KV_MEASURE_N)
    limit = max(low, min(high, lm.context_length))
    st.session_state.setdefault(state.KV_MEASURE_N, min(32, limit))
    asked = st.session_state[state.KV_MEASURE_N]
    if asked > limit:  # a link's N, or one kept from a model with a longer context
        st.session_state[state.KV_MEASURE_N] = limit
        notice(f"{lm.name} reads at most {limit:,} tokens, so N is {limit:,}, not {asked:,}.", "caption")
    n = st.slider(
        "Prompt length N (tokens)",
        low,
        limit,
        key=state.KV_MEASURE_N,
        help="Runs the model in use once on N tokens with a fresh DynamicCache.",
    )
    try:
        with st.spinner(f"Running {inert_markdown(lm.name)} on {int(n):,} tokens to measure its cache…"):
            m = session_memo(
                "kv_measure",
                (lm.name, int(n)),
                lambda: shared_run(lm, lambda: measure_cache(lm, int(n)), what="cache measurement"),
            )
    except ConfigError as error:  # the model's config does not give a KV-cache spec
        notice(error, "warning")
        st.stop()
    show_table(measurement_table(m.measured_bytes, m.estimated_bytes, m.tokens, m.dtype), hide_index=True)
    keys, values = m.layer_shapes[0]
    if m.equal:
        st.success(
            f"Equal: {m.measured_bytes:,} bytes. **{inert_markdown(lm.name)}** ran on {m.tokens:,} tokens; each of "
            f"its {len(m.layer_shapes)} cache layers holds keys of shape {list(keys)} and values of shape "
            f"{list(values)} (batch, kv_heads, tokens, head_dim), {m.bytes_per_value} bytes per value ({m.dtype})."
        )
    else:
        st.error(f"Estimate {m.estimated_bytes:,} ≠ measured {m.measured_bytes:,} bytes for {inert_markdown(lm.name)}.")

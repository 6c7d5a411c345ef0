"""KV-cache memory: the lesson's estimate (seed 001) with your numbers, real architectures, and a check against a
real cache."""

import streamlit as st

from components.inert import inert_markdown
from components.kv_cache import (
    attention_comparison,
    breakdown_table,
    formula_markdown,
    gpu_stack,
    human_bytes,
    measurement_table,
    memory_vs_length,
)
from core.kv_cache import (
    GIB,
    KV_DTYPES,
    PAGED_BLOCK_SIZE,
    PRESETS,
    ConfigError,
    KVSpec,
    attention_variants,
    cache_curves,
    fits_on_gpu,
    kv_dtype,
    length_grid,
    measure_cache,
    spec_from_hub,
    weight_bytes,
)
from core.lessons import KV_ESTIMATE_EXAMPLE, NEXT_TOKEN_LESSON
from core.seed_examples import KV_ESTIMATE, KV_ESTIMATE_EXPECTED_GIB
from ui import state
from ui.charts import show_chart
from ui.controls import limited_text
from ui.lessons import lesson_presets
from ui.memo import session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import Shared, copy_link_control, share_inputs

MANUAL, PRESET, LOADED, HUB = (
    f"Manual entry ({KV_ESTIMATE_EXAMPLE} of {NEXT_TOKEN_LESSON})",
    "Published model",
    "The loaded model",
    "Hugging Face config id",
)
BIG = 10**12


def hub_spec(hub_id: str) -> KVSpec | ConfigError:
    """The Hub config's spec, or the error (remembered too, so a rerun does not fetch again)."""
    try:
        return spec_from_hub(hub_id)
    except ConfigError as error:
        return error


st.title("KV-cache memory")
st.markdown(
    "While generating, every attention layer keeps one **key** and one **value** vector per token and per "
    f"key/value head, so earlier tokens are never recomputed ({NEXT_TOKEN_LESSON}). That cache grows with context "
    "length, "
    "layers, key/value heads, head dimension and batch size: "
    "**bytes = 2 × layers × kv_heads × head_dim × tokens × batch × bytes per value**."
)

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
lesson_presets("kv_cache", manual=MANUAL)
share_inputs(SHARED, "kv_cache")
copy_link_control()
source = st.radio("Architecture", [MANUAL, PRESET, LOADED, HUB], horizontal=True, key=state.KV_SOURCE)
params = None
try:
    if source == MANUAL:
        c = st.columns(6)
        layers = c[0].number_input("Layers", 1, 10_000, KV_ESTIMATE["num_layers"], key=state.KV_LAYERS)
        heads = c[1].number_input("Query heads", 1, 10_000, 32, key=state.KV_HEADS)
        kv_heads = c[2].number_input("Key/value heads", 1, 10_000, KV_ESTIMATE["num_kv_heads"], key=state.KV_KV_HEADS)
        head_dim = c[3].number_input("Head dim", 1, 100_000, KV_ESTIMATE["head_dim"], key=state.KV_HEAD_DIM)
        window = c[4].number_input("Sliding window (0 = none)", 0, BIG, 0, key=state.KV_WINDOW)
        params_b = c[5].number_input("Parameters (billions)", 0.0, 10_000.0, 8.03, 0.01, key=state.KV_PARAMS_B)
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
            f"Read from the config of **{inert_markdown(lm.name)}**, the model in use (pick another in the sidebar)."
        )
    else:
        hub_id = limited_text("Hub id", state.KV_HUB_ID, 120, area=False, placeholder="meta-llama/Llama-3.1-8B").strip()
        if not hub_id:
            st.info(
                "Type a model id: only its config.json is fetched, never the weights. This needs a network connection."
            )
            st.stop()
        with st.spinner(f"Fetching the config of {inert_markdown(hub_id)}…"):
            spec = session_memo("kv_hub", hub_id, lambda: hub_spec(hub_id))
        if isinstance(spec, ConfigError):
            raise spec
except (ConfigError, ValueError) as error:
    notice(error, "warning")
    st.stop()

a, b, c, d = st.columns(4)
batch = int(a.number_input("Batch size (sequences)", 1, 10**9, KV_ESTIMATE["batch_size"], key=state.KV_BATCH))
seq_len = int(b.number_input("Sequence length (prompt + generated)", 1, BIG, 2048, 1024, key=state.KV_SEQ_LEN))
dtype_name = c.selectbox("Cache dtype", list(KV_DTYPES), index=1, key=state.KV_DTYPE)
paged = d.checkbox(
    f"Paged attention (blocks of {PAGED_BLOCK_SIZE})",
    key=state.KV_PAGED,
    help="vLLM-style: each sequence's cache grows one 16-token block at a time.",
)
fmt, block = kv_dtype(dtype_name), PAGED_BLOCK_SIZE if paged else None
st.caption(f"**{fmt.name}**: {fmt.note}")
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
st.caption(
    f"**{spec.name}**: {spec.num_layers} layers, {spec.num_attention_heads} query heads, "
    f"{spec.attention_kind}, head dim {spec.head_dim}"
    + (
        f", sliding window {spec.sliding_window:,} on {spec.sliding_layers} of {spec.num_layers} layers"
        if spec.sliding_layers
        else ""
    )
    + "."
)

kw = dict(dtype=fmt, block_size=block, mla=mla)
per_token = spec.bytes_per_token(dtype=fmt, mla=mla)
per_request = spec.cache_bytes(seq_len, 1, **kw)
total = spec.cache_bytes(seq_len, batch, **kw)
for col, label, n_bytes in zip(
    st.columns(3),
    ("Per token (one sequence)", f"Per request ({seq_len:,} tokens)", f"Total (batch {batch:,})"),
    (per_token, per_request, total),
):
    col.metric(label, human_bytes(n_bytes).split(" (")[0])
    col.caption(f"{n_bytes:,} bytes = {human_bytes(n_bytes)}")
at_2k, at_32k = spec.cache_bytes(2_048, batch, **kw), spec.cache_bytes(32_768, batch, **kw)
st.markdown(
    f"With batch {batch:,}: **{at_2k / GIB:,.2f} GiB at 2,048 tokens** and "
    f"**{at_32k / GIB:,.2f} GiB at 32,768 tokens** ({NEXT_TOKEN_LESSON} prints "
    f"{KV_ESTIMATE_EXPECTED_GIB[2_048]:.2f} and {KV_ESTIMATE_EXPECTED_GIB[32_768]:.2f} for its example). "
    "GiB = 2^30 bytes; GB = 10^9 bytes."
)

st.subheader("The formula with your numbers")
st.markdown(formula_markdown(spec, seq_len=seq_len, batch_size=batch, fmt=fmt, total=total, block_size=block, mla=mla))
st.dataframe(breakdown_table(spec.breakdown(seq_len, batch, dtype=fmt, block_size=block, mla=mla)), hide_index=True)

g1, g2 = st.columns(2)
gpu_gib = g1.number_input(
    "GPU memory in GiB (0 = skip)", 0, 100_000, 80, key=state.KV_GPU_GIB, help="80 GiB is an A100/H100 80GB."
)
weight_fmt = g2.selectbox("Weights dtype", list(KV_DTYPES), index=1, key=state.KV_WEIGHT_DTYPE)
weights = weight_bytes(params, weight_fmt) if params else 0
fit = fits_on_gpu(spec, int(gpu_gib) * GIB, weights, seq_len=seq_len, batch_size=batch, **kw) if gpu_gib else None

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

if gpu_gib:
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

st.subheader("Measured, not only estimated")
lm = current_model()
limit = max(1, min(512, lm.context_length))
n = st.slider(
    "Prompt length N (tokens)",
    1,
    limit,
    min(32, limit),
    key=state.KV_MEASURE_N,
    help="Runs the model in use once on N tokens with a fresh DynamicCache.",
)
try:
    with st.spinner(f"Running {inert_markdown(lm.name)} on {int(n):,} tokens to measure its cache…"):
        m = session_memo("kv_measure", (lm.name, int(n)), lambda: measure_cache(lm, int(n)))
except ValueError as error:
    notice(error, "warning")
    st.stop()
st.dataframe(measurement_table(m.measured_bytes, m.estimated_bytes, m.tokens, m.dtype), hide_index=True)
keys, values = m.layer_shapes[0]
if m.equal:
    st.success(
        f"Equal: {m.measured_bytes:,} bytes. **{inert_markdown(lm.name)}** ran on {m.tokens:,} tokens; each of its "
        f"{len(m.layer_shapes)} cache layers holds keys of shape {list(keys)} and values of shape {list(values)} "
        f"(batch, kv_heads, tokens, head_dim), {m.bytes_per_value} bytes per value ({m.dtype})."
    )
else:
    st.error(f"Estimate {m.estimated_bytes:,} ≠ measured {m.measured_bytes:,} bytes for {inert_markdown(lm.name)}.")

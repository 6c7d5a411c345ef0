"""KV-cache memory: the lesson's estimate (seed 001) with your numbers, real architectures, and a check against a
real cache."""

import streamlit as st

from components.kv_cache import breakdown_table, formula_markdown, spec_caption
from core.kv_cache import KV_DTYPES, PAGED_BLOCK_SIZE, kv_dtype
from core.lessons import NEXT_TOKEN_LESSON
from core.seed_examples import KV_ESTIMATE
from ui import state
from ui.backend import require_local_model
from ui.charts import show_table
from ui.lessons import lesson_presets
from ui.share import bounds, copy_link_control, share_inputs
from views.kv_cache import (
    HUB,
    LOADED,
    MANUAL,
    PRESET,
    SHARED,
    architecture,
    gpu_inputs,
    gpu_panel,
    lesson_comparison,
    measured_panel,
    mla_choice,
    size_charts,
    size_metrics,
)

st.title("KV-cache memory")
st.markdown(
    "While generating, every attention layer keeps one **key** and one **value** vector per token and per "
    f"key/value head, so earlier tokens are never recomputed ({NEXT_TOKEN_LESSON}). That cache grows with context "
    "length, "
    "layers, key/value heads, head dimension and batch size: "
    "**bytes = 2 × layers × kv_heads × head_dim × tokens × batch × bytes per value**."
)

lesson_presets("kv_cache", manual=MANUAL)
share_inputs(SHARED, "kv_cache")
copy_link_control()
source = st.radio("Architecture", [MANUAL, PRESET, LOADED, HUB], horizontal=True, key=state.KV_SOURCE)
spec, params = architecture(source)

a, b, c, d = st.columns(4)
st.session_state.setdefault(state.KV_BATCH, KV_ESTIMATE["batch_size"])
batch = int(a.number_input("Batch size (sequences)", *bounds(SHARED, state.KV_BATCH), key=state.KV_BATCH))
st.session_state.setdefault(state.KV_SEQ_LEN, 2048)
seq_len = int(
    b.number_input(
        "Sequence length (prompt + generated)", *bounds(SHARED, state.KV_SEQ_LEN), step=1024, key=state.KV_SEQ_LEN
    )
)
st.session_state.setdefault(state.KV_DTYPE, list(KV_DTYPES)[1])
dtype_name = c.selectbox("Cache dtype", list(KV_DTYPES), key=state.KV_DTYPE)
paged = d.checkbox(
    f"Paged attention (blocks of {PAGED_BLOCK_SIZE})",
    key=state.KV_PAGED,
    help="vLLM-style: each sequence's cache grows one 16-token block at a time.",
)
fmt, block = kv_dtype(dtype_name), PAGED_BLOCK_SIZE if paged else None
st.caption(f"**{fmt.name}**: {fmt.note}")
mla = mla_choice(spec)
st.caption(spec_caption(spec))

kw = dict(dtype=fmt, block_size=block, mla=mla)
per_token = spec.bytes_per_token(dtype=fmt, mla=mla)
per_request = spec.cache_bytes(seq_len, 1, **kw)
total = spec.cache_bytes(seq_len, batch, **kw)
size_metrics(seq_len, batch, (per_token, per_request, total))
lesson_comparison(spec, batch, kw)

st.subheader("The formula with your numbers")
st.markdown(formula_markdown(spec, seq_len=seq_len, batch_size=batch, fmt=fmt, total=total, block_size=block, mla=mla))
show_table(
    breakdown_table(spec.breakdown(seq_len, batch, dtype=fmt, block_size=block, mla=mla)),
    hide_index=True,
    column_config={"how": st.column_config.TextColumn(width="large")},  # its sentences must not be cut off
)

gpu_gib, weight_fmt, weights, fit = gpu_inputs(spec, params, seq_len=seq_len, batch=batch, kw=kw)
size_charts(spec, seq_len=seq_len, batch=batch, fmt=fmt, block=block, fit=fit, kw=kw)
if gpu_gib:
    gpu_panel(
        gpu_gib=gpu_gib,
        params=params,
        weights=weights,
        weight_fmt=weight_fmt,
        total=total,
        fmt=fmt,
        fit=fit,
        seq_len=seq_len,
        batch=batch,
    )

st.subheader("Measured, not only estimated")
require_local_model("a real KV cache, measured")
measured_panel()

"""Read-only panels of the step-by-step generation page, drawn with Streamlit: last step, KV cache, timeline."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components.generation import (
    cache_chart,
    cache_formula,
    median_ms,
    probability_entropy_chart,
    timeline_table,
    timing_chart,
)
from components.inert import inert_markdown
from core.generation import GREEDY, SAMPLED, Step, Stepper
from core.models import ModelFacts
from ui import state
from ui.charts import show_chart


def last_step_summary(last: Step) -> None:
    """One sentence on the latest step: the chosen token, how it was chosen, its probabilities and timing."""
    how = {GREEDY: "greedy: always the most likely token", SAMPLED: f"sampled with seed {last.seed}"}.get(
        last.chosen_by, "picked by you"
    )
    st.markdown(
        f"Step {last.index} chose **{inert_markdown(last.token)}** ({how}): model probability "
        f"{last.model_probability:.1%}, sampling probability {last.sampling_probability:.1%}, rank {last.rank}, "
        f"entropy {last.entropy_bits:.2f} bits, {last.seconds * 1000:.0f} ms."
    )


def kv_cache_panel(facts: ModelFacts, stepper: Stepper, steps: Sequence[Step]) -> None:
    """The KV-cache section: cache metrics, the size arithmetic next to the measured bytes, the measured speed-up."""
    st.subheader("The KV cache")
    st.caption(
        "At every layer the model stores each token's key and value vectors, so a new token only computes its own "
        "and attends to the stored ones. Without a cache, each step recomputes the whole sequence."
    )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Tokens in the cache", f"{stepper.cache_length:,}")
    m2.metric("Measured size", f"{stepper.cache_bytes / 1024:,.1f} KiB")
    with_ms, without_ms = median_ms(steps, True), median_ms(steps, False)
    m3.metric("Median time per step, cache on", f"{with_ms:.0f} ms" if with_ms else "—")
    m4.metric(
        "Median time per step, cache off",
        f"{without_ms:.0f} ms" if without_ms else "—",
        help="Switch on 'Without KV cache' and take a few steps to measure it.",
    )
    st.markdown(
        cache_formula(
            facts.layers,
            facts.kv_heads,
            facts.head_dim,
            stepper.cache_length,
            stepper.cache_bytes_per_value,
            stepper.cache_bytes,
        )
    )
    if with_ms and without_ms:
        st.info(
            f"Measured here: without the cache a step takes {without_ms / with_ms:.1f}× as long "
            f"(at {len(stepper.all_ids):,} tokens; the gap grows with the length of the sequence)."
        )


def timeline_panel(steps: Sequence[Step]) -> None:
    """The timeline: probability/entropy, cache and timing charts, the per-step table and its CSV download."""
    st.subheader("Timeline")
    show_chart(probability_entropy_chart(steps), "generation.prob_chart")
    left, right = st.columns(2)
    show_chart(cache_chart(steps), "generation.cache_chart", where=left)
    show_chart(timing_chart(steps), "generation.time_chart", where=right)
    timeline = timeline_table(steps)
    st.dataframe(timeline, hide_index=True, key="generation.timeline")
    st.download_button(
        "Download the timeline (CSV)",
        lambda: timeline.to_csv(index=False),  # written when clicked (on another thread), not on every step
        "generation_steps.csv",
        "text/csv",
        key=state.GEN_CSV_DOWNLOAD,
        on_click="ignore",
    )

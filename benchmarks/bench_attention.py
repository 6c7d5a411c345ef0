"""Attention page: switching head re-uses the cached maps (cost vs one forward pass), and the maps' memory at
the cap."""

from __future__ import annotations

from benchmarks.common import Row, alternate, peak_rss_mb

PROMPT = (
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch, "
    "wondering whether the rain will come before the harvest is in. "
)


def run() -> list[Row]:
    import plotly.io
    import streamlit.elements.plotly_chart  # noqa: F401  as in the app: Streamlit's plotly template is the default

    from components.attention import head_heatmap, overview_chart, query_bars
    from core.attention import DISPLAY_CAP, attention_maps, head_summaries
    from core.models import load_model, set_torch_threads
    from ui.settings import torch_threads

    set_torch_threads(torch_threads())  # as app.py does: one intra-op thread unless NTE_TORCH_THREADS says otherwise
    lm = load_model()
    memo: dict = {}  # stands in for ui.memo.session_memo: the page's per-session cache

    def forward():
        return attention_maps(lm, PROMPT * 2)

    maps = forward()
    memo[(lm.name, PROMPT * 2)] = (maps, head_summaries(maps.weights))
    T = maps.length
    state = {"head": 0}

    def switch_head():
        """What a rerun does after a new head is chosen: cache hit, then the three figures the page draws."""
        cached, summary = memo[(lm.name, PROMPT * 2)]
        state["head"] = (state["head"] + 1) % cached.heads
        layer, head = 7, state["head"]
        figures = [
            head_heatmap(cached.head(layer, head), cached.tokens, title=f"layer {layer + 1}, head {head}"),
            overview_chart(summary["entropy_bits"], "entropy_bits", selected=(layer + 1, head)),
            query_bars(cached.head(layer, head)[T - 1], cached.tokens, T - 1, title="query"),
        ]
        return [plotly.io.to_json(f, validate=False) for f in figures]  # what st.plotly_chart sends, as it does it

    switch, full = alternate(switch_head, forward, rounds=5)
    ratio = switch / full
    capped = attention_maps(lm, "word " * (DISPLAY_CAP + 40))
    full_512 = lm.facts.layers * lm.facts.attention_heads * 512 * 512 * 4 / 1e6
    return [
        Row(
            f"switch head (cached maps + 3 figures) ÷ forward pass, T={T}",
            ratio * 100,
            "%",
            "< 5%",
            ratio < 0.05,
            f"switch {switch * 1000:.1f} ms, forward with attentions {full * 1000:.0f} ms",
        ),
        Row(
            f"attention maps at the display cap (T={capped.length})",
            capped.nbytes / 1e6,
            "MB",
            "",
            None,
            f"vs {full_512:.0f} MB for 512 tokens uncapped; dropped {capped.dropped_tokens} tokens",
        ),
        Row("peak RSS of the benchmark process", peak_rss_mb(), "MB"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

"""KV-cache estimator: estimate == measured on real caches, and how cheap the arithmetic is next to measuring."""

from __future__ import annotations

import time

from benchmarks.common import Row, median_seconds
from core.kv_cache import GIB, PRESETS, fits_on_gpu, kv_cache_bytes, measure_cache, weight_bytes
from core.models import load_model


def run() -> list[Row]:
    lm = load_model()
    lengths = (1, 16, 128, 512)
    equal = 0
    measure_s = []
    for n in lengths:
        started = time.perf_counter()
        m = measure_cache(lm, n)
        measure_s.append(time.perf_counter() - started)
        equal += m.measured_bytes == m.estimated_bytes
    formula = median_seconds(
        lambda: kv_cache_bytes(num_layers=30, num_kv_heads=3, head_dim=64, seq_len=512, bytes_per_value=4), repeats=200
    )
    llama = PRESETS["Llama-3.1-8B"]
    fit_s = median_seconds(
        lambda: fits_on_gpu(llama, 80 * GIB, weight_bytes(llama.parameters), seq_len=8192, batch_size=4), repeats=20
    )
    page_s = median_seconds(
        lambda: [spec.cache_bytes(t, 4) for spec in PRESETS.values() for t in range(0, 131_072, 2048)], repeats=3
    )
    return [
        Row(
            "estimate == measured (bundled model, N = 1, 16, 128, 512)",
            equal / len(lengths),
            "fraction",
            "== 1",
            equal == len(lengths),
        ),
        Row("measure_cache, N = 512 (one forward pass)", measure_s[-1], "s"),
        Row(
            "measure / formula time ratio (N = 512)",
            measure_s[-1] / formula,
            "x",
            "",
            None,
            "why the page estimates first and measures once",
        ),
        Row("kv_cache_bytes, one call", formula * 1e6, "us"),
        Row("fits_on_gpu (bisection over 10^13 tokens)", fit_s * 1e3, "ms", "< 50", fit_s < 0.05),
        Row(f"{len(PRESETS)} presets x 64 lengths (a page's curves)", page_s * 1e3, "ms"),
    ]

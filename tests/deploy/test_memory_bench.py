"""The memory bench's rows: the after-idle row says ok or NO from the RSS measured, and names what the server's last
idle release reported still held (sessions kept for a reconnect, tensor bytes), read from the report file the
server writes when NTE_MEMORY_REPORT is set (benchmarks/bench_memory.py, ui/idle_release.py)."""

from __future__ import annotations

import json

from benchmarks.bench_memory import IDLE_TARGET_MB, MixRun, last_report, rows_for


def idle_row(run: MixRun):
    return next(row for row in rows_for(run) if row.name.endswith("s idle"))


def test_the_idle_row_names_what_the_last_release_left_and_judges_the_rss(tmp_path):
    report = tmp_path / "report.jsonl"
    first = {"sessions_stored": 4, "tensor_mb": 700.0}
    last = {"sessions_stored": 0, "tensor_mb": 519.8, "sessions_closed": 4}
    report.write_text(json.dumps(first) + "\n" + json.dumps(last) + "\n", encoding="utf-8")
    run = MixRun(60, completed=60, idle_seconds=60.0, idle_rss_mb=IDLE_TARGET_MB + 1, held=last_report(report))
    row = idle_row(run)
    assert row.passed is False
    assert "0 sessions kept for a reconnect" in row.note and "520 MB of tensors" in row.note
    run.idle_rss_mb = IDLE_TARGET_MB
    assert idle_row(run).passed is True


def test_without_a_report_the_row_says_so(tmp_path):
    assert last_report(tmp_path / "none.jsonl") == {}
    run = MixRun(6, completed=6, idle_seconds=60.0, idle_rss_mb=1000.0)
    assert "no idle release reported" in idle_row(run).note

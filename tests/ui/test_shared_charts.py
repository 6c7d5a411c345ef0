"""Figures and tables shared by a class (ui.charts.shared): one object per key, bounded, drawn exactly as before."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import plotly.io
import pyarrow as pa
from streamlit import dataframe_util

from components.generation import timeline_table
from components.style import figure, frozen, layout, scaled
from tests.components.test_generation_chart_inputs import _step
from ui import charts


def _fig():
    return figure([dict(type="bar", x=[1, 2], y=[0.25, 0.75], name="p")], layout("Shared", 300))


def test_one_build_per_key_and_the_oldest_is_dropped(monkeypatch):
    monkeypatch.setattr(charts, "_shared", type(charts._shared)())
    monkeypatch.setattr(charts, "SHARED_VIEWS_MB", 1)
    built = []

    def build(n):
        built.append(n)
        return str(n) * 300_000  # 0.3 MB of HTML

    first = charts.shared("k", 1, lambda: build(1))
    assert charts.shared("k", 1, lambda: build(1)) is first  # a second session gets the same object
    assert charts.shared("other kind", 1, lambda: build(1)) is not first  # the kind is part of the key
    for n in (2, 3):
        charts.shared("k", n, lambda n=n: build(n))
    assert built == [1, 1, 2, 3]
    assert len(charts._shared) == 3 and ("k", 1) not in charts._shared  # over 1 MB: least recently used went first
    assert sum(size for _, size in charts._shared.values()) <= 1024 * 1024
    charts.shared("k", 1, lambda: build(1))
    assert built[-1] == 1  # built again after it was dropped
    assert charts.forget_shared() == 3 and not charts._shared


def test_a_frozen_figure_draws_the_same_and_keeps_one_dict():
    shared = frozen(_fig())
    assert json.loads(plotly.io.to_json(shared)) == json.loads(plotly.io.to_json(_fig()))
    assert shared.to_dict() is shared.to_dict()  # one copy for every redraw
    before = json.dumps(shared.to_dict(), sort_keys=True)
    big = scaled(shared)  # presenter mode enlarges a copy
    assert big.layout.font.size > shared.layout.font.size
    assert json.dumps(shared.to_dict(), sort_keys=True) == before  # the shared dict is untouched
    assert charts.view_bytes(shared) == len(plotly.io.to_json(shared.to_dict()))


def test_a_shared_table_sends_the_bytes_streamlit_would_send_for_the_frame():
    frame = timeline_table([_step(1), _step(2, reused=True), _step(3, chosen_by="you")])
    table = charts.SharedTable(frame, pa.Table.from_pandas(frame))
    # What st.dataframe sends for a DataFrame, and for an Arrow table (Streamlit's own converters).
    assert dataframe_util.convert_arrow_table_to_arrow_bytes(
        table.arrow
    ) == dataframe_util.convert_pandas_df_to_arrow_bytes(frame)
    assert isinstance(table.frame, pd.DataFrame)


def test_a_perplexity_result_is_shared_only_with_an_equal_one():
    from tests.components.test_chart_label_placement import _scored

    first, again = _scored([5.0, 0.5, 3.0]), _scored([5.0, 0.5, 3.0])
    assert first is not again and first.fingerprint == again.fingerprint
    hash(first.fingerprint)  # a key
    assert _scored([5.0, 0.5, 3.5]).fingerprint != first.fingerprint  # one token's loss
    renamed = dataclasses.replace(first, tokens=["a", "b", "c", "d"])
    assert renamed.fingerprint != first.fingerprint  # what the chips and tables show
    assert dataclasses.replace(first, model_name="other").fingerprint != first.fingerprint

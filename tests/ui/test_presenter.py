"""Presenter mode draws short tables as HTML (st.table), whose type it enlarges; st.dataframe paints its cells on a
canvas at the theme's small size. Longer tables stay scrollable dataframes."""

from __future__ import annotations

import pandas as pd

from tests.app.helpers import assert_clean, open_page
from ui import state


def test_presenter_mode_draws_the_pipeline_tables_as_html():
    at = open_page("app_pages/pipeline.py")
    canvas, html = len(at.dataframe), len(at.table)
    assert canvas >= 1
    at.session_state[state.PRESENTER] = True
    at.run()
    assert_clean(at)
    assert len(at.dataframe) < canvas and len(at.table) > html  # the neighbour table is now HTML


def test_a_long_table_stays_a_dataframe_in_presenter_mode(monkeypatch):
    import streamlit as st

    from ui import charts

    calls = []
    monkeypatch.setattr(charts, "presenter_mode", lambda: True)
    monkeypatch.setattr(st, "table", lambda data: calls.append(("table", data)))
    monkeypatch.setattr(st, "dataframe", lambda data, **kw: calls.append(("dataframe", data)))
    charts.show_table(pd.DataFrame({"a": range(charts.PRESENTER_TABLE_ROWS)}), hide_index=True)
    charts.show_table(pd.DataFrame({"a": range(charts.PRESENTER_TABLE_ROWS + 1)}), hide_index=True)
    charts.show_table(pd.DataFrame({"a": [0.5]}).style.format("{:.3f}"), hide_index=True)  # a formatted table too
    assert [kind for kind, _ in calls] == ["table", "dataframe", "table"]

"""Every chart drawn through ui.charts.show_chart has a text alternative: a collapsed "Chart as a table" expander,
keyed by the chart, that builds its table only once opened; and presenter mode draws a scaled copy of the chart."""

from __future__ import annotations

import pytest

from tests.app.helpers import assert_clean, open_page, plotly_specs, values
from ui import state
from ui.charts import TABLE_LABEL, TABLE_SUFFIX


def _tables(at) -> list:
    return [e for e in at.expander if e.label == TABLE_LABEL]


def _frames_with(at, column: str) -> list:
    return [f.value for f in at.dataframe if column in f.value.columns]


def test_side_by_side_chart_has_a_closed_table_that_shows_the_bars_once_opened():
    at = open_page("app_pages/temperature.py")  # the bars at T live in the browser, with their own table
    assert len(_tables(at)) == len(plotly_specs(at)) == 1
    frames = len(at.dataframe)
    assert not [c for c in at.caption if c.value.startswith("Same logits, different temperatures.")]

    at.session_state["temperature.panels_chart" + TABLE_SUFFIX] = True  # what opening the expander sets
    at.run()
    assert_clean(at)
    assert len(at.dataframe) == frames + 1
    (table,) = _frames_with(at, "series")
    bars = plotly_specs(at)[0]["data"]
    assert table["series"].unique().tolist() == ["T = 0.5", "T = 1", "T = 2"]  # the panels' titles
    first = table[table["series"] == "T = 0.5"]
    assert first["x"].tolist() == pytest.approx(values(bars[0]["x"]))
    assert first["y"].iloc[0] == "␣Paris"
    summary = [c.value for c in at.caption if c.value.startswith("Same logits, different temperatures.")]
    assert summary and "bars" in summary[0]


def test_each_chart_on_a_page_has_its_own_table_key():
    at = open_page("app_pages/ngram.py")
    assert len(plotly_specs(at)) == 2 and len(_tables(at)) == 2
    frames_before = len(at.dataframe)
    for key in ("ngram.bars", "ngram.perplexity"):
        assert at.session_state[key + TABLE_SUFFIX] is False
    at.session_state["ngram.perplexity" + TABLE_SUFFIX] = True
    at.run()
    assert_clean(at)
    assert at.session_state["ngram.bars" + TABLE_SUFFIX] is False  # opening one leaves the other closed
    assert len(at.dataframe) == frames_before + 1
    table = next(f.value for f in at.dataframe if any("(neural)" in str(v) for v in f.value.to_numpy().ravel()))
    bars = plotly_specs(at)[1]["data"]
    assert [str(v) for v in table.iloc[:, 0]] == [str(v) for v in values(bars[0]["x"])]  # the models, as drawn


def test_presenter_mode_draws_the_chart_with_large_fonts_and_only_then():
    at = open_page("app_pages/ngram.py")
    layout = plotly_specs(at)[0]["layout"]
    assert "tickfont" not in layout["yaxis"] and layout["font"]["size"] == 14  # the house style, unchanged

    at.toggle(key=state.PRESENTER).set_value(True).run()
    assert_clean(at)
    spec = plotly_specs(at)[0]
    layout = spec["layout"]
    assert layout["yaxis"]["tickfont"]["size"] >= 20 and layout["xaxis"]["tickfont"]["size"] >= 20
    assert layout["font"]["size"] >= 20 and layout["legend"]["font"]["size"] >= 20
    assert all(trace["textfont"]["size"] >= 20 for trace in spec["data"])
    assert _tables(at)  # the text alternative is there in presenter mode too

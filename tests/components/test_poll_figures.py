"""The class poll's builders on hand-made guesses (no Streamlit, no model): the chart hides the model until the
reveal and escapes guesses, the CSV guards spreadsheet formulas, the QR code is a PNG of the link."""

from __future__ import annotations

import io

import pandas as pd
import torch
from PIL import Image

from components.poll import MAX_BARS, RoundResult, poll_chart, qr_png, results_csv
from core.next_token import Candidates
from core.poll import ClassGuess, GuessMatch
from core.serving.rooms import RoundRecord


def row(guess: str, count: int, rank: int = 1, probability: float = 0.5) -> ClassGuess:
    return ClassGuess(count, GuessMatch(guess, 7, "␣" + guess, probability, rank, True))


TOP = Candidates(torch.tensor([7, 8]), [7, 8], ["␣Paris", "␣the"], [3.0, 1.0], [0.7, 0.1], 0.2)


def test_the_model_is_hidden_until_the_reveal():
    hidden = poll_chart([row("Paris", 3), row("<b>Lyon</b>", 1, 40, 0.01)], None)
    assert len(hidden.data) == 1
    assert list(hidden.data[0].y) == ["Paris", "&lt;b&gt;Lyon&lt;/b&gt;"]  # no probability or rank yet
    assert any("hidden" in a["text"] for a in hidden.layout.annotations)
    shown = poll_chart([row("Paris", 3), row("<b>Lyon</b>", 1, 40, 0.01)], TOP)
    assert list(shown.data[1].y) == ["1. ␣Paris", "2. ␣the", "all other tokens"]
    assert list(shown.data[1].x) == [0.7, 0.1, 0.2]  # the rest of the full vocabulary, never renormalised
    assert shown.data[0].y[1] == "&lt;b&gt;Lyon&lt;/b&gt;<br>→ ␣&lt;b&gt;Lyon&lt;/b&gt; · 1.0% · rank 40"


def test_many_guesses_share_one_other_bar():
    rows = [row(f"w{i:02d}", 100 - i) for i in range(MAX_BARS + 5)]
    fig = poll_chart(rows, None)
    assert len(fig.data[0].y) == MAX_BARS + 1
    assert fig.data[0].y[-1] == "5 other guesses"
    assert fig.data[0].x[-1] == sum(r.count for r in rows[MAX_BARS:])
    assert list(poll_chart([], None).data[0].x) == [0]


def test_results_csv_has_counts_and_no_formulas():
    record = RoundRecord(1, "The capital of France is", True, (("Paris", 2), ("=1+1", 1)))
    result = RoundResult(record, [row("Paris", 2), row("=1+1", 1, 900, 0.0001)], "␣Paris", 0.77)
    empty = RoundResult(RoundRecord(2, "The package left the", False, ()), [], "␣warehouse", 0.3)
    table = pd.read_csv(io.StringIO(results_csv([result, empty])), keep_default_na=False)
    assert list(table["guess"]) == ["Paris", "'=1+1", ""]
    assert list(table["students"]) == [2, 1, 0]
    assert list(table["round"]) == [1, 1, 2]
    assert table["model_answer"].tolist() == ["␣Paris", "␣Paris", "␣warehouse"]


def test_qr_png_is_an_image_that_grows_with_the_link():
    short = Image.open(io.BytesIO(qr_png("http://x/class_poll?room=K7MX3P")))
    long = Image.open(io.BytesIO(qr_png("http://a-much-longer-host-name.example.org:8501/class_poll?room=K7MX3P" * 3)))
    assert short.format == "PNG" and short.size[0] == short.size[1]
    assert long.size[0] > short.size[0]  # more data, more modules
    assert short.convert("L").getpixel((0, 0)) == 255  # a white quiet zone around the code


def test_results_csv_keeps_full_precision():
    """Probabilities read back exactly: a rare guess's 1.2345678e-07 is neither "1e-07" nor "0.0"."""
    tiny, small, answer = 1.2345678e-07, 3.0517578125e-05, 0.7712345678901234
    record = RoundRecord(1, "The capital of France is", True, (("Paris", 2), ("zebra", 1), ("hub", 1)))
    guesses = [row("Paris", 2, 1, answer), row("zebra", 1, 40000, tiny), row("hub", 1, 900, small)]
    text = results_csv([RoundResult(record, guesses, "␣Paris", answer)])
    table = pd.read_csv(io.StringIO(text))
    assert table["probability"].tolist() == [answer, tiny, small]
    assert table["model_answer_probability"].tolist() == [answer] * 3
    assert "1.2345678e-07" in text and ",0.0," not in text


def test_results_csv_ranks_are_whole_numbers_and_a_round_without_guesses_has_none():
    """A round nobody guessed in has no rank (an empty cell); the other rounds' ranks stay whole numbers ("900",
    never "900.0")."""
    record = RoundRecord(1, "The capital of France is", True, (("Paris", 2), ("hub", 1)))
    result = RoundResult(record, [row("Paris", 2, 1, 0.7), row("hub", 1, 900, 0.0001)], "␣Paris", 0.7)
    empty = RoundResult(RoundRecord(2, "The package left the", False, ()), [], "␣warehouse", 0.3)
    for rounds in ([result, empty], [empty, result], [empty]):
        table = pd.read_csv(io.StringIO(results_csv(rounds)), dtype=str, keep_default_na=False)
        ranks = {r: list(table.loc[table["round"] == r, "rank"]) for r in table["round"].unique()}
        assert ranks.get("2") == [""]
        assert ranks.get("1", ["1", "900"]) == ["1", "900"]
        assert table.loc[table["round"] == "2", "probability"].tolist() == [""]

"""The class poll's figures and tables: the class's guesses beside the model's distribution, the room link's QR
code, the results for the CSV file and the predict-first table. Pure builders: no Streamlit, no model calls."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import qrcode

from components.palettes import MODEL_COLOUR, SAMPLING_COLOUR
from components.style import figure, layout, plotly_text, subplot_grid
from core.next_token import Candidates
from core.poll import ClassGuess, PredictionScore
from core.serving.rooms import RoundRecord

MAX_BARS = 15  # distinct guesses drawn; the rest share one "other guesses" bar
CLASS_COLOUR = SAMPLING_COLOUR
HIDDEN_NOTE = "The model's answer<br>stays hidden until you reveal it."  # two lines: fits the model's half


def _guess_label(row: ClassGuess, show_model: bool) -> str:
    text = plotly_text(row.guess)
    if not show_model:
        return text
    return f"{text}<br>→ {plotly_text(row.match.token)} · {row.match.probability:.1%} · rank {row.match.rank:,}"


def poll_chart(
    rows: Sequence[ClassGuess],
    top: Candidates | None,
    *,
    title: str = "The class's guesses beside the model's probabilities",
    stacked: bool = False,
) -> go.Figure:
    """The class's histogram (left) beside the model's top candidates (right), one figure.

    Args:
        rows: the class's distinct guesses, most frequent first (``core.poll.class_guesses``).
        top: the model's top-k candidates (full-vocabulary probabilities and the "all other tokens" mass), or
            None before the reveal: then the right panel says so and the guesses carry no model numbers.
        title: the figure's title (escaped).
        stacked: the model's panel under the class's (a phone's narrow screen) instead of beside it.
    """
    shown = list(rows[:MAX_BARS])
    rest = sum(r.count for r in rows[MAX_BARS:])
    labels = [_guess_label(r, top is not None) for r in shown]
    labels += [f"{len(rows) - MAX_BARS} other guesses"] if rest else []
    counts = [r.count for r in shown] + ([rest] if rest else [])
    if not counts:
        labels, counts = ["(no guesses yet)"], [0]
    grid = (2, 1) if stacked else (1, 2)
    axes, cells = subplot_grid(
        *grid, horizontal_spacing=0.28, vertical_spacing=0.18, titles=("The class's guesses", "The model")
    )
    (x1, y1), (x2, y2) = cells
    data = [
        dict(
            type="bar",
            orientation="h",
            y=labels,
            x=counts,
            xaxis=x1,
            yaxis=y1,
            name="students",
            marker=dict(color=CLASS_COLOUR),
            text=[str(n) for n in counts],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{x} students<extra></extra>",
        )
    ]
    if top is not None:
        model_labels = [f"{rank}. {plotly_text(label)}" for rank, label in enumerate(top.labels, start=1)]
        model_labels.append("all other tokens")
        probs = list(top.probs) + [top.other_mass]
        data.append(
            dict(
                type="bar",
                orientation="h",
                y=model_labels,
                x=probs,
                xaxis=x2,
                yaxis=y2,
                name="model probability",
                marker=dict(color=MODEL_COLOUR),
                text=[f"{p:.1%}" for p in probs],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}<br>model probability %{x:.4f}<extra></extra>",
            )
        )
    else:
        axes["annotations"].append(
            dict(
                text=HIDDEN_NOTE,
                x=0.5 if stacked else 0.82,
                y=0.2 if stacked else 0.5,
                xref="paper",
                yref="paper",
                showarrow=False,
                font=dict(size=16),
            )
        )
    model_bars = len(top.labels) + 1 if top is not None else 3
    row = 46 if top is not None else 36  # a guess's label has a second line once the model's numbers show
    if stacked:
        height = row * len(labels) + 34 * model_bars + 300
    else:
        height = max(320, max(row * len(labels), 34 * model_bars) + 160)
    high = max(counts) or 1
    axes["xaxis"].update(range=[0, high * 1.25 + 0.5], title=dict(text="students"), dtick=max(1, round(high / 5)))
    axes["yaxis"].update(autorange="reversed", automargin=True)
    axes["xaxis2"].update(range=[0, 1.15], tickformat=".0%", title=dict(text="probability"), visible=top is not None)
    axes["yaxis2"].update(autorange="reversed", automargin=True, visible=top is not None)
    spec = dict(layout(title, int(height), legend=False, margin=(10, 50, 80, 40)), showlegend=False, **axes)
    return figure(data, spec)


def qr_png(url: str, *, box_size: int = 10) -> bytes:
    """The room link as a QR code, PNG bytes for ``st.image`` (black on white, a 4-module quiet zone)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class RoundResult:
    """One round for the results file: the store's record, its guesses mapped to the model, the model's answer."""

    record: RoundRecord
    guesses: Sequence[ClassGuess]
    answer: str  # the model's top-1 token, whitespace visible
    answer_probability: float


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ would start a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_table(rounds: Iterable[RoundResult]) -> pd.DataFrame:
    """One row per (round, distinct guess): counts and the model's numbers, ready for CSV (no student ids)."""
    rows = []
    for result in rounds:
        base = dict(
            round=result.record.number,
            prompt=_cell(result.record.prompt),
            model_answer=_cell(result.answer),
            model_answer_probability=float(result.answer_probability),  # full precision: a tiny one is not 0
        )
        if not result.guesses:
            rows.append(dict(base, guess="", students=0, model_token="", probability=None, rank=None))
        for guess in result.guesses:
            rows.append(
                dict(
                    base,
                    guess=_cell(guess.guess),
                    students=guess.count,
                    model_token=_cell(guess.match.token),
                    probability=float(guess.match.probability),
                    rank=guess.match.rank,
                )
            )
    columns = ["round", "prompt", "guess", "students", "model_token", "probability", "rank", "model_answer"]
    table = pd.DataFrame(rows, columns=[*columns, "model_answer_probability"])
    # A round without guesses has no rank: a nullable integer column keeps the others whole ("900", not "900.0").
    table["rank"] = table["rank"].astype("Int64")
    return table


def results_csv(rounds: Iterable[RoundResult]) -> str:
    """``results_table`` as CSV text; probabilities as Python writes floats (shortest exact form: ``1.2345e-07``)."""
    return results_table(rounds).to_csv(index=False)


def guess_table(rows: Sequence[ClassGuess]) -> pd.DataFrame:
    """The class's guesses as a table (the chart's text alternative)."""
    return pd.DataFrame(
        [
            {
                "guess": r.guess,
                "students": r.count,
                "token": r.match.token,
                "probability": r.match.probability,
                "rank": r.match.rank,
            }
            for r in rows
        ],
        columns=["guess", "students", "token", "probability", "rank"],
    )


def prediction_table(scores: Sequence[PredictionScore]) -> pd.DataFrame:
    """Predict-first guesses so far: your token, its rank and probability, the model's top token and the text's."""
    return pd.DataFrame(
        [
            {
                "next word": s.word,
                "your guess": s.guess.guess,
                "your token": s.guess.token,
                "rank": s.guess.rank,
                "probability": s.guess.probability,
                "model's top token": s.model_token,
                "model's top-1 (hit)": "yes" if s.hit else "no",
                "you got the text": "yes" if s.guess_right else "no",
            }
            for s in scores
        ],
        columns=[
            "next word",
            "your guess",
            "your token",
            "rank",
            "probability",
            "model's top token",
            "model's top-1 (hit)",
            "you got the text",
        ],
    )

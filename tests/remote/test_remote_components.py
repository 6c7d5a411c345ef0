"""The remote bars and tables, built without a server: the unreported mass is one grey bar, never renormalised."""

from __future__ import annotations

import math

import pytest

from components.palettes import CUT_COLOUR
from components.remote import (
    NOT_REPORTED,
    generation_html,
    generation_table,
    prompt_logprob_table,
    remote_bars,
    remote_candidate_table,
)
from core.serving.backend import GeneratedToken, Generation, NextTokenTop, PromptLogprobs, TopToken

TOP = NextTokenTop(
    (TopToken(" Paris", math.log(0.6)), TopToken(" the", math.log(0.1)), TopToken(" a", math.log(0.05))), False
)


def test_the_table_ends_with_the_unreported_mass():
    table = remote_candidate_table(TOP, [0.8, 0.2, 0.0])
    assert list(table["token"]) == ["␣Paris", "␣the", "␣a", NOT_REPORTED]
    assert list(table["model_probability"]) == pytest.approx([0.6, 0.1, 0.05, 0.25])
    assert list(table["sampling_probability"]) == [0.8, 0.2, 0.0, 0.0]
    assert list(table["kept"]) == [True, True, False, False]


def test_the_bars_grey_the_unreported_bar_and_label_it():
    figure = remote_bars(remote_candidate_table(TOP, [0.8, 0.2, 0.0]), title="top 3")
    model, sampling = figure.data
    assert list(model.y)[-1] == NOT_REPORTED and list(model.x)[-1] == pytest.approx(0.25)
    assert list(model.marker.color)[-1] == CUT_COLOUR and list(model.marker.color)[0] != CUT_COLOUR
    assert list(sampling.text) == ["80.0%", "20.0%", "cut", "n/a"]


def test_local_exact_rest_is_all_other_tokens():
    table = remote_candidate_table(NextTokenTop(TOP.tokens, True, rest=0.2))
    assert table["token"].iloc[-1] == "all other tokens" and table["model_probability"].iloc[-1] == 0.2


def test_generation_and_prompt_tables():
    step = GeneratedToken(" Paris", math.log(0.6), TOP.tokens)
    frame = generation_table(Generation("The capital is", (step, step), "length"))
    assert list(frame["step"]) == [1, 2] and frame["probability"].iloc[0] == pytest.approx(0.6)
    assert frame["reported mass"].iloc[0] == pytest.approx(0.75) and "␣Paris 60.0%" in frame["top candidates"].iloc[0]
    scored = prompt_logprob_table(PromptLogprobs(("The", " cat"), (None, math.log(0.25))))
    assert math.isnan(scored["probability"].iloc[0]) and scored["surprisal (nats)"].iloc[1] == pytest.approx(
        math.log(4)
    )


def test_generated_text_is_escaped_chips():
    step = GeneratedToken("<script>", math.log(0.5), TOP.tokens)
    html = generation_html(Generation("a <b> prompt", (step,), "length"))
    assert "<script>" not in html and "&lt;script&gt;" in html and "a &lt;b&gt; prompt" in html
    assert "p = 50.0%" in html

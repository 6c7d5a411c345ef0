"""The class poll's numbers on the real bundled model: a guess's token, probability and rank equal a direct
computation from the full softmax; the histogram counts; predict-first scores; bad guesses refused."""

from __future__ import annotations

import pytest
import torch

from core.next_token import next_token_distribution
from core.poll import (
    MAX_GUESS_CHARS,
    GuessError,
    PredictStep,
    check_guess,
    class_guesses,
    first_token,
    guess_histogram,
    match_guess,
    needs_space,
    predict_steps,
    score_prediction,
    score_summary,
)
from core.text import TextError

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def capital(bundled_lm):
    return next_token_distribution(bundled_lm, PROMPT)


def direct(lm, prompt: str, text: str) -> tuple[int, float, int]:
    """Token id, probability and rank of ``text``'s first token, straight from the model's logits."""
    ids = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.inference_mode():
        logits = lm.model(ids).logits[0, -1].float()  # (V,)
    probs = torch.softmax(logits, dim=-1)  # (V,) full vocabulary
    token = lm.tokenizer(text, add_special_tokens=False)["input_ids"][0]
    return token, float(probs[token]), int((probs > probs[token]).sum()) + 1


@pytest.mark.parametrize(
    ("guess", "as_tokenised"), [("Paris", " Paris"), ("  Lyon ", " Lyon"), ("paris", " paris"), (",", ",")]
)
def test_a_guess_maps_to_the_models_token_probability_and_rank(bundled_lm, capital, guess, as_tokenised):
    match = match_guess(capital, PROMPT, guess)
    token, probability, rank = direct(bundled_lm, PROMPT, as_tokenised)
    assert match.token_id == token
    assert match.probability == pytest.approx(probability, rel=1e-4, abs=1e-7)
    assert match.rank == rank
    assert match.spaced == (as_tokenised.startswith(" "))


def test_paris_is_the_models_answer(capital):
    match = match_guess(capital, PROMPT, "Paris")
    assert match.top1 and match.token == "␣Paris"
    assert match_guess(capital, PROMPT, "Lyon").rank > 1
    several = match_guess(capital, PROMPT, "paris")  # two tokens (" par" + "is"): scored by the first
    assert several.token == "␣par"


def test_the_space_rule():
    assert needs_space("The capital of France is", "Paris")
    assert not needs_space("The capital of France is ", "Paris")  # the prompt already ends in a space
    assert not needs_space("The capital of France is\n", "Paris")
    assert not needs_space("It is", ".")
    assert not needs_space("It is", "'s")
    assert needs_space("He said", '"hello')


def test_first_token_after_a_trailing_space(bundled_lm):
    spaced_id, spaced = first_token(bundled_lm.tokenizer, PROMPT, "Paris")
    bare_id, bare = first_token(bundled_lm.tokenizer, PROMPT + " ", "Paris")
    assert spaced and not bare
    assert bundled_lm.tokenizer.decode([spaced_id]) == " Paris"
    assert bundled_lm.tokenizer.decode([bare_id]) == "Paris"


@pytest.mark.parametrize(
    "bad", [None, "", "   ", "\n\t", "x" * (MAX_GUESS_CHARS + 1), "Par\x00is", "Par\u200bis", "\u202eParis", "\ud800"]
)
def test_bad_guesses_are_refused_with_a_message(capital, bad):
    with pytest.raises(GuessError) as caught:
        match_guess(capital, PROMPT, bad)
    assert len(str(caught.value)) > 10


def test_check_guess_normalises():
    assert check_guess("  Paris  ") == "Paris"
    assert check_guess("New\n  York") == "New York"
    assert check_guess("x" * MAX_GUESS_CHARS) == "x" * MAX_GUESS_CHARS
    assert check_guess("<script>alert(1)</script>"[:MAX_GUESS_CHARS]) == "<script>alert(1)</script>"
    assert check_guess("Cafe\u0301") == "Café"  # NFC: typed two ways, counted as one
    assert check_guess("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # an emoji sequence keeps its joiners
    with pytest.raises(GuessError):
        check_guess("\u200d\u200c")  # joiners alone show nothing


def test_histogram_counts():
    counts = guess_histogram(["Paris", " Paris ", "Lyon", "paris", "Paris", "", "Lyon", "Nice"])
    assert counts == {"Paris": 3, "Lyon": 2, "Nice": 1, "paris": 1}
    assert list(counts) == ["Paris", "Lyon", "Nice", "paris"]  # most frequent first, ties in text order
    assert guess_histogram([]) == {}


def test_class_guesses_carry_the_models_numbers(bundled_lm, capital):
    rows = class_guesses(capital, PROMPT, {"Paris": 3, "Lyon": 1, "<b>x</b>": 1})
    assert [(r.guess, r.count) for r in rows] == [("Paris", 3), ("Lyon", 1), ("<b>x</b>", 1)]
    for row in rows:
        token, probability, rank = direct(bundled_lm, PROMPT, " " + row.guess)
        assert (row.match.token_id, row.match.rank) == (token, rank)
        assert row.match.probability == pytest.approx(probability, rel=1e-4, abs=1e-7)


def test_predict_steps():
    steps = predict_steps("The cat sat  on the mat.")
    assert steps[0] == PredictStep("The", "cat")
    assert steps[-1] == PredictStep("The cat sat  on the", "mat.")
    assert len(steps) == 5
    for bad in ("", "one", "w " * 41, "x" * 401):
        with pytest.raises(TextError):
            predict_steps(bad)


def test_predict_first_scores(bundled_lm):
    steps = predict_steps("The capital of France is Paris.")
    step = steps[-1]
    assert step == PredictStep(PROMPT, "Paris.")
    dist = next_token_distribution(bundled_lm, step.prefix)
    right = score_prediction(dist, step, "Paris", position=4)
    assert right.hit and right.guess_right and right.model_right
    assert right.model_token == "␣Paris"
    assert right.actual.token_id == right.guess.token_id
    wrong = score_prediction(dist, step, "Lyon", position=4)
    assert not wrong.hit and not wrong.guess_right and wrong.model_right
    token, probability, rank = direct(bundled_lm, PROMPT, " Lyon")
    assert (wrong.guess.rank, wrong.guess.token_id) == (rank, token)
    assert wrong.guess.probability == pytest.approx(probability, rel=1e-4, abs=1e-7)
    summary = score_summary([right, wrong])
    assert (summary.guesses, summary.hits, summary.guessed_right, summary.model_right) == (2, 1, 1, 2)
    assert summary.mean_probability == pytest.approx((right.guess.probability + wrong.guess.probability) / 2)
    assert summary.median_rank == pytest.approx((1 + rank) / 2)
    assert score_summary([]).guesses == 0
    with pytest.raises(GuessError):
        score_prediction(dist, step, "   ")

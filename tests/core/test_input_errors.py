"""Errors with types: what a person can cause (a typed text, a pick, an uploaded file, an architecture typed on the
KV page) raises a subclass of ``core.errors.InputError``, which pages catch and show; an argument only code can
get wrong stays a plain ValueError, which no page catches (it reaches the last-line handler and is logged)."""

from __future__ import annotations

import json

import pytest

from core.embeddings import EmbeddingError
from core.errors import InputError
from core.generation import StepError, Stepper
from core.generation_record import RecordError, parse_record, record_json
from core.kv_cache import ConfigError, KVSpec, kv_cache_bytes
from core.model_io import ModelFileError
from core.ngram import CorpusError
from core.perplexity import PerplexityError, TextTooLong
from core.poll import GuessError
from core.sampling import check_sampling_args, make_generator
from core.text import PromptError, TextError, check_text, clean_prompt
from core.tokens import TokenizerError
from core.toy import ToyError, parse_toy
from core.training import TrainingError

PROMPT = "The package left the warehouse"


@pytest.mark.parametrize(
    "error",
    [
        TextError,
        PromptError,
        TokenizerError,
        EmbeddingError,
        CorpusError,
        GuessError,
        PerplexityError,
        TextTooLong,
        ToyError,
        StepError,
        RecordError,
        ConfigError,
        TrainingError,
        ModelFileError,
    ],
)
def test_every_error_a_person_causes_has_the_one_base(error):
    assert issubclass(error, InputError) and issubclass(error, ValueError)


@pytest.mark.parametrize(
    "tokens, logits, says",
    [
        ("a, , b", "1, 2, 3", "no empty entries"),
        ("a, a", "1, 2", "only once"),
        ("a, b", "1, x", "'x' is not a number"),
        ("a, b", "1, inf", "out of range"),
        ("a, b", "1", "2 tokens but 1 logits"),
    ],
)
def test_toy_tokens_and_logits_as_typed_raise_toy_errors(tokens, logits, says):
    with pytest.raises(ToyError, match=says):
        parse_toy(tokens, logits)
    assert parse_toy("a, b", "1, -1.5") == (["a", "b"], [1.0, -1.5])


def test_an_architecture_typed_with_uneven_heads_is_a_config_error():
    with pytest.raises(ConfigError, match="32 query heads cannot be shared evenly by 5 key/value heads"):
        KVSpec("your model", 32, 32, 5, 128)


def test_arguments_only_code_can_get_wrong_stay_plain_value_errors():
    """No widget lets a person give these (the sliders and number boxes are bounded): a bug, not a notice."""
    for call in (
        lambda: check_sampling_args(1.0, -1, 1.0),
        lambda: check_sampling_args(-0.5, 0, 1.0),
        lambda: make_generator(-1),
        lambda: kv_cache_bytes(num_layers=0, num_kv_heads=1, head_dim=1, seq_len=1),
        lambda: check_text("x", max_chars=5, invisible="sometimes"),
    ):
        with pytest.raises(ValueError) as caught:
            call()
        assert not isinstance(caught.value, InputError), caught.value


def test_a_prompt_a_person_typed_is_a_prompt_error():
    with pytest.raises(PromptError):
        clean_prompt("   ")


def _record(**step_settings) -> str:
    step = {"token_id": 5, "chosen_by": "sampled", "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0}
    step.update(step_settings)
    return json.dumps({"format": "next-token-explorer/generation-run", "prompt": "Hi", "steps": [step]})


@pytest.mark.parametrize(
    "data, says",
    [
        (b"\xff\xfe not json", "not a JSON run record"),
        (json.dumps({"format": "something else"}), "not a generation run record"),
        (_record(token_id="five"), "malformed"),
        (_record(temperature=-1.0), "out of range"),
        (_record(top_p=1.5), "out of range"),
        (_record(top_k=-3), "out of range"),
        (_record(seed=-1), "out of range"),
    ],
)
def test_an_uploaded_run_record_that_cannot_be_replayed_is_a_record_error(data, says):
    """Settings out of range are refused when the file is read, not halfway through the replay."""
    with pytest.raises(RecordError, match=says):
        parse_record(data)


def test_a_stale_pick_rewind_or_branch_is_a_step_error(tiny_gpt2_lm):
    """A second click on a button already acted on asks for a step or branch that no longer exists."""
    stepper = Stepper(tiny_gpt2_lm, PROMPT, temperature=0, max_new_tokens=6)
    stepper.run(3)
    assert parse_record(record_json(stepper))["steps"]  # a real record reads back
    with pytest.raises(StepError, match="to_step must be between 0 and 3"):
        stepper.rewind(9)
    with pytest.raises(StepError, match="no branch 0"):
        stepper.restore_branch(0)
    stepper.rewind(1)
    with pytest.raises(StepError, match="no branch 4"):
        stepper.restore_branch(4)
    with pytest.raises(StepError, match="vocabulary"):
        stepper.step(choose=10**9)
    assert len(stepper.steps) == 1 and len(stepper.branches) == 1  # the refusals left no trace

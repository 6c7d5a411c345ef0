"""A generation run saved as JSON replays to the same tokens, picks included; malformed records are refused."""

import json

import pytest

from core.generation import Stepper
from core.generation_record import parse_record, record_json, replay


def test_a_sampled_run_with_picks_replays_exactly(tiny_gpt2_lm):
    original = Stepper(tiny_gpt2_lm, "Hello there", temperature=1.3, top_k=50, seed=11, max_new_tokens=12)
    original.step()
    original.step(choose=1234)  # the person picked a token
    original.configure(temperature=0.0)
    original.run(3)
    original.configure(temperature=2.0, top_p=0.8, seed=5)
    original.run(4)
    record = parse_record(record_json(original))
    again = Stepper(tiny_gpt2_lm, record["prompt"], chat=record["chat"], max_new_tokens=record["max_new_tokens"])
    assert replay(again, record["steps"]) == 0
    assert again.generated_ids == original.generated_ids
    assert [s.chosen_by for s in again.steps] == [s.chosen_by for s in original.steps]
    assert again.steps[1].chosen_by == "you" and again.steps[1].token_id == 1234


@pytest.mark.parametrize(
    "data,words",
    [
        ("not json", "not a JSON"),
        ("[]", "not a generation run"),
        (json.dumps({"format": "x"}), "not a generation run"),
        (
            json.dumps({"format": "next-token-explorer/generation-run", "prompt": "a", "steps": [{"token_id": "1"}]}),
            "malformed",
        ),
        (
            json.dumps(
                {
                    "format": "next-token-explorer/generation-run",
                    "prompt": "a",
                    "steps": [
                        {"token_id": 1, "chosen_by": "you", "temperature": "hot", "top_k": 0, "top_p": 1, "seed": 0}
                    ],
                }
            ),
            "temperature",
        ),
        (b"\xff\xfe\x00binary", "not a JSON"),
        ("x" * 2_000_001, "larger"),
    ],
)
def test_malformed_records_are_refused(data, words):
    with pytest.raises(ValueError, match=words):
        parse_record(data)

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


def test_replay_cost_counts_the_prefill_and_each_steps_input(tiny_gpt2_lm, monkeypatch):
    """The cost is what the model is fed: measured by spying on its forward, with and without the KV cache."""
    from core.generation_record import replay_cost

    fed = []
    forward = tiny_gpt2_lm.model.forward

    def spy(*args, **kwargs):
        fed.append(int(kwargs["input_ids"].numel()))
        return forward(*args, **kwargs)

    monkeypatch.setattr(tiny_gpt2_lm.model, "forward", spy)
    for use_cache in (True, False):
        fed.clear()
        stepper = Stepper(tiny_gpt2_lm, "Hello there, how are you", max_new_tokens=50, use_cache=use_cache)
        replay(
            stepper, [{"token_id": 1234, "chosen_by": "you", "temperature": 0, "top_k": 0, "top_p": 1, "seed": 0}] * 6
        )
        assert sum(fed) == replay_cost(stepper.prompt_len, 6, use_cache)


@pytest.mark.parametrize("use_cache", [True, False])
def test_replay_steps_within_is_the_most_that_fit(use_cache):
    from core.generation_record import replay_cost, replay_steps_within

    for prompt in (1, 4, 100, 1_000, 2_048):
        for asked in (0, 1, 64, 2_000):
            for budget in (1, 68, 1_024, 100_000):
                got = replay_steps_within(prompt, asked, budget, use_cache)
                fits = [n for n in range(asked + 1) if replay_cost(prompt, n, use_cache) <= budget]
                assert got == (max(fits) if fits else 0)
    assert replay_steps_within(2_048, 64, 1_024) == 0  # the long prompt alone is over the default bound
    assert replay_steps_within(4, 64, 1_024) == 64  # a short prompt replays a link's 64 steps

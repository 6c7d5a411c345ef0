"""A generation run as JSON (settings, seed, every step's choice) that can be loaded back to replay it."""

from __future__ import annotations

import json
from typing import Any

from core.errors import InputError
from core.generation import USER, GenerationFinished, StepError, Stepper
from core.sampling import check_sampling_args, make_generator

MAX_RECORD_BYTES = 2_000_000
MAX_RECORD_STEPS = 2_000
STEP_SETTINGS = ("temperature", "top_k", "top_p", "seed")


class RecordError(InputError):
    """An uploaded file that is not a run record this app can replay; the message says why."""


def run_record(stepper: Stepper) -> dict[str, Any]:
    """The run so far: model, prompt, mode, limits, and per step the token, who chose it and the settings used."""
    return {
        "format": "next-token-explorer/generation-run",
        "version": 1,
        "model": stepper.model_name,
        "prompt": stepper.prompt,
        "chat": stepper.chat,
        "max_new_tokens": stepper.max_new_tokens,
        "stop_strings": list(stepper.stop_strings),
        "steps": [
            {
                "token_id": s.token_id,
                "text": s.text,
                "chosen_by": s.chosen_by,
                **{name: getattr(s, name) for name in STEP_SETTINGS},
            }
            for s in stepper.steps
        ],
    }


def record_json(stepper: Stepper) -> str:
    """``run_record`` as indented JSON text."""
    return json.dumps(run_record(stepper), indent=2, ensure_ascii=False)


def parse_record(data: bytes | str) -> dict[str, Any]:
    """Read and check a run record; RecordError with a clear message when it is not one."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"That file is larger than {MAX_RECORD_BYTES // 1_000_000} MB; a run record is much smaller.")
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordError("That file is not a JSON run record (download one with 'Download this run').") from None
    if not isinstance(record, dict) or record.get("format") != "next-token-explorer/generation-run":
        raise RecordError("That JSON is not a generation run record from this app.")
    steps = record.get("steps")
    if not isinstance(record.get("prompt"), str) or not isinstance(steps, list) or len(steps) > MAX_RECORD_STEPS:
        raise RecordError("The run record has no prompt or a malformed list of steps.")
    for step in steps:
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("token_id"), int)
            or step.get("chosen_by") not in ("greedy", "sampled", USER)
        ):
            raise RecordError("A step in the run record is malformed (each needs an integer token_id and chosen_by).")
        for name in STEP_SETTINGS:
            if not isinstance(step.get(name), (int, float)) or isinstance(step.get(name), bool):
                raise RecordError(f"A step in the run record has no valid '{name}'.")
        try:  # the stepper's own checks, so a setting out of range is refused here and not halfway through a replay
            check_sampling_args(float(step["temperature"]), int(step["top_k"]), float(step["top_p"]))
            make_generator(int(step["seed"]))
        except (ValueError, OverflowError) as error:
            raise RecordError(f"A step in the run record has a setting out of range: {error}.") from None
    if not isinstance(record.get("stop_strings", []), list) or not isinstance(record.get("max_new_tokens", 1), int):
        raise RecordError("The run record's stop strings or max new tokens are malformed.")
    return record


def replay_cost(prompt_tokens: int, steps: int, use_cache: bool = True) -> int:
    """Tokens the model reads to replay ``steps`` steps on a fresh stepper over ``prompt_tokens`` prompt tokens.

    The prefill reads the prompt; with the KV cache each step then feeds one token. Without it step i re-reads the
    whole sequence (prompt + i tokens), so n steps add n x prompt + n (n + 1) / 2.
    """
    prompt_tokens, steps = max(0, int(prompt_tokens)), max(0, int(steps))
    if use_cache:
        return prompt_tokens + steps
    return prompt_tokens + steps * prompt_tokens + steps * (steps + 1) // 2


def replay_steps_within(prompt_tokens: int, asked: int, max_tokens: int, use_cache: bool = True) -> int:
    """The most steps, at most ``asked``, whose replay reads at most ``max_tokens`` tokens (``replay_cost``); 0 when
    the prompt alone reads more. A shared link or a run file replays on opening, before anyone clicks, so its cost
    is bounded by the tokens it feeds the model (a 2,048-token prompt costs as much as 2,048 steps' inputs)."""
    low, high = 0, max(0, int(asked))
    if replay_cost(prompt_tokens, 0, use_cache) > max_tokens:
        return 0
    while low < high:  # replay_cost grows with the steps: the largest that fits
        middle = (low + high + 1) // 2
        if replay_cost(prompt_tokens, middle, use_cache) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return low


def replay(stepper: Stepper, steps: list[dict[str, Any]]) -> int:
    """Take the recorded steps again on a fresh stepper: each with its own settings; the person's picks as picks.

    Sampling is seeded per (seed, step), so sampled steps come out the same. Returns how many steps differ from the
    record (0 when the run was reproduced; another model or vocabulary can differ). Stops at a stop condition.
    """
    differences = 0
    for recorded in steps:
        if stepper.finished:
            break
        stepper.configure(**{name: recorded[name] for name in STEP_SETTINGS})
        choose = recorded["token_id"] if recorded["chosen_by"] == USER else None
        try:
            step = stepper.step(choose)
        except (GenerationFinished, StepError):
            break
        differences += step.token_id != recorded["token_id"]
    return differences

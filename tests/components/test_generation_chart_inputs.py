"""The generation page's timeline charts and table are shared by a class under a key made of the Step fields they
read (components/generation.py *_FIELDS, ui.charts.shared). A builder that reads a field its list leaves out would
show one student another student's chart: each test changes every other field, one at a time, and checks the
output stays the same whenever the key does."""

from __future__ import annotations

import dataclasses

import pytest

from components.generation import (
    CACHE_FIELDS,
    PROBABILITY_ENTROPY_FIELDS,
    TIMELINE_FIELDS,
    TIMING_FIELDS,
    cache_chart,
    chart_inputs,
    probability_entropy_chart,
    timeline_table,
    timing_chart,
)
from core.generation import Candidate, Step
from tests.app.test_generation_page import make_step


def _step(index: int, *, reused: bool = False, chosen_by: str = "greedy") -> Step:
    """One step of a short generation (the generation page tests' ``make_step``), each with its own token id."""
    step = make_step(index, f"t{index}", 0.6, chosen_by=chosen_by)
    return dataclasses.replace(step, token_id=7 + index, reused=reused)


def _changed(value):
    """Another value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 5
    if isinstance(value, float):
        return value * 0.5 + 0.125
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (Candidate(9, "changed", 0.1, 0.2),)
    if value is None:
        return "eos"
    raise AssertionError(f"no other value for {value!r}")


def _output(build, steps):
    """What the builder makes, comparable with == (a table as its CSV: NaN == NaN there)."""
    out = build(steps)
    return out.to_csv(index=False) if hasattr(out, "columns") else out.to_dict()


BUILDERS = [
    ("probability and entropy", probability_entropy_chart, PROBABILITY_ENTROPY_FIELDS),
    ("cache", cache_chart, CACHE_FIELDS),
    ("timing", timing_chart, TIMING_FIELDS),
    ("timeline table", timeline_table, TIMELINE_FIELDS),
]


@pytest.mark.parametrize(("name", "build", "fields"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_output_depends_only_on_the_listed_fields(name, build, fields):
    steps = [_step(1), _step(2, reused=True), _step(3, chosen_by="you")]
    before_key, before = chart_inputs(steps, fields), _output(build, steps)
    checked = 0
    for field in dataclasses.fields(Step):
        for i, step in enumerate(steps):
            changed = list(steps)
            changed[i] = dataclasses.replace(step, **{field.name: _changed(getattr(step, field.name))})
            if chart_inputs(changed, fields) == before_key:
                assert _output(build, changed) == before, f"{name} reads Step.{field.name}, not in its fields"
                checked += 1
    assert checked >= 10  # fields outside the list were really changed


@pytest.mark.parametrize(("name", "build", "fields"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_every_listed_field_is_read(name, build, fields):
    """The key holds nothing the output ignores (else a class would build the same chart twice)."""
    steps = [_step(1), _step(2), _step(3, chosen_by="you")]
    before = _output(build, steps)
    for field in fields:
        attr = "seconds" if field == "model_seconds" else field  # a property: change what it is made of
        changed = [dataclasses.replace(s, **{attr: _changed(getattr(s, attr))}) for s in steps]
        assert _output(build, changed) != before, f"{name} lists Step.{field} but does not show it"

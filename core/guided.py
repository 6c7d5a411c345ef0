"""Guided lessons with checked answers: lesson files (plain TOML data in core/data/lessons/), each a list of steps
that put a page in a state and ask a question; the expected answer comes from the lesson's own numbers or from the
model, and a student's answer (or the state they set a page to) is checked against it.

A step's question is one of four kinds:
    number  a value within ``tolerance`` of the expected one (a lesson's number, or one the model gives);
    token   a token, compared without case and surrounding spaces (the model's top token after a prompt);
    choice  one of ``choices``;
    state   a target state of a page ("move the temperature until the top token has at least 90 %"), checked on the
            values the student left on that page.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.kv_cache import kv_cache_bytes
from core.lessons import LESSONS, presets_for
from core.models import LoadedModel
from core.next_token import next_token_distribution
from core.sampling import sampling_probs

LESSON_DIR = Path(__file__).resolve().parent / "data" / "lessons"
KINDS = ("number", "token", "choice", "state")
MODEL_MEASURES = ("top_token", "top_probability", "token_count", "kv_bytes_per_token")
STATE_MEASURES = ("top_probability_at_temperature", "tokens_the_sampler_can_pick")


class LessonFileError(ValueError):
    """A lesson file that does not describe a lesson this app can run (a mistake of whoever wrote the file)."""


class AnswerError(InputError):
    """An answer that cannot be checked at all (not a number where a number is asked); the student can retry."""


@dataclass(frozen=True)
class Step:
    """One step of a guided lesson.

    Attributes:
        say: what the lesson says at this step, in its own words (markdown written by the lesson's author).
        question: the question the app checks.
        kind: one of KINDS.
        page: the page the step opens (an app_pages stem), or "" for a question without a page.
        preset: the label of a "Lesson examples" preset of that page to apply (core.lessons.PRESETS), or "".
        prompt: a prompt the page opens on, or "".
        answer: where the expected answer comes from: {"value": x} (the lesson's number), {"model": measure, ...}
            (one of MODEL_MEASURES with its "prompt" or "text"), {"choice": c} or {"token": t}.
        tolerance: how far a number may be from the expected one (same unit as the question).
        scale: the expected value is multiplied by this before comparing (100 when the question asks for %).
        choices: the options of a choice question.
        target: a state question's target: {"measure": one of STATE_MEASURES, "at_least" or "at_most": x,
            optionally "min_temperature": the temperature must be above it}.
        explain: shown once the step is answered: why the answer is what it is.
    """

    say: str
    question: str
    kind: str
    page: str = ""
    preset: str = ""
    prompt: str = ""
    answer: Mapping[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0
    scale: float = 1.0
    choices: tuple[str, ...] = ()
    target: Mapping[str, Any] = field(default_factory=dict)
    explain: str = ""


@dataclass(frozen=True)
class GuidedLesson:
    """A lesson file: its key (the file's stem), title, the source lesson it follows, an introduction, its steps,
    and the prompts a teacher runs as class-poll rounds (the class guesses each one's next token)."""

    key: str
    title: str
    lesson: str
    intro: str
    steps: tuple[Step, ...]
    poll_prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one answer: right or not, and a sentence saying why."""

    correct: bool
    message: str


def _step(raw: Mapping[str, Any], where: str) -> Step:
    unknown = set(raw) - set(Step.__dataclass_fields__)
    if unknown:
        raise LessonFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    try:
        step = Step(**{**raw, "choices": tuple(raw.get("choices", ()))})
    except TypeError as error:
        raise LessonFileError(f"{where}: {error}") from None
    if step.kind not in KINDS:
        raise LessonFileError(f"{where}: kind must be one of {', '.join(KINDS)}, not {step.kind!r}.")
    if not step.say or not step.question:
        raise LessonFileError(f"{where}: a step needs 'say' and 'question'.")
    if step.preset and step.preset not in {p.label for p in presets_for(step.page)}:
        raise LessonFileError(f"{where}: the {step.page or '(no)'} page has no lesson preset {step.preset!r}.")
    if step.kind == "state":
        if step.target.get("measure") not in STATE_MEASURES or not ({"at_least", "at_most"} & set(step.target)):
            raise LessonFileError(f"{where}: a state step needs a target measure and at_least or at_most.")
    elif step.kind == "choice":
        if step.answer.get("choice") not in step.choices:
            raise LessonFileError(f"{where}: the answer of a choice step must be one of its choices.")
    elif "model" in step.answer:
        if step.answer["model"] not in MODEL_MEASURES:
            raise LessonFileError(f"{where}: model measure must be one of {', '.join(MODEL_MEASURES)}.")
    elif step.kind == "number" and not isinstance(step.answer.get("value"), int | float):
        raise LessonFileError(f"{where}: a number step needs answer.value (or answer.model).")
    elif step.kind == "token" and not isinstance(step.answer.get("token"), str):
        raise LessonFileError(f"{where}: a token step needs answer.token (or answer.model).")
    return step


def parse_lesson(text: str, key: str) -> GuidedLesson:
    """A GuidedLesson from a lesson file's TOML text; LessonFileError naming the step when it is not valid."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LessonFileError(f"{key}: not valid TOML ({error}).") from None
    names = {lesson.name for lesson in LESSONS}
    if raw.get("lesson") not in names:
        raise LessonFileError(f"{key}: 'lesson' must name a source lesson ({', '.join(sorted(names))}).")
    steps = tuple(_step(s, f"{key}, step {i}") for i, s in enumerate(raw.get("steps", []), start=1))
    if not steps:
        raise LessonFileError(f"{key}: a lesson needs at least one step.")
    prompts = raw.get("poll_prompts", [])
    if not isinstance(prompts, list) or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise LessonFileError(f"{key}: poll_prompts must be a list of prompts.")
    title, intro = str(raw.get("title", key)), str(raw.get("intro", ""))
    return GuidedLesson(key, title, raw["lesson"], intro, steps, tuple(prompts))


def load_guided_lessons(folder: Path = LESSON_DIR) -> tuple[GuidedLesson, ...]:
    """Every lesson file of ``folder`` (*.toml), in file-name order."""
    return tuple(parse_lesson(path.read_text(encoding="utf-8"), path.stem) for path in sorted(folder.glob("*.toml")))


def _same_token(a: str, b: str) -> bool:
    clean = lambda t: t.replace("␣", " ").strip().casefold()  # noqa: E731  token labels show spaces as ␣
    return clean(a) == clean(b)


def expected_answer(step: Step, lm: LoadedModel | None) -> Any:
    """The answer ``step`` expects: the lesson's value, or what the model ``lm`` gives for the step's prompt.

    Model measures: "top_token" (the most likely next token after ``prompt``), "top_probability" (its
    full-vocabulary softmax probability), "token_count" (tokens of ``text``), "kv_bytes_per_token" (bytes one more
    token adds to the model's KV cache: 2 x layers x kv_heads x head_dim x bytes per value).
    """
    if step.kind == "choice":
        return step.answer["choice"]
    measure = step.answer.get("model")
    if measure is None:
        return step.answer["value"] if step.kind == "number" else step.answer["token"]
    if lm is None:
        raise LessonFileError("This step's answer comes from the model, and no model was given.")
    if measure == "token_count":
        return len(lm.tokenizer(step.answer["text"], add_special_tokens=False)["input_ids"])
    if measure == "kv_bytes_per_token":
        facts = lm.facts
        value_bytes = next(lm.model.parameters()).element_size()
        return kv_cache_bytes(
            num_layers=facts.layers,
            num_kv_heads=facts.kv_heads,
            head_dim=facts.head_dim,
            seq_len=1,
            bytes_per_value=value_bytes,
        )
    top = next_token_distribution(lm, step.answer["prompt"]).top_rows(1)[0]
    return top.token if measure == "top_token" else top.probability


def check_answer(step: Step, given: Any, expected: Any) -> Verdict:
    """Check a number, token or choice answer against ``expected`` (from ``expected_answer``)."""
    if step.kind == "number":
        try:
            value = float(str(given).replace(",", "").replace("%", "").strip())
        except ValueError:
            raise AnswerError(f"'{given}' is not a number.") from None
        if not math.isfinite(value):
            raise AnswerError("Give a finite number.")
        want = float(expected) * step.scale
        ok = abs(value - want) <= step.tolerance + 1e-12
        shown = f"{want:,.4g}"
        return Verdict(
            ok, f"Right: {shown}." if ok else f"Not quite: the answer is {shown} (within {step.tolerance:g})."
        )
    if step.kind == "token":
        ok = _same_token(str(given), str(expected))
        return Verdict(ok, f"Right: {expected}." if ok else f"Not quite: the answer is {expected}.")
    if step.kind == "choice":
        ok = given == expected
        return Verdict(ok, f"Right: {expected}." if ok else f"Not quite: the answer is {expected}.")
    raise LessonFileError("A state step is checked with check_state.")


def state_measure(step: Step, values: Mapping[str, Any], lm: LoadedModel) -> float:
    """The value of the step's target measure on the page state ``values``.

    "top_probability_at_temperature": the top token's probability after ``prompt`` at ``temperature``;
    "tokens_the_sampler_can_pick": how many tokens keep a non-zero probability after temperature, top-k, top-p.
    """
    dist = next_token_distribution(lm, values["prompt"])
    probs = sampling_probs(
        dist.logits,
        temperature=float(values["temperature"]),
        top_k=int(values.get("top_k", 0)),
        top_p=float(values.get("top_p", 1.0)),
    )  # (V,)
    if step.target["measure"] == "top_probability_at_temperature":
        return float(probs.max())
    return float(int((probs > 0).sum()))


def check_state(step: Step, values: Mapping[str, Any], lm: LoadedModel) -> Verdict:
    """Check a state step on the values the student left on its page."""
    floor = step.target.get("min_temperature")
    if floor is not None and float(values["temperature"]) <= floor:
        return Verdict(False, f"Not yet: set the temperature above {floor:g} first (at 0 the sampler is greedy).")
    measured = state_measure(step, values, lm)
    low, high = step.target.get("at_least"), step.target.get("at_most")
    ok = (low is None or measured >= low) and (high is None or measured <= high)
    wanted = f"at least {low:g}" if low is not None else f"at most {high:g}"
    shown = f"{measured:.1%}" if step.target["measure"] == "top_probability_at_temperature" else f"{measured:,.0f}"
    if ok:
        return Verdict(True, f"Right: the page gives {shown} ({wanted}).")
    return Verdict(False, f"Not yet: the page gives {shown}; the target is {wanted}.")

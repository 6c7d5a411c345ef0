"""The guided lessons' results file: every answer a student gave, as JSON they can download and hand in."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from core.guided import GuidedLesson


def results_json(
    lessons: Sequence[GuidedLesson], done: Mapping[str, Mapping[int, Mapping[str, Any]]], model: Any
) -> str:
    """Per lesson answered: its title, how many steps and how many right, and each answer (numbered from 1) with the
    question, the answer given, the expected answer, whether it was right, the verdict and when."""
    payload = {
        "app": "Next-Token Explorer: guided lessons",
        "model": model,
        "lessons": [
            {
                "lesson": lesson.title,
                "steps": len(lesson.steps),
                "right": sum(1 for r in done.get(lesson.key, {}).values() if r["correct"]),
                "answers": {str(i + 1): dict(r) for i, r in sorted(done.get(lesson.key, {}).items())},
            }
            for lesson in lessons
            if lesson.key in done
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)

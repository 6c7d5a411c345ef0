"""Core calls transformers with its current argument names: every decode path (the stepper, the generation tree's
expansions and beam, the pipeline's cache growth, the KV-cache measurement) runs without a deprecation from
transformers, whether it comes as a Python warning or as a line in transformers' log (how it reports renamed
arguments such as ``past_key_values`` -> ``cache``, removed in a later 5.x)."""

from __future__ import annotations

import logging
import warnings

import pytest
from transformers.utils import logging as hf_logging

from core.generation import Stepper
from core.generation_tree import GenerationTree
from core.kv_cache import measure_cache
from core.pipeline import cache_growth

DEPRECATED = ("deprecat", "will be removed", "removed in")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run_decode_paths(lm) -> None:
    stepper = Stepper(lm, "The package left the warehouse", temperature=0.0, seed=0, max_new_tokens=3)
    stepper.run(3)
    stepper.rewind(1)
    stepper.run(3)
    tree = GenerationTree(lm, "The package left", children=2, beam_width=2)
    tree.expand([()])
    tree.beam_step()
    tree.beam_step()
    ids = lm.tokenizer("The package left", add_special_tokens=False).input_ids
    cache_growth(lm, ids, ids[-1])
    measure_cache(lm, 8)


@pytest.mark.parametrize("fixture", ["tiny_llama_lm", "tiny_gpt2_lm"])
def test_decode_paths_use_no_deprecated_transformers_argument(fixture, request):
    lm = request.getfixturevalue(fixture)
    handler = _Records()
    logger = hf_logging.get_logger("transformers")
    logger.addHandler(handler)
    hf_logging.warning_once.cache_clear()  # it says a message once per process: an earlier test must not hide ours
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _run_decode_paths(lm)
    finally:
        logger.removeHandler(handler)
    found = [m for m in handler.messages if any(word in m.lower() for word in DEPRECATED)]
    found += [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in caught
        if issubclass(w.category, (DeprecationWarning, FutureWarning))
    ]
    assert not found, "\n".join(found)

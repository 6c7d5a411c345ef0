"""Every page's default prompt and example texts follow the model in use (``core.model_defaults``): when a tiny
trained model is picked, prompts with characters outside its vocabulary are swapped for lines of its own corpus
(the page says so once), and swapped back when another model is picked."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.inert import inert_markdown
from core.model_defaults import (
    LESSON_TEXTS,
    TEXTS_KEY,
    ModelTexts,
    closed_vocabulary,
    model_texts,
    unknown_symbols,
)
from ui import state

# The prompt boxes every page binds to the shared prompt (a page's key is absent while the page is not open).
PROMPT_KEYS = (
    state.PROMPT,
    state.NT_PROMPT,
    state.TEMP_PROMPT,
    state.GEN_PROMPT,
    state.ATT_PROMPT,
    state.LENS_PROMPT,
    state.TOK_PROMPT,
    state.PIPE_PROMPT,
    state.TREE_PROMPT,
)
GEN_SAVED_PROMPT = (state.GEN_SETTINGS, state.GEN_PROMPT)  # the generation page's remembered prompt box


def texts(lm: Any) -> ModelTexts:
    """The default prompt and example texts for ``lm`` (a LoadedModel)."""
    found = model_texts(lm)
    if found.source == "vocabulary":  # an uploaded tiny model (this session's own object): work them out once
        lm.extras[TEXTS_KEY] = found.as_dict()
    return found


def default_prompt(lm: Any) -> str:
    """The prompt every prompt box starts from for ``lm``."""
    return texts(lm).prompt


def _targets(model: ModelTexts) -> list[tuple[Any, str, str | None]]:
    """(key, the model's default, the page's own default when the key is absent, or None) for every text box."""
    rows: list[tuple[Any, str, str | None]] = [(key, model.prompt, None) for key in PROMPT_KEYS]
    rows.append((GEN_SAVED_PROMPT, model.prompt, None))
    rows += [(key, text, lesson) for key, text, lesson in zip(state.NT_COMPARE, model.compare, LESSON_TEXTS.compare)]
    rows.append((state.PF_TEXT, model.line, LESSON_TEXTS.line))
    examples = list(model.examples.values())
    rows.append((state.PPL_TEXT, examples[0], None))
    rows += [(key, text, None) for key, text in zip(state.PPL_COMPARE_TEXTS, examples[:3])]
    return rows


def _get(key: Any) -> Any:
    if isinstance(key, tuple):
        return (st.session_state.get(key[0]) or {}).get(key[1])
    return st.session_state.get(key)


def _set(key: Any, value: Any) -> None:
    if isinstance(key, tuple):
        saved = dict(st.session_state.get(key[0]) or {})
        if value is None:
            saved.pop(key[1], None)
        else:
            saved[key[1]] = value
        st.session_state[key[0]] = saved
    elif value is None:
        st.session_state.pop(key, None)
    else:
        st.session_state[key] = value


def fit_texts_to_model(lm: Any) -> None:
    """Call once per run, after the sidebar's model picker and before the page.

    On a change of model: texts swapped for the previous model's own are put back (when still unchanged), and boxes
    still holding the previous model's defaults get the new model's. Then, for a model with a closed vocabulary (a
    tiny trained one), every box holding characters outside it gets the model's default too, and a note says so.
    On every run with such a model, boxes that are not open yet start from the model's texts instead of the lessons'
    (full of capitals and punctuation it has never seen).
    """
    closed = closed_vocabulary(lm.tokenizer)
    own = texts(lm)
    if st.session_state.get(state.DEFAULTS_MODEL) != lm.name:
        first = state.DEFAULTS_MODEL not in st.session_state
        previous = st.session_state.get(state.DEFAULTS_TEXTS)
        st.session_state[state.DEFAULTS_MODEL], st.session_state[state.DEFAULTS_TEXTS] = lm.name, own
        for key, (before, put) in dict(st.session_state.pop(state.DEFAULTS_REPLACED, None) or {}).items():
            if _get(key) == put:
                _set(key, before)
        if not first:
            _follow(lm, own, previous if isinstance(previous, ModelTexts) else LESSON_TEXTS, closed)
    if closed:
        for key, value, lesson in _targets(own):
            if lesson is not None and _get(key) is None and not isinstance(key, tuple):
                st.session_state[key] = value


def _follow(lm: Any, own: ModelTexts, previous: ModelTexts, closed: bool) -> None:
    """Give the new model's default to every box that holds the previous model's default or, for a closed
    vocabulary, symbols outside it; remember what was there (to put back) and say so once."""
    replaced: dict[Any, tuple[Any, str]] = {}
    unknown: list[str] = []
    before = {key: value for key, value, _ in _targets(previous)}
    for key, value, lesson in _targets(own):
        current = _get(key)
        shown = current if current is not None else lesson
        if not isinstance(shown, str) or not shown or shown == value:
            continue
        missing = unknown_symbols(lm.tokenizer, shown) if closed else []
        if missing or (current is not None and current == before.get(key)):
            unknown += missing
            _set(key, value)
            if closed:
                replaced[key] = (current, value)
    st.session_state[state.DEFAULTS_REPLACED] = replaced
    if replaced:
        symbols = ", ".join(repr(s) for s in dict.fromkeys(unknown) if s.strip())[:120]
        outside = f" ({symbols} and more are not in it)" if symbols else ""
        st.info(
            inert_markdown(
                f"{lm.name} knows only the {len(lm.tokenizer):,} symbols of its corpus{outside}: a prompt made for "
                f"another model would be full of <unk>. {len(replaced)} prompts and texts now start from its own "
                f'corpus ("{own.prompt}"). Pick another model to get them back.'
            ),
            icon=":material/swap_horiz:",
        )

"""The "Lesson examples" row: one button per worked example of the lessons that a page replays (core.lessons).

A button's callback writes the page's inputs into session state before the page's widgets are drawn, so the page
shows exactly the lesson's numbers. While those inputs still hold the preset's values, its note stays on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from components.inert import inert_markdown
from core.lessons import LessonPreset, presets_for
from core.training import SOURCES, TOY_CORPUS
from ui import state
from ui.model_picker import TRAINED_LABEL

CHOICES = ("mode", "source", "example")
REAL_MODEL_INPUTS = {"prompt", "text"}  # a preset with one of these replays the real model's numbers
TRAINED_MODEL_NOTE = (
    "The lesson's numbers are SmolLM2-135M-Instruct's: pick it in the sidebar to see them. Your trained model reads "
    "only the characters of its own corpus, so capitals and punctuation here are unknown to it (`<unk>`)."
)  # inputs whose value names a widget choice the page supplies (``labels``)


def _generation(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        state.GEN_PROMPT: inputs["prompt"],
        state.GEN_CHAT: inputs["mode"],
        state.GEN_TEMPERATURE: float(inputs["temperature"]),
        state.GEN_TOP_K: 0,
        state.GEN_TOP_P: 1.0,
        state.GEN_SEED: 0,
        state.GEN_MAX_NEW: int(inputs["max_new_tokens"]),
        state.GEN_STOP_STRINGS: "",
        state.GEN_NO_CACHE: False,
        state.GEN_RUN_N: int(inputs["run"]),
    }


def _temperature(inputs: Mapping[str, Any]) -> dict[str, Any]:
    values = {
        state.TEMP_SOURCE: inputs["mode"],
        state.TEMP_TOY_TOKENS: inputs["tokens"],
        state.TEMP_TOY_LOGITS: inputs["logits"],
        state.TEMP_VALUE: float(inputs["temperature"]),
    }
    if "example" in inputs:
        values[state.TEMP_PRESET] = inputs["example"]
    if "panels" in inputs:
        values[state.TEMP_PANELS] = list(inputs["panels"])
    # The "Draw samples" T follows the preset's temperature unless the preset names its own: left alone, it kept
    # the widget's default (or the last preset's 1.4) while the page showed the preset at T = 0.5.
    draw_t = float(inputs.get("draw_temperature", inputs["temperature"]))
    if draw_t > 0:  # the draw's T box starts at 0.05: a greedy preset leaves it as it is
        values[state.TEMP_DRAW_T] = draw_t
    if "draw_seed" in inputs:
        values[state.TEMP_DRAW_SEED] = inputs["draw_seed"]
    if "draw_n" in inputs:
        values[state.TEMP_DRAW_N] = int(inputs["draw_n"])
    return values


def _next_token(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        state.NT_MODE: inputs["mode"],
        state.NT_TOY_TOKENS: inputs["tokens"],
        state.NT_TOY_LOGITS: inputs["logits"],
        state.NT_TEMPERATURE: float(inputs["temperature"]),
        state.NT_TOP_K: 0,
        state.NT_TOP_P: 1.0,
    }


def _ngram(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        state.NGRAM_CORPUS: inputs["corpus"],
        state.NGRAM_N: int(inputs["n"]),
        state.NGRAM_SMOOTH: bool(inputs["smoothing"]),
        state.NGRAM_CONTEXT: inputs["context"],
    }


def _perplexity(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {state.PPL_TEXT: inputs["text"], state.PPL_ADD_BOS: True, state.PPL_TABS: inputs["tab"]}


def _kv_cache(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        state.KV_SOURCE: inputs["source"],
        state.KV_LAYERS: int(inputs["layers"]),
        state.KV_HEADS: int(inputs["heads"]),
        state.KV_KV_HEADS: int(inputs["kv_heads"]),
        state.KV_HEAD_DIM: int(inputs["head_dim"]),
        state.KV_WINDOW: int(inputs["window"]),
        state.KV_BATCH: int(inputs["batch"]),
        state.KV_SEQ_LEN: int(inputs["seq_len"]),
        state.KV_DTYPE: inputs["dtype"],
        state.KV_PAGED: False,
    }


def _train(inputs: Mapping[str, Any]) -> dict[str, Any]:
    corpus = {"mini_gpt": TOY_CORPUS}.get(inputs["corpus"], inputs["corpus"])  # the Mini-GPT lesson's ten lines
    values = {
        state.TRAIN_CORPUS: corpus,
        state.TRAIN_KIND: inputs["tokenizer"],
        state.TRAIN_LAYERS: int(inputs["layers"]),
        state.TRAIN_HEADS: int(inputs["heads"]),
        state.TRAIN_WIDTH: int(inputs["width"]),
        state.TRAIN_CONTEXT: int(inputs["context"]),
        state.TRAIN_BATCH: int(inputs["batch_size"]),
        state.TRAIN_LR: float(inputs["learning_rate"]),
    }
    source = next((name for name, text in SOURCES.items() if text == corpus), None)
    if source is not None:
        values[state.TRAIN_SOURCE] = source
    return values


def _tokenizer(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {state.TOK_PROMPT: inputs["prompt"], state.PROMPT: inputs["prompt"]}


BINDERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "generation": _generation,
    "temperature": _temperature,
    "next_token": _next_token,
    "ngram": _ngram,
    "perplexity": _perplexity,
    "kv_cache": _kv_cache,
    "train": _train,
    "tokenizer": _tokenizer,
}


def preset_values(preset: LessonPreset, labels: Mapping[str, Any]) -> dict[str, Any]:
    """The session-state values that put ``preset.page`` in the lesson's state.

    Args:
        labels: the page's widget choices by name ("toy" -> "Toy vocabulary"): a choice input ("mode", "source",
            "example") holds a name, and the page says which option of its widget that name is.
    """
    inputs = {name: labels.get(value, value) if name in CHOICES else value for name, value in preset.inputs.items()}
    return BINDERS[preset.page](inputs)


def apply_preset(preset: LessonPreset, labels: Mapping[str, Any]) -> None:
    """Button callback: set the page's inputs (before its widgets are drawn) and remember them for the note."""
    values = preset_values(preset, labels)
    st.session_state.update(values)
    if preset.page == "generation":  # a fresh run of the lesson's steps, through the page's Run mechanism
        st.session_state.pop(state.GEN_STEPPER, None)
        st.session_state[state.GEN_RUN_PENDING] = int(preset.inputs["run"])
    st.session_state.setdefault(state.LESSON_APPLIED, {})[preset.page] = (preset.label, values)


def lesson_presets(page: str, **labels: Any) -> None:
    """Draw the page's "Lesson examples" buttons (nothing on a page without a worked example), and the note of the
    preset in use while the page's inputs still hold its values.

    Args:
        page: the page file's stem ("generation", "kv_cache", ...).
        labels: the page's widget choices a preset may name (e.g. ``toy=TOY``, ``plain=PLAIN``, ``manual=MANUAL``).
    """
    presets = presets_for(page)
    if not presets:
        return
    pending = st.session_state.get(state.LESSON_PENDING)
    if isinstance(pending, tuple) and pending[0] == page:  # another page (a guided lesson) asked for this preset
        del st.session_state[state.LESSON_PENDING]
        chosen = next((p for p in presets if p.label == pending[1]), None)
        if chosen is not None:
            apply_preset(chosen, labels)
    with st.container(key=f"{state.LESSON_BOX}.{page}"):
        row = st.container(horizontal=True, vertical_alignment="center")
        row.markdown("**Lesson examples:**")
        for i, preset in enumerate(presets):
            row.button(
                preset.label,
                key=f"{state.LESSON_BUTTON}.{page}.{i}",
                on_click=apply_preset,
                args=(preset, labels),
                help=f"Replays a worked example of {preset.lesson} with its numbers.",
            )
        applied = st.session_state.get(state.LESSON_APPLIED, {}).get(page)
        if applied is None:
            return
        label, values = applied
        preset = next((p for p in presets if p.label == label), None)
        if preset is not None and all(st.session_state.get(k) == v for k, v in values.items()):
            st.info(inert_markdown(preset.note), icon=":material/school:")
            if REAL_MODEL_INPUTS & set(preset.inputs) and st.session_state.get(state.MODEL_NAME) == TRAINED_LABEL:
                st.caption(TRAINED_MODEL_NOTE)

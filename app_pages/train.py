"""Train a tiny GPT: seed 003's Mini-GPT trained here, a chunk of steps at a time, then used by every page."""

import streamlit as st

from core.lessons import MINI_GPT_LESSON
from core.tiny_tokenizers import KINDS
from core.training import MAX_CORPUS_CHARS, SOURCES, TOY_CORPUS
from ui import state
from ui.controls import limited_text
from ui.lessons import lesson_presets
from ui.share import copy_link_control, share_inputs
from views.train import (
    SHARED,
    draw_training,
    join_picker,
    message,
    next_name,
    result_panel,
    save_or_load,
    size_panel,
    training_controls,
    use_source,
    use_upload,
)

CHUNK = 10  # optimiser steps between redraws of the page
ss = st.session_state
ss.setdefault(state.TRAIN_CORPUS, TOY_CORPUS)

st.title("Train a tiny GPT")
st.markdown(
    f"The Mini-GPT of {MINI_GPT_LESSON}, for real: a small GPT-2 learns to predict the next token of a corpus. "
    "Each step "
    "takes a batch of windows of text; the model reads tokens `x[:-1]` and is scored on `x[1:]`, the same "
    "text shifted by one (teacher forcing). The **loss** is the average −log P(true next token), in nats. "
    "Once trained, the model joins the sidebar's model picker and every page works on it."
)

lesson_presets("train")
st.subheader("1. Corpus")
share_inputs(SHARED, "train")
copy_link_control()
st.radio("Start from", list(SOURCES), key=state.TRAIN_SOURCE, on_change=use_source, horizontal=True)
corpus = limited_text("Corpus (edit freely)", state.TRAIN_CORPUS, MAX_CORPUS_CHARS, height=150)
st.file_uploader("…or upload a .txt file (UTF-8)", type=["txt"], key=state.TRAIN_UPLOAD, on_change=use_upload)
message("corpus")

size_panel(corpus)
trainer = training_controls()

if trainer is not None:
    st.caption(
        trainer.corpus.note
        + (f" The corpus was cut to its first {MAX_CORPUS_CHARS:,} characters." if trainer.truncated else "")
    )
    slots = [st.empty() for _ in range(4)]
    ran = False
    while not trainer.finished:
        trainer.train_steps(CHUNK)
        draw_training(trainer, slots)
        ran = True
    if trainer.status != "nan" and ss.get(state.TRAIN_PUBLISHED) is not trainer:
        ss[state.TRAIN_PUBLISHED] = trainer
        join_picker(trainer.loaded_model(next_name(f"your trained model ({KINDS[trainer.kind]})")))
        st.rerun()  # so the sidebar's picker shows the new model
    if not ran:
        draw_training(trainer, slots)
    result_panel(trainer)

st.subheader("Save or load a model")
save_or_load(ss.get(state.TRAINED_MODEL))

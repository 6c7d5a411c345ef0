"""Train a tiny GPT: seed 003's Mini-GPT trained here, a chunk of steps at a time, then used by every page."""

import streamlit as st

from components.training import loss_curve, loss_note
from core.lessons import MINI_GPT_LESSON
from core.tiny_tokenizers import KINDS, TokenizerError, make_tokenizer
from core.training import (
    LIMITS,
    MAX_CORPUS_CHARS,
    MAX_PARAMS,
    MAX_SECONDS,
    MAX_STEPS,
    TOY_CORPUS,
    ModelSize,
    TrainingError,
    check_size,
    parameter_count,
)
from ui import state
from ui.charts import chart_table
from ui.controls import limited_text
from ui.lessons import lesson_presets
from ui.memo import session_memo
from ui.navigation import ROOT, available_pages
from ui.notice import notice
from ui.share import Shared, copy_link_control, share_inputs
from ui.training import (
    SESSION_SECONDS,
    SOURCES,
    attention_panel,
    draw_training,
    join_picker,
    message,
    next_name,
    save_or_load,
    start,
    stop,
    use_source,
    use_upload,
)

CHUNK = 10  # optimiser steps between redraws of the page
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2, 3e-2]
EXPLORE = (
    "app_pages/next_token.py",
    "app_pages/temperature.py",
    "app_pages/generation.py",
    "app_pages/attention.py",
    "app_pages/logit_lens.py",
    "app_pages/perplexity.py",
    "app_pages/kv_cache.py",
)
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
SHARED = [
    Shared(state.TRAIN_LAYERS, "layers", "int", *LIMITS["layers"]),
    Shared(state.TRAIN_HEADS, "heads", "choice", choices=(1, 2, 4, 8)),
    Shared(state.TRAIN_WIDTH, "width", "choice", choices=(16, 32, 48, 64, 96, 128, 192, 256)),
    Shared(state.TRAIN_CONTEXT, "context", "choice", choices=(8, 16, 32, 64, 128, 256)),
    Shared(state.TRAIN_LR, "lr", "choice", choices=tuple(RATES)),
    Shared(state.TRAIN_STEPS, "steps", "int", 1, MAX_STEPS),
    Shared(state.TRAIN_BATCH, "batch", "int", *LIMITS["batch_size"]),
    Shared(state.TRAIN_SEED, "seed", "int", 0, 2**31 - 1),
    Shared(state.TRAIN_SOURCE, "source", "choice", choices=tuple(SOURCES)),
    Shared(state.TRAIN_KIND, "tokenizer", "choice", choices=tuple(KINDS)),
    # 5,000 characters keep a link under the 8 KB many proxies allow and still hold the built-in village corpus
    Shared(state.TRAIN_CORPUS, "corpus", max_chars=5_000, limit=MAX_CORPUS_CHARS),
]
share_inputs(SHARED, "train")
copy_link_control()
st.radio("Start from", list(SOURCES), key=state.TRAIN_SOURCE, on_change=use_source, horizontal=True)
corpus = limited_text("Corpus (edit freely)", state.TRAIN_CORPUS, MAX_CORPUS_CHARS, height=150)
st.file_uploader("…or upload a .txt file (UTF-8)", type=["txt"], key=state.TRAIN_UPLOAD, on_change=use_upload)
message("corpus")

st.subheader("2. Tokenizer and model size")
kind = st.radio("Tokenizer", list(KINDS), format_func=lambda k: f"{KINDS[k]}", key=state.TRAIN_KIND, horizontal=True)
cols = st.columns(4)
for key, default in (
    (state.TRAIN_LAYERS, 2),
    (state.TRAIN_HEADS, 4),
    (state.TRAIN_WIDTH, 64),
    (state.TRAIN_CONTEXT, 32),
):
    st.session_state.setdefault(key, default)  # in state, not the widgets: a lesson button or a link may set them
size = ModelSize(
    cols[0].slider("Layers", *LIMITS["layers"], key=state.TRAIN_LAYERS),
    cols[1].select_slider("Attention heads", [1, 2, 4, 8], key=state.TRAIN_HEADS),
    cols[2].select_slider("Embedding width", [16, 32, 48, 64, 96, 128, 192, 256], key=state.TRAIN_WIDTH),
    cols[3].select_slider("Context length (tokens)", [8, 16, 32, 64, 128, 256], key=state.TRAIN_CONTEXT),
)
try:
    vocab = session_memo("train.vocab", (kind, corpus), lambda: len(make_tokenizer(corpus, kind)), max_entries=4)
    a, b = st.columns(2)
    a.metric(
        "Parameters",
        f"{parameter_count(size, vocab):,}",
        help="Token and position embeddings, "
        "12·d² + 13·d per layer, final layer norm; the output layer shares the token embedding.",
    )
    b.metric("Vocabulary", f"{vocab:,} tokens", help="Every symbol of the corpus plus <pad>, <unk>, <bos>, <eos>.")
    check_size(size, vocab)
except (TrainingError, TokenizerError) as error:
    notice(error, "warning")

st.subheader("3. Training")
cols = st.columns(4)
st.session_state.setdefault(state.TRAIN_LR, 5e-3)
st.session_state.setdefault(state.TRAIN_BATCH, 16)
cols[0].select_slider("Learning rate", RATES, key=state.TRAIN_LR, format_func=lambda v: f"{v:g}")
st.session_state.setdefault(state.TRAIN_STEPS, 200)
cols[1].number_input("Steps", 1, MAX_STEPS, key=state.TRAIN_STEPS)
cols[2].slider("Batch size", *LIMITS["batch_size"], key=state.TRAIN_BATCH)
st.session_state.setdefault(state.TRAIN_SEED, 0)
cols[3].number_input("Seed", 0, 2**31 - 1, key=state.TRAIN_SEED)
trainer = ss.get(state.TRAIN_TRAINER)
used = ss.get(state.TRAIN_SECONDS_USED, 0.0) + (trainer.elapsed if trainer else 0.0)
st.caption(
    f"Budgets: at most {MAX_PARAMS:,} parameters and {MAX_SECONDS:.0f} s per run; {SESSION_SECONDS / 60:.0f} "
    f"minutes of training per session ({used:.0f} s used). Training runs while this page is open."
    " The learning rate warms up, then decays along a cosine."
)
left, right, _ = st.columns([1, 1, 4])
left.button("Train", type="primary", on_click=start, key=state.TRAIN_START_BUTTON, width="stretch")
right.button(
    "Stop", on_click=stop, key=state.TRAIN_STOP_BUTTON, disabled=trainer is None or trainer.finished, width="stretch"
)
message("train")

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
    st.caption(loss_note(trainer.vocab_size))
    chart_table(loss_curve(trainer.losses, trainer.evals, trainer.vocab_size, max(1, trainer.step)), "train.chart")
    kind = {"done": "success", "stopped": "info", "time budget": "warning", "nan": "error"}[trainer.status]
    joined = (
        " It is now your trained model in the sidebar's model picker: explore it. It lasts only for this browser "
        "session: download it (below) to keep it."
        if trainer.status != "nan"
        else ""
    )
    notice(trainer.message + joined, kind)
    if trainer.status != "nan":
        pages = [p for p in available_pages() if p.path in EXPLORE]
        cols = st.columns(4)
        for i, info in enumerate(pages):
            cols[i % 4].page_link(str(ROOT / info.path), label=info.title, icon=info.icon)
        lm = ss.get(state.TRAINED_MODEL)
        if lm is not None and lm.model is trainer.model:  # not a model uploaded since
            st.subheader("Attention in your trained model")
            attention_panel(lm)

st.subheader("Save or load a model")
save_or_load(ss.get(state.TRAINED_MODEL))

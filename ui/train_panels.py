"""The Train page's sections: its shared inputs, the tokenizer and model-size panel, the training controls, and
what the page shows once a run has ended (loss curve, verdict, links to explore the model, its attention)."""

from __future__ import annotations

import streamlit as st

from components.training import loss_curve, loss_note
from core.tiny_tokenizers import KINDS, TokenizerError, make_tokenizer
from core.training import (
    LIMITS,
    MAX_CORPUS_CHARS,
    MAX_PARAMS,
    MAX_SECONDS,
    MAX_STEPS,
    ModelSize,
    TrainingError,
    check_size,
    parameter_count,
)
from ui import state
from ui.charts import chart_table
from ui.memo import session_memo
from ui.navigation import ROOT, available_pages
from ui.notice import notice
from ui.share import Shared
from ui.training import SESSION_SECONDS, SOURCES, attention_panel, message, start, stop

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
ss = st.session_state  # Streamlit's proxy: each call reads the current session's state


def size_panel(corpus: str) -> None:
    """Section 2: the tokenizer radio and the four model-size sliders, with the parameter count and vocabulary size
    of that model on this corpus (or a warning when it is over the budget or the tokenizer fails)."""
    st.subheader("2. Tokenizer and model size")
    kind = st.radio(
        "Tokenizer", list(KINDS), format_func=lambda k: f"{KINDS[k]}", key=state.TRAIN_KIND, horizontal=True
    )
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


def training_controls():
    """Section 3: learning rate, steps, batch size and seed, the budgets caption, the Train and Stop buttons and
    the message their callbacks left.

    Returns:
        This session's ``core.training.Trainer`` (running or finished), or None before the first run.
    """
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
        "Stop",
        on_click=stop,
        key=state.TRAIN_STOP_BUTTON,
        disabled=trainer is None or trainer.finished,
        width="stretch",
    )
    message("train")
    return trainer


def result_panel(trainer) -> None:
    """After a run: the loss curve with its table, the run's verdict, and (unless the loss went NaN) links to the
    pages to explore the trained model and its attention heatmap."""
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

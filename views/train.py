"""The Train page's parts: the training controls and live loss curve, the trained model's result panel and
attention heatmap, saving and loading the model as a zip, and joining the model picker."""

from __future__ import annotations

import re
import uuid

import streamlit as st

from components.attention import head_heatmap
from components.inert import inert_markdown
from components.training import loss_curve, loss_note, samples_frame
from core.attention import AttentionUnavailable, attention_maps
from core.model_io import ModelFileError, load_model_zip, save_model_zip
from core.text import PromptError
from core.tiny_tokenizers import KINDS, TokenizerError, make_tokenizer
from core.training import (
    LIMITS,
    MAX_CORPUS_CHARS,
    MAX_PARAMS,
    MAX_SECONDS,
    MAX_STEPS,
    SOURCES,
    ModelSize,
    Trainer,
    TrainingError,
    TrainSettings,
    check_size,
    corpus_from_bytes,
    parameter_count,
)
from ui import state
from ui.charts import chart_table, show_chart, show_table
from ui.controls import SEED_RANGE
from ui.memo import session_memo
from ui.model_defaults import texts
from ui.model_picker import TRAINED_LABEL
from ui.navigation import ROOT, available_pages
from ui.notice import notice
from ui.share import Shared

SESSION_SECONDS = 600.0  # training time one session may spend in total
ss = st.session_state  # Streamlit's proxy: each call reads the current session's state


def use_source():
    """Radio callback: put the chosen built-in corpus in the corpus box."""
    ss[state.TRAIN_CORPUS] = SOURCES[ss[state.TRAIN_SOURCE]]


def use_upload():
    """Uploader callback: put an uploaded .txt file in the corpus box, or leave a message saying why not."""
    upload = ss.get(state.TRAIN_UPLOAD)
    if upload is not None:
        try:
            ss[state.TRAIN_CORPUS], note = corpus_from_bytes(upload.getvalue())
            state.set_train_message("corpus", state.Message("info", note) if note else None)
        except TrainingError as error:
            state.set_train_message("corpus", state.Message("error", f"{upload.name}: {error}"))


def next_name(what: str) -> str:
    """A name no other model of this session (or any session) has: per-session memos key on it."""
    ss[state.TRAIN_RUNS] = ss.get(state.TRAIN_RUNS, 0) + 1
    return f"{what} #{ss[state.TRAIN_RUNS]} ({uuid.uuid4().hex[:4]})"


def join_picker(lm):
    """Make a trained or uploaded model the one in use on every page (and forget results memoised for the old one)."""
    ss[state.TRAINED_MODEL], ss[state.MODEL_NAME], ss[state.MODEL_REVERT] = lm, TRAINED_LABEL, True
    ss.pop(state.MEMO, None)


def start():
    """Train-button callback: stop any previous run and start a Trainer within the session's time budget."""
    previous = ss.pop(state.TRAIN_TRAINER, None)
    if previous is not None:
        previous.stop()
        ss[state.TRAIN_SECONDS_USED] = ss.get(state.TRAIN_SECONDS_USED, 0.0) + previous.elapsed
    remaining = SESSION_SECONDS - ss.get(state.TRAIN_SECONDS_USED, 0.0)
    if remaining < 1:
        state.set_train_message(
            "train",
            state.Message(
                "error",
                f"This session has used its {SESSION_SECONDS / 60:.0f} "
                "minutes of training. Your last model stays in the model "
                "picker.",
            ),
        )
        return
    size = ModelSize(ss[state.TRAIN_LAYERS], ss[state.TRAIN_HEADS], ss[state.TRAIN_WIDTH], ss[state.TRAIN_CONTEXT])
    settings = TrainSettings(
        steps=int(ss[state.TRAIN_STEPS]),
        batch_size=int(ss[state.TRAIN_BATCH]),
        learning_rate=float(ss[state.TRAIN_LR]),
        seed=int(ss[state.TRAIN_SEED]),
        max_seconds=min(MAX_SECONDS, remaining),
    )
    try:
        ss[state.TRAIN_TRAINER] = Trainer(ss[state.TRAIN_CORPUS], ss[state.TRAIN_KIND], size, settings)
        state.set_train_message("train", None)
    except (TrainingError, TokenizerError) as error:
        state.set_train_message("train", state.Message("error", str(error)))


def stop():
    """Stop-button callback: stop the running Trainer (it keeps what it has learnt)."""
    if ss.get(state.TRAIN_TRAINER) is not None:
        ss[state.TRAIN_TRAINER].stop()


def use_model_upload():
    """Uploader callback: load a model zip saved from the page and make it the model in use, or say why not."""
    upload = ss.get(state.TRAIN_MODEL_UPLOAD)
    if upload is not None:
        label = re.sub(r"[^A-Za-z0-9._ -]", "", upload.name)[:40] or "model"
        try:
            join_picker(load_model_zip(upload.getvalue(), next_name(f"uploaded model {label}")))
            state.set_train_message(
                "model", state.Message("success", f"Loaded {label}: it is now the model in use on every page.")
            )
        except ModelFileError as error:
            # The message may quote names from inside the zip: shown as typed (by notice), like the file's own name.
            state.set_train_message("model", state.Message("error", f"{upload.name}: {error} Nothing was loaded."))


def message(where: str):
    """Show the message a callback left for this part of the page, next to the widget that caused it."""
    note = state.train_message()
    if note and note.where == where:
        notice(note.message)


def draw_training(trainer, slots) -> None:
    """Redraw progress, numbers, loss curve and samples of a ``core.training.Trainer`` into four ``st.empty``
    slots (called between chunks of steps, and once more when training has finished)."""
    progress, numbers, chart, table = slots
    planned = trainer.settings.steps
    progress.progress(min(1.0, trainer.step / planned), text=f"Step {trainer.step:,} of {planned:,}")
    step, train_loss, heldout = trainer.evals[-1]
    with numbers.container():
        cols = st.columns(5)
        cols[0].metric("Training-text loss", f"{train_loss:.3f}", help=f"nats per token, at step {step}")
        cols[1].metric(
            "Held-out loss",
            "none" if heldout is None else f"{heldout:.3f}",
            help="On the held-out end of the corpus, never trained on.",
        )
        cols[2].metric("Elapsed", f"{trainer.elapsed:.1f} s")
        cols[3].metric("Tokens per second", f"{trainer.tokens_per_second:,.0f}")
        cols[4].metric("Parameters", f"{trainer.parameters:,}")
    x_end = max(1, trainer.step) if trainer.finished else planned
    show_chart(  # no table here: the slot holds one element (the page adds it once training has ended)
        loss_curve(trainer.losses, trainer.evals, trainer.vocab_size, x_end),
        f"train.chart.{trainer.step}",
        where=chart,
        table=False,
    )
    show_table(samples_frame(trainer.samples), where=table, hide_index=True, width="stretch")


SESSION_ONLY = (
    "**Your trained model lives only in this browser session.** Reloading the page, closing the tab or a restart of "
    "the server loses it. To keep it, download it as a zip below; to use it again later, upload that zip here "
    "(it joins the model picker and every page works on it, as now)."
)


def attention_panel(lm) -> None:
    """Seed 003's "Inspecting attention weights": the trained model's attention over a line of its corpus, one layer
    at a time with the heads averaged (as the notebook draws it) or one head, with the Attention page's heatmap."""
    line = texts(lm).line
    try:
        maps = session_memo("train.attention", (lm.name, line), lambda: attention_maps(lm, line), max_entries=2)
    except (AttentionUnavailable, PromptError) as error:
        notice(error)
        return
    layers, heads = maps.layers, maps.heads
    if ss.get(state.TRAIN_ATT_LAYER) not in range(layers) or ss.get(state.TRAIN_ATT_HEAD) not in (None, *range(heads)):
        ss[state.TRAIN_ATT_LAYER], ss[state.TRAIN_ATT_HEAD] = 0, None  # a new model with fewer layers or heads
    left, right, _ = st.columns([1, 1, 2])
    layer = left.selectbox(  # numbered 1..L, as on the Attention page (the value is the 0-based index)
        "Layer", list(range(layers)), key=state.TRAIN_ATT_LAYER, format_func=lambda i: f"layer {i + 1}"
    )
    head = right.selectbox(
        "Head",
        [None, *range(heads)],
        key=state.TRAIN_ATT_HEAD,
        format_func=lambda h: "average over heads" if h is None else f"head {h}",
    )
    name = f"Layer {layer + 1}, " + ("heads averaged" if head is None else f"head {head}")
    show_chart(head_heatmap(maps.head(layer, head), maps.tokens, title=name), "train.attention")
    st.caption(
        f"The line {inert_markdown(repr(line))} from the corpus, read by your model. Rows: the token looking (query); "
        "columns: the token looked at (key); grey: masked future tokens. The Attention page shows every head and "
        "more."
    )


def save_or_load(lm) -> None:
    """Say that a trained model is gone on reload; the download button (when there is a model) and the uploader."""
    st.markdown(SESSION_ONLY)
    if lm is not None:
        data = session_memo("train.zip", lm.name, lambda: save_model_zip(lm, dict(lm.extras)), max_entries=1)
        st.download_button(
            f"Download {lm.name} (.zip, {len(data) / 1e6:.1f} MB)",
            data,
            file_name="tiny-gpt.zip",
            mime="application/zip",
            key=state.TRAIN_DOWNLOAD,
            on_click="ignore",
        )
        st.caption(
            "The zip holds model.safetensors, config.json and the tokenizer: unzipped, it is a Hugging Face "
            "folder (GPT2LMHeadModel.from_pretrained, AutoTokenizer.from_pretrained)."
        )
    st.file_uploader(
        "Upload a model zip saved from this page",
        type=["zip"],
        key=state.TRAIN_MODEL_UPLOAD,
        on_change=use_model_upload,
    )
    message("model")


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
    Shared(state.TRAIN_SEED, "seed", "int", *SEED_RANGE),
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
    cols[3].number_input("Seed", *SEED_RANGE, key=state.TRAIN_SEED)
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

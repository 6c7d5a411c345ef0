"""The training page's Streamlit parts: callbacks (pick or upload a corpus, start and stop a run, load a model
zip, show their messages), the live panel redrawn between training chunks, the trained model's attention heatmap
and the save-or-load section."""

from __future__ import annotations

import re
import uuid

import streamlit as st

from components.attention import head_heatmap
from components.inert import inert_markdown
from components.training import loss_curve, samples_frame
from core.attention import AttentionUnavailable, attention_maps
from core.lessons import MINI_GPT_LESSON
from core.model_io import ModelFileError, load_model_zip, save_model_zip
from core.text import PromptError
from core.tiny_tokenizers import TokenizerError
from core.training import (
    MAX_SECONDS,
    TOY_CORPUS,
    VILLAGE_CORPUS,
    ModelSize,
    Trainer,
    TrainingError,
    TrainSettings,
    corpus_from_bytes,
)
from ui import state
from ui.charts import show_chart
from ui.memo import session_memo
from ui.model_defaults import texts
from ui.model_picker import TRAINED_LABEL
from ui.notice import notice

SOURCES = {
    f"The corpus of {MINI_GPT_LESSON} (10 short lines)": TOY_CORPUS,
    "A village (4 KB, written for this app; some held out)": VILLAGE_CORPUS,
}
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
    table.dataframe(samples_frame(trainer.samples), hide_index=True, width="stretch")


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
    except (AttentionUnavailable, PromptError, ValueError) as error:
        notice(error)
        return
    layers, heads = maps.layers, maps.heads
    if ss.get(state.TRAIN_ATT_LAYER) not in range(layers) or ss.get(state.TRAIN_ATT_HEAD) not in (None, *range(heads)):
        ss[state.TRAIN_ATT_LAYER], ss[state.TRAIN_ATT_HEAD] = 0, None  # a new model with fewer layers or heads
    left, right, _ = st.columns([1, 1, 2])
    layer = left.selectbox("Layer", list(range(layers)), key=state.TRAIN_ATT_LAYER, format_func=lambda i: f"layer {i}")
    head = right.selectbox(
        "Head",
        [None, *range(heads)],
        key=state.TRAIN_ATT_HEAD,
        format_func=lambda h: "average over heads" if h is None else f"head {h}",
    )
    name = f"Layer {layer}, " + ("heads averaged" if head is None else f"head {head}")
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

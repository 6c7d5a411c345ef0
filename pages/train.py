"""Train a tiny GPT: seed 003's Mini-GPT trained here, a chunk of steps at a time, then used by every page."""
from components.routing import route_through_app

route_through_app()  # before heavy imports: see components/routing.py

import re
import uuid

import streamlit as st

from components import state
from components.memo import session_memo
from components.model_picker import TRAINED_LABEL
from components.navigation import ROOT, available_pages
from components.tokens import md_escape
from components.training_charts import draw_training, loss_note
from components.share import Shared, copy_link_control, share_inputs
from core.model_io import ModelFileError, load_model_zip, save_model_zip
from core.tiny_tokenizers import KINDS, TokenizerError, make_tokenizer
from core.training import (LIMITS, MAX_CORPUS_CHARS, MAX_PARAMS, MAX_SECONDS, MAX_STEPS, TOY_CORPUS, VILLAGE_CORPUS,
                           ModelSize, Trainer, TrainingError, TrainSettings, check_size, corpus_from_bytes,
                           parameter_count)

SOURCES = {"Seed 003's toy corpus (10 short lines)": TOY_CORPUS,
           "A village (4 KB, written for this app; some held out)": VILLAGE_CORPUS}
SESSION_SECONDS = 600.0  # training time one session may spend in total
CHUNK = 10  # optimiser steps between redraws of the page
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2, 3e-2]
EXPLORE = ("pages/next_token.py", "pages/temperature.py", "pages/generation.py", "pages/attention.py",
           "pages/logit_lens.py", "pages/perplexity.py", "pages/kv_cache.py")
ss = st.session_state
ss.setdefault(state.TRAIN_CORPUS, TOY_CORPUS)


def use_source():
    ss[state.TRAIN_CORPUS] = SOURCES[ss[state.TRAIN_SOURCE]]


def use_upload():
    upload = ss.get(state.TRAIN_UPLOAD)
    if upload is not None:
        try:
            ss[state.TRAIN_CORPUS], note = corpus_from_bytes(upload.getvalue())
            ss[state.TRAIN_MESSAGE] = ("corpus", "info", note) if note else None
        except TrainingError as error:
            ss[state.TRAIN_MESSAGE] = ("corpus", "error", f"{md_escape(upload.name)}: {error}")


def next_name(what: str) -> str:
    """A name no other model of this session (or any session) has: per-session memos key on it."""
    ss[state.TRAIN_RUNS] = ss.get(state.TRAIN_RUNS, 0) + 1
    return f"{what} #{ss[state.TRAIN_RUNS]} ({uuid.uuid4().hex[:4]})"


def join_picker(lm):
    ss[state.TRAINED_MODEL], ss[state.MODEL_NAME], ss[state.MODEL_REVERT] = lm, TRAINED_LABEL, True
    ss.pop(state.MEMO, None)


def start():
    previous = ss.pop(state.TRAIN_TRAINER, None)
    if previous is not None:
        previous.stop()
        ss[state.TRAIN_SECONDS_USED] = ss.get(state.TRAIN_SECONDS_USED, 0.0) + previous.elapsed
    remaining = SESSION_SECONDS - ss.get(state.TRAIN_SECONDS_USED, 0.0)
    if remaining < 1:
        ss[state.TRAIN_MESSAGE] = ("train", "error", f"This session has used its {SESSION_SECONDS / 60:.0f} minutes of "
                                            "training. Your last model stays in the model picker.")
        return
    size = ModelSize(ss[state.TRAIN_LAYERS], ss[state.TRAIN_HEADS], ss[state.TRAIN_WIDTH], ss[state.TRAIN_CONTEXT])
    settings = TrainSettings(steps=int(ss[state.TRAIN_STEPS]), batch_size=int(ss[state.TRAIN_BATCH]),
                             learning_rate=float(ss[state.TRAIN_LR]), seed=int(ss[state.TRAIN_SEED]),
                             max_seconds=min(MAX_SECONDS, remaining))
    try:
        ss[state.TRAIN_TRAINER] = Trainer(ss[state.TRAIN_CORPUS], ss[state.TRAIN_KIND], size, settings)
        ss[state.TRAIN_MESSAGE] = None
    except (TrainingError, TokenizerError) as error:
        ss[state.TRAIN_MESSAGE] = ("train", "error", str(error))


def stop():
    if ss.get(state.TRAIN_TRAINER) is not None:
        ss[state.TRAIN_TRAINER].stop()


def use_model_upload():
    upload = ss.get(state.TRAIN_MODEL_UPLOAD)
    if upload is not None:
        label = re.sub(r"[^A-Za-z0-9._ -]", "", upload.name)[:40] or "model"
        try:
            join_picker(load_model_zip(upload.getvalue(), next_name(f"uploaded model {label}")))
            ss[state.TRAIN_MESSAGE] = ("model", "success", f"Loaded **{label}**: it is now the model in use on every page.")
        except ModelFileError as error:
            ss[state.TRAIN_MESSAGE] = ("model", "error", f"{md_escape(upload.name)}: {error} Nothing was loaded.")


def message(where: str):
    """Show the message a callback left for this part of the page, next to the widget that caused it."""
    note = ss.get(state.TRAIN_MESSAGE)
    if note and note[0] == where:
        getattr(st, note[1])(note[2])


st.title("Train a tiny GPT")
st.markdown("Seed 003's Mini-GPT, for real: a small GPT-2 learns to predict the next token of a corpus. Each step "
            "takes a batch of windows of text; the model reads tokens `x[:-1]` and is scored on `x[1:]`, the same "
            "text shifted by one (teacher forcing). The **loss** is the average −log P(true next token), in nats. "
            "Once trained, the model joins the sidebar's model picker and every page works on it.")

st.subheader("1. Corpus")
SHARED = [Shared(state.TRAIN_LAYERS, "layers", "int", *LIMITS["layers"]),
          Shared(state.TRAIN_HEADS, "heads", "choice", choices=(1, 2, 4, 8)),
          Shared(state.TRAIN_WIDTH, "width", "choice", choices=(16, 32, 48, 64, 96, 128, 192, 256)),
          Shared(state.TRAIN_CONTEXT, "context", "choice", choices=(8, 16, 32, 64, 128, 256)),
          Shared(state.TRAIN_LR, "lr", "choice", choices=tuple(RATES)), Shared(state.TRAIN_STEPS, "steps", "int", 1, MAX_STEPS),
          Shared(state.TRAIN_BATCH, "batch", "int", *LIMITS["batch_size"]), Shared(state.TRAIN_SEED, "seed", "int", 0, 2**31 - 1)]
share_inputs(SHARED, 'train')
copy_link_control()
st.radio("Start from", list(SOURCES), key=state.TRAIN_SOURCE, on_change=use_source, horizontal=True)
corpus = st.text_area("Corpus (edit freely)", key=state.TRAIN_CORPUS, height=150, max_chars=MAX_CORPUS_CHARS)
st.file_uploader("…or upload a .txt file (UTF-8)", type=["txt"], key=state.TRAIN_UPLOAD, on_change=use_upload)
message("corpus")

st.subheader("2. Tokenizer and model size")
kind = st.radio("Tokenizer", list(KINDS), format_func=lambda k: f"{KINDS[k]}", key=state.TRAIN_KIND, horizontal=True)
cols = st.columns(4)
size = ModelSize(
    cols[0].slider("Layers", *LIMITS["layers"], 2, key=state.TRAIN_LAYERS),
    cols[1].select_slider("Attention heads", [1, 2, 4, 8], 4, key=state.TRAIN_HEADS),
    cols[2].select_slider("Embedding width", [16, 32, 48, 64, 96, 128, 192, 256], 64, key=state.TRAIN_WIDTH),
    cols[3].select_slider("Context length (tokens)", [8, 16, 32, 64, 128, 256], 32, key=state.TRAIN_CONTEXT))
try:
    vocab = session_memo("train.vocab", (kind, corpus), lambda: len(make_tokenizer(corpus, kind)), max_entries=4)
    a, b = st.columns(2)
    a.metric("Parameters", f"{parameter_count(size, vocab):,}", help="Token and position embeddings, "
             "12·d² + 13·d per layer, final layer norm; the output layer shares the token embedding.")
    b.metric("Vocabulary", f"{vocab:,} tokens", help="Every symbol of the corpus plus <pad>, <unk>, <bos>, <eos>.")
    check_size(size, vocab)
except (TrainingError, TokenizerError) as error:
    st.warning(str(error))

st.subheader("3. Training")
cols = st.columns(4)
cols[0].select_slider("Learning rate", RATES, 5e-3, key=state.TRAIN_LR, format_func=lambda v: f"{v:g}")
cols[1].number_input("Steps", 1, MAX_STEPS, 200, key=state.TRAIN_STEPS)
cols[2].slider("Batch size", *LIMITS["batch_size"], 16, key=state.TRAIN_BATCH)
cols[3].number_input("Seed", 0, 2**31 - 1, 0, key=state.TRAIN_SEED)
trainer = ss.get(state.TRAIN_TRAINER)
used = ss.get(state.TRAIN_SECONDS_USED, 0.0) + (trainer.elapsed if trainer else 0.0)
st.caption(f"Budgets: at most {MAX_PARAMS:,} parameters and {MAX_SECONDS:.0f} s per run; {SESSION_SECONDS / 60:.0f} "
           f"minutes of training per session ({used:.0f} s used). Training runs while this page is open."
           " The learning rate warms up, then decays along a cosine.")
left, right, _ = st.columns([1, 1, 4])
left.button("Train", type="primary", on_click=start, key="train.start", width="stretch")
right.button("Stop", on_click=stop, key="train.stop", disabled=trainer is None or trainer.finished, width="stretch")
message("train")

if trainer is not None:
    st.caption(trainer.corpus.note + (" The corpus was cut to its first "
                                      f"{MAX_CORPUS_CHARS:,} characters." if trainer.truncated else ""))
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
    report = {"done": st.success, "stopped": st.info, "time budget": st.warning, "nan": st.error}[trainer.status]
    joined = " It is now **your trained model** in the sidebar's model picker: explore it." if trainer.status != "nan" else ""
    report(trainer.message + joined)
    if trainer.status != "nan":
        pages = [p for p in available_pages() if p.path in EXPLORE]
        cols = st.columns(4)
        for i, info in enumerate(pages):
            cols[i % 4].page_link(str(ROOT / info.path), label=info.title, icon=info.icon)

st.subheader("Save or load a model")
lm = ss.get(state.TRAINED_MODEL)
if lm is not None:
    data = session_memo("train.zip", lm.name, lambda: save_model_zip(lm, dict(lm.extras)), max_entries=1)
    st.download_button(f"Download {lm.name} (.zip, {len(data) / 1e6:.1f} MB)", data, file_name="tiny-gpt.zip",
                       mime="application/zip", key="train.download", on_click="ignore")
    st.caption("The zip holds model.safetensors, config.json and the tokenizer: unzipped, it is a Hugging Face "
               "folder (GPT2LMHeadModel.from_pretrained, AutoTokenizer.from_pretrained).")
st.file_uploader("Upload a model zip saved from this page", type=["zip"], key=state.TRAIN_MODEL_UPLOAD,
                 on_change=use_model_upload)
message("model")

"""Session-state keys, declared once. Page-specific keys carry the page's prefix."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.seed_examples import CAPITAL_PROMPT

# Shared by every page.
PROMPT = "shared.prompt"            # the prompt every page starts from
MODEL_NAME = "shared.model_name"    # the model in use (a name in the shared cache, or TRAINED_MODEL)
MODEL_CHOICE = "sidebar.model_choice"
MODEL_CUSTOM_ID = "sidebar.model_custom_id"
MODEL_ERROR = "sidebar.model_error"
MODEL_REVERT = "sidebar.model_revert"
TRAINED_MODEL = "shared.trained_model"  # this session's own trained LoadedModel (never shared)
MEMO = "shared.memo"                # per-session memo of model outputs, see ui.memo

# Next-token page.
NT_TOP_N = "next_token.top_n"
NT_TEMPERATURE = "next_token.temperature"
NT_TOP_K = "next_token.top_k"
NT_TOP_P = "next_token.top_p"
NT_SEED = "next_token.seed"
NT_LAST_SAMPLE = "next_token.last_sample"
NT_COMPARE = ("next_token.compare_1", "next_token.compare_2", "next_token.compare_3")
NT_TOY_TOKENS = "next_token.toy_tokens"
NT_TOY_LOGITS = "next_token.toy_logits"
NT_MODE = "next_token.mode"

# Temperature page.
TEMP_SOURCE = "temperature.source"
TEMP_VALUE = "temperature.value"
TEMP_PANELS = "temperature.panels"
TEMP_TOP_N = "temperature.top_n"
TEMP_TOY_TOKENS = "temperature.toy_tokens"
TEMP_TOY_LOGITS = "temperature.toy_logits"

DEFAULT_PROMPT = CAPITAL_PROMPT


def init_state() -> None:
    """Give every shared key its starting value (``setdefault``, so nothing is overwritten)."""
    st.session_state.setdefault(PROMPT, DEFAULT_PROMPT)
    st.session_state.setdefault(MODEL_ERROR, None)


def shared_value(key: str, default: Any = None) -> Any:
    """Read a shared session value."""
    return st.session_state.get(key, default)

# Tokenizer page.
TOK_PROMPT = "tokenizer.prompt"              # the text box (bound to the shared prompt)
TOK_SHOW_IDS = "tokenizer.show_ids"
TOK_OTHERS = "tokenizer.others"              # other models' tokenizers to compare (local cache only)
TOK_BPE_CORPUS = "tokenizer.bpe_corpus"
TOK_BPE_VOCAB = "tokenizer.bpe_vocab_size"
TOK_CHAT_SYSTEM = "tokenizer.chat_system"
TOK_CHAT_USER = "tokenizer.chat_user"
TOK_CHAT_GEN_PROMPT = "tokenizer.chat_generation_prompt"

# N-gram page.
NGRAM_CORPUS = "ngram.corpus"
NGRAM_N = "ngram.n"
NGRAM_CONTEXT = "ngram.context"
NGRAM_SMOOTH = "ngram.smoothing"
NGRAM_K = "ngram.k"
NGRAM_DECODING = "ngram.decoding"
NGRAM_SEED = "ngram.seed"
NGRAM_MAX_WORDS = "ngram.max_words"
NGRAM_START = "ngram.start"
NGRAM_HELDOUT = "ngram.heldout"

# KV-cache memory page.
KV_SOURCE = "kv.source"            # where the architecture comes from (manual / preset / loaded model / Hub id)
KV_PRESET = "kv.preset"
KV_HUB_ID = "kv.hub_id"
KV_LAYERS = "kv.layers"
KV_HEADS = "kv.heads"
KV_KV_HEADS = "kv.kv_heads"
KV_HEAD_DIM = "kv.head_dim"
KV_WINDOW = "kv.window"
KV_PARAMS_B = "kv.params_b"        # parameters in billions, for the weights (manual entry)
KV_BATCH = "kv.batch"
KV_SEQ_LEN = "kv.seq_len"
KV_DTYPE = "kv.dtype"
KV_PAGED = "kv.paged"
KV_MLA = "kv.mla"
KV_GPU_GIB = "kv.gpu_gib"
KV_WEIGHT_DTYPE = "kv.weight_dtype"
KV_MEASURE_N = "kv.measure_n"

# Attention page.
ATT_PROMPT = "attention.prompt"
ATT_LAYER = "attention.layer"
ATT_HEAD = "attention.head"              # a head index, or None for the average over heads
ATT_HIDE_SINK = "attention.hide_sink"
ATT_METRIC = "attention.metric"
ATT_OVERVIEW = "attention.overview"      # the layers x heads chart (click a head to open it)
ATT_QUERY = "attention.query"
ATT_GRID = "attention.grid_show"
ATT_GEN_SHOW = "attention.generation_show"
ATT_GEN_TOKENS = "attention.generation_tokens"
ATT_STEPPER = "generation.stepper"  # owned by the generation page; read here only (all_ids, prompt_len)

# Layer-by-layer (logit lens) page.
LENS_PROMPT = "lens.prompt"
LENS_EVERY_POSITION = "lens.every_position"
LENS_POSITION = "lens.position"

# Step-by-step generation page.
GEN_STEPPER = "generation.stepper"        # this session's core.generation.Stepper (owns its KV cache)
GEN_SETTINGS = "generation.settings"      # last widget values, restored after navigating away and back
GEN_MESSAGE = "generation.message"        # a refusal left by a button callback for the next run
GEN_RUN_PENDING = "generation.run_pending"  # steps a Run button asked for; consumed by the next run
GEN_PROMPT = "generation.prompt"
GEN_CHAT = "generation.chat"
GEN_TEMPERATURE = "generation.temperature"
GEN_TOP_K = "generation.top_k"
GEN_TOP_P = "generation.top_p"
GEN_SEED = "generation.seed"
GEN_MAX_NEW = "generation.max_new_tokens"
GEN_STOP_STRINGS = "generation.stop_strings"
GEN_NO_CACHE = "generation.no_cache"
GEN_RUN_N = "generation.run_n"
GEN_TOP_N = "generation.top_n"
GEN_REWIND_TO = "generation.rewind_to"
GEN_VIEW_STEP = "generation.view_step"

# Perplexity page.
PPL_TEXT = "perplexity.text"                  # the text being scored
PPL_EXAMPLE = "perplexity.example"            # example picker (its callback fills PPL_TEXT)
PPL_UPLOAD = "perplexity.upload"              # .txt uploader (its callback fills PPL_TEXT)
PPL_MESSAGE = "perplexity.message"            # an upload error left by the callback for the next run
PPL_ADD_BOS = "perplexity.add_bos"            # score the first token from the start token
PPL_WINDOW = "perplexity.window"              # sliding-window length in tokens
PPL_STRIDE = "perplexity.stride"              # tokens the window moves per step
PPL_SURPRISING_N = "perplexity.surprising_n"
PPL_COMPARE_MODE = "perplexity.compare_mode"
PPL_COMPARE_TEXTS = ("perplexity.compare_1", "perplexity.compare_2", "perplexity.compare_3")
PPL_SECOND_MODEL = "perplexity.second_model"
PPL_MODEL_COMPARISON = "perplexity.model_comparison"  # (second model name, text, result or error message)

# Train page.
TRAIN_SOURCE = "train.source"                # built-in corpus picker (its callback fills TRAIN_CORPUS)
TRAIN_CORPUS = "train.corpus"                # the corpus text being trained on (editable)
TRAIN_UPLOAD = "train.upload"                # .txt uploader (its callback fills TRAIN_CORPUS)
TRAIN_KIND = "train.tokenizer"               # "char" or "word"
TRAIN_LAYERS = "train.layers"
TRAIN_HEADS = "train.heads"
TRAIN_WIDTH = "train.width"
TRAIN_CONTEXT = "train.context"
TRAIN_LR = "train.learning_rate"
TRAIN_STEPS = "train.steps"
TRAIN_BATCH = "train.batch_size"
TRAIN_SEED = "train.seed"
TRAIN_TRAINER = "train.trainer"              # this session's core.training.Trainer (running or finished)
TRAIN_PUBLISHED = "train.published"          # run number of the trainer whose model joined the picker
TRAIN_RUNS = "train.runs"                    # how many models this session has trained or uploaded (unique names)
TRAIN_SECONDS_USED = "train.seconds_used"    # training seconds this session has spent (per-session budget)
TRAIN_MESSAGE = "train.message"              # a refusal or error left by a callback for the next run
TRAIN_MODEL_UPLOAD = "train.model_upload"    # uploaded model zip (its callback loads it)

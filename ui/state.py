"""Session-state keys, declared once (page-specific keys carry the page's prefix), and the typed records kept
under them: small frozen dataclasses, each read and written through one accessor below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import streamlit as st

from core.seed_examples import CAPITAL_PROMPT

if TYPE_CHECKING:
    from core.perplexity import PerplexityResult

# Shared by every page.
PROMPT = "shared.prompt"  # the prompt every page starts from
MODEL_NAME = "shared.model_name"  # the model in use (a name in the shared cache, or TRAINED_MODEL)
MODEL_CHOICE = "sidebar.model_choice"
MODEL_CUSTOM_ID = "sidebar.model_custom_id"
MODEL_ERROR = "sidebar.model_error"  # a ModelError: the model asked for that could not be loaded
MODEL_REVERT = "sidebar.model_revert"
MODEL_FROM_LINK = "sidebar.model_from_link"  # True once a link's 'model' parameter has been applied
MODEL_LINK_NOTE = "sidebar.link_note"  # the note on a link's 'model' value that was ignored
PRESENTER = "shared.presenter"  # the sidebar's presenter-mode toggle
TRAINED_MODEL = "shared.trained_model"  # this session's own trained LoadedModel (never shared)
MEMO = "shared.memo"  # per-session memo of model outputs, see ui.memo

# Keyed widgets shared by several pages (ui.controls).
CONTROLS_CUTS = "controls.cuts"  # widget key -> Cut, for the note under a box that cut a paste

# Shareable views (ui.share).
SHARE_APPLIED = "share.applied"  # pages whose link parameters this session has applied
SHARE_NOTES = "share.notes"  # notes on a link's ignored values, for this run
SHARE_CURRENT = "share.current"  # a ShareView: what this run put in the link
SHARE_VIEW_MESSAGE = "share.view_message"  # a ViewMessage left by the view-file uploader's callback
SHARE_RESTART = "share.restart"  # the page on which this session said that the server restarted
SHARE_SESSION_STARTED = "share.session_started"
SHARE_RESTART_OK = "share.restart_ok"  # button that dismisses the restart note
SHARE_VIEW_UPLOAD = "share.view_upload"  # prefix: one view-file uploader per page ("share.view_upload.<page>")
SHARE_VIEW_DOWNLOAD = "share.view_download"  # prefix: one view-file download button per page

# Next-token page.
NT_PROMPT = "next_token.prompt"
NT_SAMPLE = "next_token.sample"  # the "Sample a token" button
NT_TOP_N = "next_token.top_n"
NT_TEMPERATURE = "next_token.temperature"
NT_TOP_K = "next_token.top_k"
NT_TOP_P = "next_token.top_p"
NT_SEED = "next_token.seed"
NT_LAST_SAMPLE = "next_token.last_sample"  # a LastSample
NT_COMPARE = ("next_token.compare_1", "next_token.compare_2", "next_token.compare_3")
NT_COMPARE_OPEN = "next_token.compare_open"  # the compare expander (open: its prompts run the model)
NT_TABLE_OPEN = "next_token.table_open"  # the candidates table expander (closed: no table is sent)
NT_TOY_TOKENS = "next_token.toy_tokens"
NT_TOY_LOGITS = "next_token.toy_logits"
NT_MODE = "next_token.mode"
NT_SAMPLER = "next_token.sampler"  # the client-side sampler (temperature, top-k, top-p, bars, numbers in the browser)

# Temperature page.
TEMP_PROMPT = "temperature.prompt"
TEMP_PRESET = "temperature.preset"  # toy example picker (its callback fills the toy boxes)
TEMP_DRAW_T = "temperature.draw_t"
TEMP_DRAW_SEED = "temperature.draw_seed"
TEMP_DRAW_N = "temperature.draw_n"
TEMP_SOURCE = "temperature.source"
TEMP_VALUE = "temperature.value"
TEMP_PANELS = "temperature.panels"
TEMP_TOP_N = "temperature.top_n"
TEMP_TOY_TOKENS = "temperature.toy_tokens"
TEMP_TOY_LOGITS = "temperature.toy_logits"
TEMP_SAMPLER = "temperature.sampler"  # the client-side sampler (temperature slider, bars, entropy curve)

DEFAULT_PROMPT = CAPITAL_PROMPT


def init_state() -> None:
    """Give every shared key its starting value (``setdefault``, so nothing is overwritten)."""
    st.session_state.setdefault(PROMPT, DEFAULT_PROMPT)
    st.session_state.setdefault(MODEL_ERROR, None)


def shared_value(key: str, default: Any = None) -> Any:
    """Read a shared session value."""
    return st.session_state.get(key, default)


# Tokenizer page.
TOK_PROMPT = "tokenizer.prompt"  # the text box (bound to the shared prompt)
TOK_SHOW_IDS = "tokenizer.show_ids"
TOK_OTHERS = "tokenizer.others"  # other models' tokenizers to compare (local cache only)
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
KV_SOURCE = "kv.source"  # where the architecture comes from (manual / preset / loaded model / Hub id)
KV_PRESET = "kv.preset"
KV_HUB_ID = "kv.hub_id"
KV_LAYERS = "kv.layers"
KV_HEADS = "kv.heads"
KV_KV_HEADS = "kv.kv_heads"
KV_HEAD_DIM = "kv.head_dim"
KV_WINDOW = "kv.window"
KV_PARAMS_B = "kv.params_b"  # parameters in billions, for the weights (manual entry)
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
ATT_HEAD = "attention.head"  # a head index, or None for the average over heads
ATT_HIDE_SINK = "attention.hide_sink"
ATT_METRIC = "attention.metric"
ATT_OVERVIEW = "attention.overview"  # the layers x heads chart (click a head to open it)
ATT_QUERY = "attention.query"
ATT_GRID = "attention.grid_show"
ATT_GEN_SHOW = "attention.generation_show"
ATT_GEN_TOKENS = "attention.generation_tokens"
ATT_EXPLORER = "attention.explorer"  # the in-page head heatmap and query bars (head and query picked there)

# Layer-by-layer (logit lens) page.
LENS_PROMPT = "lens.prompt"
LENS_EVERY_POSITION = "lens.every_position"
LENS_POSITION = "lens.position"

# Step-by-step generation page.
GEN_STEPPER = "generation.stepper"  # this session's core.generation.Stepper (owns its KV cache)
GEN_SETTINGS = "generation.settings"  # last widget values, restored after navigating away and back
GEN_MESSAGE = "generation.message"  # a Message left by a button callback for the next run
GEN_REPLAYED = "generation.replayed"  # True once a link's steps have been replayed
GEN_RUN_UPLOAD = "generation.run_upload"  # run-record uploader (its callback starts a fresh stepper)
GEN_PENDING_RECORD = "generation.pending_record"  # an uploaded run record waiting to be replayed on the new stepper
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
GEN_VIEW_OPEN = "generation.view_open"  # the "Candidates at an earlier step" expander
GEN_STEP_BUTTON = "generation.step"
GEN_RUN_BUTTON = "generation.run"
GEN_RUN_ALL_BUTTON = "generation.run_all"
GEN_RESET_BUTTON = "generation.reset"
GEN_STOP_BUTTON = "generation.stop"
GEN_REWIND_BUTTON = "generation.rewind"
GEN_PICK_BUTTON = "generation.pick"  # prefix: one button per candidate ("generation.pick.<i>")
GEN_BRANCH_BUTTON = "generation.branch"  # prefix: one button per abandoned continuation
GEN_JSON_DOWNLOAD = "generation.json"
GEN_CSV_DOWNLOAD = "generation.csv"
GEN_TIMELINE = "generation.timeline"  # the steps table under the charts

# Perplexity page.
PPL_TEXT = "perplexity.text"  # the text being scored
PPL_CUT = "perplexity.cut"  # button: keep the first max_perplexity_chars characters of a text over the limit
PPL_EXAMPLE = "perplexity.example"  # example picker (its callback fills PPL_TEXT)
PPL_UPLOAD = "perplexity.upload"  # .txt uploader (its callback fills PPL_TEXT)
PPL_MESSAGE = "perplexity.message"  # a Message (an upload error) left by the callback for the next run
PPL_ADD_BOS = "perplexity.add_bos"  # score the first token from the start token
PPL_WINDOW = "perplexity.window"  # sliding-window length in tokens
PPL_STRIDE = "perplexity.stride"  # tokens the window moves per step
PPL_SURPRISING_N = "perplexity.surprising_n"
PPL_TABS = "perplexity.tabs"  # the selected tab (only the open tab computes)
PPL_COMPARE_MODE = "perplexity.compare_mode"
PPL_COMPARE_TEXTS = ("perplexity.compare_1", "perplexity.compare_2", "perplexity.compare_3")
PPL_SECOND_MODEL = "perplexity.second_model"
PPL_MODEL_COMPARISON = "perplexity.model_comparison"  # a ModelComparison
PPL_SCORE_MODELS = "perplexity.score_models"  # button: score the text under both models
PPL_CSV_DOWNLOAD = "perplexity.csv"

# Train page.
TRAIN_SOURCE = "train.source"  # built-in corpus picker (its callback fills TRAIN_CORPUS)
TRAIN_CORPUS = "train.corpus"  # the corpus text being trained on (editable)
TRAIN_UPLOAD = "train.upload"  # .txt uploader (its callback fills TRAIN_CORPUS)
TRAIN_KIND = "train.tokenizer"  # "char" or "word"
TRAIN_LAYERS = "train.layers"
TRAIN_HEADS = "train.heads"
TRAIN_WIDTH = "train.width"
TRAIN_CONTEXT = "train.context"
TRAIN_LR = "train.learning_rate"
TRAIN_STEPS = "train.steps"
TRAIN_BATCH = "train.batch_size"
TRAIN_SEED = "train.seed"
TRAIN_TRAINER = "train.trainer"  # this session's core.training.Trainer (running or finished)
TRAIN_PUBLISHED = "train.published"  # run number of the trainer whose model joined the picker
TRAIN_RUNS = "train.runs"  # how many models this session has trained or uploaded (unique names)
TRAIN_SECONDS_USED = "train.seconds_used"  # training seconds this session has spent (per-session budget)
TRAIN_MESSAGE = "train.message"  # a TrainMessage left by a callback for the next run
TRAIN_MODEL_UPLOAD = "train.model_upload"  # uploaded model zip (its callback loads it)
TRAIN_START_BUTTON = "train.start"
TRAIN_STOP_BUTTON = "train.stop"
TRAIN_DOWNLOAD = "train.download"  # download button for the trained model's zip


# Typed records. Each is a small frozen dataclass with one accessor pair; a value of another type under the key
# (nothing stored yet, or a session from before an upgrade) reads as None.

Kind = Literal["info", "warning", "error", "success", "caption"]


@dataclass(frozen=True)
class Message:
    """Something to show on the next run (a refusal, an error, a note), shown inert by ``ui.notice.notice``.

    Attributes:
        kind: the Streamlit element: info, warning, error, success or caption.
        text: plain text as written (a file's name, a core error's sentence); never markdown.
    """

    kind: Kind
    text: str


@dataclass(frozen=True)
class ModelError:
    """A model the person asked for that could not be loaded (so the picker does not try it again every run)."""

    requested: str
    text: str  # the core ModelLoadError's sentence

    def message(self, active: str) -> Message:
        return Message("error", f"{self.text} Still using {active}.")


@dataclass(frozen=True)
class TrainMessage:
    """A message a Train-page callback left for one part of the page ("corpus", "train" or "model")."""

    where: str
    message: Message


@dataclass(frozen=True)
class TooLong:
    """A shared input too long for a link: its URL name and its encoded length."""

    param: str
    length: int


@dataclass(frozen=True)
class ShareView:
    """What this run's page shared: the page, its shareable fields (ui.share.Shared) and what a link cannot hold."""

    page: str
    fields: tuple = ()
    too_long: tuple[TooLong, ...] = ()


@dataclass(frozen=True)
class ViewMessage:
    """The outcome of loading a view file on ``page``: a message, then notes (already markdown-safe lines)."""

    page: str
    message: Message
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cut:
    """A paste cut to a box's limit: how many characters were given, and the text kept."""

    given: int
    kept: str


@dataclass(frozen=True)
class LastSample:
    """The token the Next-token page's sample button drew last."""

    token: str
    model_probability: float
    sampling_probability: float
    seed: int


@dataclass(frozen=True)
class ModelComparison:
    """The Perplexity page's "one text under two models": asked for (no result, no error yet), scored, or failed."""

    model: str
    text: str
    result: PerplexityResult | None = None
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.result is None and self.error is None


@dataclass(frozen=True)
class GenerationView:
    """What another page may read of the generation page's run: the token ids and where the prompt ends."""

    model_name: str
    ids: tuple[int, ...]
    prompt_len: int

    @property
    def generated(self) -> int:
        return len(self.ids) - self.prompt_len


def _typed(key: str, kind: type) -> Any:
    value = st.session_state.get(key)
    return value if isinstance(value, kind) else None


def _store(key: str, value: Any) -> None:
    st.session_state[key] = value


def model_error() -> ModelError | None:
    return _typed(MODEL_ERROR, ModelError)


def set_model_error(error: ModelError | None) -> None:
    _store(MODEL_ERROR, error)


def train_message() -> TrainMessage | None:
    return _typed(TRAIN_MESSAGE, TrainMessage)


def set_train_message(where: str, message: Message | None) -> None:
    _store(TRAIN_MESSAGE, None if message is None else TrainMessage(where, message))


def share_view() -> ShareView:
    return _typed(SHARE_CURRENT, ShareView) or ShareView("")


def set_share_view(view: ShareView) -> None:
    _store(SHARE_CURRENT, view)


def view_message() -> ViewMessage | None:
    return _typed(SHARE_VIEW_MESSAGE, ViewMessage)


def set_view_message(message: ViewMessage | None) -> None:
    _store(SHARE_VIEW_MESSAGE, message)


def cut(key: str) -> Cut | None:
    """The cut remembered for the text box ``key``, if any."""
    found = st.session_state.get(CONTROLS_CUTS, {}).get(key)
    return found if isinstance(found, Cut) else None


def set_cut(key: str, value: Cut) -> None:
    st.session_state.setdefault(CONTROLS_CUTS, {})[key] = value


def last_sample() -> LastSample | None:
    return _typed(NT_LAST_SAMPLE, LastSample)


def set_last_sample(sample: LastSample) -> None:
    _store(NT_LAST_SAMPLE, sample)


def model_comparison() -> ModelComparison | None:
    return _typed(PPL_MODEL_COMPARISON, ModelComparison)


def set_model_comparison(comparison: ModelComparison | None) -> None:
    _store(PPL_MODEL_COMPARISON, comparison)


def perplexity_message() -> Message | None:
    return _typed(PPL_MESSAGE, Message)


def set_perplexity_message(message: Message | None) -> None:
    _store(PPL_MESSAGE, message)


def take_generation_message() -> Message | None:
    """The message a generation callback left, removed so that it shows once."""
    value = st.session_state.pop(GEN_MESSAGE, None)
    return value if isinstance(value, Message) else None


def set_generation_message(message: Message) -> None:
    _store(GEN_MESSAGE, message)


def generation_for(model_name: str) -> GenerationView | None:
    """The generation page's run, when it is on ``model_name`` and has generated at least one token; else None."""
    stepper = st.session_state.get(GEN_STEPPER)
    if stepper is None or stepper.model_name != model_name:
        return None
    view = GenerationView(model_name, tuple(int(i) for i in stepper.all_ids), int(stepper.prompt_len))
    return view if view.generated > 0 else None


# Lesson presets
LESSON_BOX = "lessons.box"  # prefix: the keyed container of a page's preset buttons ("lessons.box.<page>")
LESSON_BUTTON = "lessons.button"  # prefix: one button per preset ("lessons.button.<page>.<i>")
LESSON_APPLIED = "lessons.applied"  # page -> (preset label, the session values it set): its note shows while they hold
LESSON_PENDING = "lessons.pending"  # (page, preset label): applied when that page next draws its Lesson examples row
GUIDED_LESSON = "guided.lesson"  # the guided lesson picked (a core/data/lessons file stem)
GUIDED_STEP = "guided.step"  # lesson key -> the step shown (0-based)
GUIDED_RESULTS = "guided.results"  # lesson key -> {step index: core.guided answer record (dict)}
GUIDED_ANSWER = "guided.answer"  # prefix: the answer box of one step ("guided.answer.<lesson>.<step>")
GUIDED_CHECK = "guided.check"  # prefix: the Check button of one step
GUIDED_OPEN = "guided.open"  # prefix: the "Open the page" button of one step
GUIDED_PREV, GUIDED_NEXT = "guided.previous", "guided.next"
GUIDED_NOTE = "guided.note"  # (lesson, step, message): why the last Check could not check
GUIDED_DOWNLOAD = "guided.download"  # the results file of every answer in this session
GUIDED_POLL = "guided.poll"  # the teacher's "Run this lesson as class-poll rounds" button
POLL_ROUND_PROMPTS = "poll.round_prompts"  # the prompts the teacher steps through as rounds (a guided lesson's)
# The next-token and temperature pages' two sources of logits: the model, or a toy vocabulary typed on the page.
REAL_LOGITS, TOY_LOGITS = "Real model", "Toy vocabulary"


# Generation tree
TREE_STATE = "tree.tree"  # this session's core.generation_tree.GenerationTree (owns its prompt's KV cache)
TREE_PROMPT = "tree.prompt"
TREE_CHILDREN = "tree.children"  # children shown per expanded node
TREE_WIDTH = "tree.beam_width"
TREE_DEPTH = "tree.depth"  # tokens compared (and the beam's last step)
TREE_STEPS = "tree.steps"  # beam steps taken (not a widget: the buttons change it; in the link)
TREE_OPEN = "tree.open"  # nodes expanded by hand, as core.generation_tree.format_paths text (in the link)
TREE_TEMPERATURE = "tree.temperature"
TREE_TOP_K = "tree.top_k"
TREE_TOP_P = "tree.top_p"
TREE_SEED = "tree.seed"
TREE_PICK = "tree.pick"  # the node to expand
TREE_EXPAND_BUTTON = "tree.expand"
TREE_STEP_BUTTON = "tree.step"
TREE_RUN_BUTTON = "tree.run"
TREE_RESET_BUTTON = "tree.reset"
TREE_MESSAGE = "tree.message"  # plain-text notes left by a callback or a link for the next run

# Class poll
POLL_ROLE = "poll.role"  # radio: run a poll (teacher) or join one (student)
POLL_PROMPT = "poll.prompt"  # the teacher's prompt for the first round
POLL_START = "poll.start"
POLL_ROOM = "poll.room"  # a core.serving.rooms.TeacherKey: this session's room and its secret teacher token
POLL_SHOW_MODEL = "poll.show_model"  # toggle: show the model's numbers before the reveal
POLL_REVEAL = "poll.reveal"
POLL_NEXT_PROMPT = "poll.next_prompt"
POLL_NEXT = "poll.next"
POLL_CSV = "poll.csv"
POLL_CLOSE = "poll.close"
POLL_MESSAGE = "poll.message"  # a Message left by a teacher's button callback for the next run
POLL_LIVE = "poll.live"  # the teacher's live histogram chart
POLL_JOIN_CODE = "poll.join_code"  # the code box of a student who has no link
POLL_JOIN = "poll.join"
POLL_STUDENT_ID = "poll.student_id"  # this session's anonymous id in rooms (never shown, never in a link)
POLL_GUESS_FORM = "poll.guess_form"
POLL_GUESS = "poll.guess"
POLL_SUBMIT = "poll.submit"
POLL_SEEN = "poll.seen"  # (round, revealed, closed) the student's page last drew; the live check reruns on a change
POLL_STUDENT_CHART = "poll.student_chart"
POLL_EXPIRES_AT = "poll.expires_at"  # Unix time the teacher's room expires, as last read (tells "expired" from "lost")
POLL_COOKIE_TRIED = "poll.cookie_tried"  # this session has looked for the host cookie once
POLL_HOST_LINK = "poll.host_link"  # popover with the teacher's private host link
POLL_LOCK = "poll.lock"  # button: stop taking guesses for this round
POLL_TIMER = "poll.timer"  # button: the round timer (guesses lock ROUND_TIMER_SECONDS later)
POLL_LESSON_NEXT = "poll.lesson_next"  # button: the next round with the next lesson prompt
POLL_HIDE_PICK = "poll.hide_pick"  # select: a guess to remove from the chart
POLL_HIDE = "poll.hide"
POLL_UNHIDE = "poll.unhide"
POLL_MOVE = "poll.move"  # button: the room moves to a new code
POLL_CLOSING = "poll.closing"  # True while the teacher confirms "Close the room"
POLL_CLOSE_YES = "poll.close_yes"
POLL_CLOSE_NO = "poll.close_no"
POLL_RESULTS = "poll.results"  # (code, CSV text) of the room this session closed, still downloadable
POLL_RESULTS_CSV = "poll.results_csv"
POLL_PROJECTOR = "poll.projector"  # toggle: the teacher's projector view (join banner beside the live chart)
POLL_ONLY = "poll.only"  # toggle: the student link opens the poll without the page menu
POLL_OPENED = "poll.opened"  # frozenset of room codes this student session has found (lookups after are not limited)
POLL_JOINED = "poll.joined"  # frozenset of room codes this student session counts as a student of
PF_EXAMPLE = "predict_first.example"  # lesson text picker (its callback fills PF_TEXT)
PF_TEXT = "predict_first.text"
PF_GUESS_FORM = "predict_first.guess_form"
PF_GUESS = "predict_first.guess"
PF_SUBMIT = "predict_first.submit"
PF_SCORES = "predict_first.scores"  # (text, tuple of core.poll.PredictionScore) guessed so far
PF_RESTART = "predict_first.restart"


# Embeddings
EMB_WORD = "embeddings.word"  # the word or token whose neighbours are shown
EMB_SPACE = "embeddings.leading_space"  # read words with a leading space (as inside a sentence)
EMB_TOKEN = "embeddings.token"  # which of the word's tokens (a position in its tokenisation)
EMB_K = "embeddings.k"  # neighbours shown
EMB_SET = "embeddings.word_set"  # a ready word set for the map, or your own words
EMB_WORDS = "embeddings.words"  # your own comma-separated words
EMB_HOW = "embeddings.how"  # a word of several tokens: "first" or "mean"
EMB_ANALOGY = ("embeddings.analogy_a", "embeddings.analogy_b", "embeddings.analogy_c")  # a - b + c
EMB_SCORE_OPEN = "embeddings.score_open"  # the expander with the measured classic analogies


# Pipeline
PIPE_PROMPT = "pipeline.prompt"  # the text box (bound to the shared prompt)
PIPE_TEMPERATURE = "pipeline.temperature"
PIPE_TOP_K = "pipeline.top_k"
PIPE_TOP_P = "pipeline.top_p"
PIPE_SEED = "pipeline.seed"
PIPE_DIAGRAM = "pipeline.diagram"  # the architecture diagram's plotly selection (a click on a part)
PIPE_PART = "pipeline.part"  # the part of the diagram being explained (a core.architecture.PART_KEYS name)
PIPE_OPEN = "pipeline.open_part_page"  # the button that opens the part's detailed page with this prompt


# Trained model defaults
DEFAULTS_MODEL = "defaults.model"  # name of the model the prompts were last fitted to (ui.model_defaults)
DEFAULTS_REPLACED = "defaults.replaced"  # key -> (value before, value put in): prompts swapped for a model's own
DEFAULTS_TEXTS = "defaults.texts"  # the core.model_defaults.ModelTexts of that model (its untouched defaults)
PPL_WINDOW_MODEL = "perplexity.window_model"  # the model the window and stride were set for
TRAIN_ATT_LAYER = "train.attention_layer"
TRAIN_ATT_HEAD = "train.attention_head"  # a head index, or None for the average over heads (seed 003)


# Remote backend
REMOTE_USE_LOCAL = "remote.use_local"  # button on a page that needs the weights: switch the picker to the local model
REMOTE_GEN_PROMPT = "remote.gen_prompt"
REMOTE_GEN_STEPS = "remote.gen_steps"
REMOTE_GEN_TOP_N = "remote.gen_top_n"
REMOTE_GEN_TEMPERATURE = "remote.gen_temperature"
REMOTE_GEN_TOP_K = "remote.gen_top_k"
REMOTE_GEN_TOP_P = "remote.gen_top_p"
REMOTE_GEN_SEED = "remote.gen_seed"
REMOTE_GEN_RUN = "remote.gen_run"
REMOTE_GENERATION = "remote.generation"  # the last core.serving.backend.Generation the server returned
REMOTE_PPL_TEXT = "remote.ppl_text"
REMOTE_PPL_RUN = "remote.ppl_run"

# The prompt box of each page that has one, by page stem: a link from another page opens it on the shared prompt.
PAGE_PROMPT = {
    "next_token": NT_PROMPT,
    "temperature": TEMP_PROMPT,
    "attention": ATT_PROMPT,
    "logit_lens": LENS_PROMPT,
    "generation": GEN_PROMPT,
    "tokenizer": TOK_PROMPT,
    "pipeline": PIPE_PROMPT,
    "generation_tree": TREE_PROMPT,
}

# What a guided lesson's "state" step reads of a page: its inputs by the names core.guided uses, each a state key
# (the values stay in session state when the student comes back to the lessons page).
CHECKED_INPUTS = {
    "temperature": {"prompt": TEMP_PROMPT, "temperature": TEMP_VALUE, "mode": TEMP_SOURCE},
    "next_token": {
        "prompt": NT_PROMPT,
        "temperature": NT_TEMPERATURE,
        "top_k": NT_TOP_K,
        "top_p": NT_TOP_P,
        "mode": NT_MODE,
    },
}

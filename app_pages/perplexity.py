"""Perplexity: score a text with teacher forcing and see how surprised the model is by each token."""

import streamlit as st

from components.inert import inert_markdown
from components.perplexity import INTRO, STRIDE_NOTE, comparison_figure, comparison_table, metric_rows, surprisal_chips
from core.models import DEFAULT_MODEL, ModelLoadError
from core.perplexity import DEFAULT_MAX_LENGTH, PerplexityError, TextTooLong, decode_text_file, perplexity
from core.perplexity_examples import EXAMPLES, FLUENT, RANDOM_CHARACTERS, SHUFFLED
from ui import state
from ui.charts import show_chart
from ui.inference import shared_perplexity_hook
from ui.lessons import lesson_presets
from ui.memo import session_memo
from ui.model_picker import PRESETS, TRAINED_LABEL, current_model, load
from ui.notice import notice
from ui.perplexity import teacher_forcing_tab, token_by_token_tab
from ui.settings import limits, raise_hint
from ui.share import Shared, copy_link_control, share_inputs

TOP_PREDICTIONS = 5
TEXTS, MODELS = "Up to three texts", "One text under two models"


def use_example():
    st.session_state[state.PPL_TEXT] = EXAMPLES[st.session_state[state.PPL_EXAMPLE]]


def use_upload():
    upload = st.session_state.get(state.PPL_UPLOAD)
    if upload is None:
        return
    try:
        st.session_state[state.PPL_TEXT] = decode_text_file(upload.getvalue(), limits().max_perplexity_chars)
        state.set_perplexity_message(None)
    except PerplexityError as error:
        state.set_perplexity_message(state.Message("error", f"{upload.name}: {error}"))


def request_comparison(name, text):
    """Button callback: ask for the second model's score (computed in the script run, with its progress bar)."""
    state.set_model_comparison(state.ModelComparison(name, text))


def score(lm, text, add_bos, window, stride, label="the text"):
    """core.perplexity, memoised per session, with a progress bar while the windows run."""
    max_chars = limits().max_perplexity_chars  # this server's limit: a longer text is refused before any scoring

    def compute():
        bar = st.progress(0.0, text=f"Scoring {label}…")
        try:
            return perplexity(
                lm,
                text,
                stride=stride,
                max_length=window,
                add_bos=add_bos,
                top_predictions=TOP_PREDICTIONS,
                max_chars=max_chars,
                progress=lambda f: bar.progress(f, text=f"Scoring {label}: {f:.0%} of the windows"),
                score_windows=shared_perplexity_hook(lm),  # the windows as queued jobs on the shared worker
            )
        finally:
            bar.empty()

    key = (lm.name, id(lm.model), text, add_bos, window, stride)
    try:
        return session_memo("perplexity", key, compute, max_entries=8)
    except TextTooLong as error:
        raise PerplexityError(f"{error} {raise_hint('max_perplexity_chars')}") from None


def keep_compare_inputs():
    """The Compare tab's inputs keep their values while another tab is open (its widgets are not drawn then)."""
    for key, default in zip(state.PPL_COMPARE_TEXTS, (FLUENT, SHUFFLED, RANDOM_CHARACTERS)):
        st.session_state[key] = st.session_state.get(key, default)
    for key in (state.PPL_COMPARE_MODE, state.PPL_SECOND_MODEL):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def compare_tab(lm, text, result, add_bos, window, stride):
    """The Compare tab: up to three texts under this model, or this text under a second model."""
    mode = st.radio("Compare", [TEXTS, MODELS], horizontal=True, key=state.PPL_COMPARE_MODE)
    if mode == TEXTS:
        columns, labels, results = st.columns(3), [], []
        for i, (column, key) in enumerate(zip(columns, state.PPL_COMPARE_TEXTS), start=1):
            other = column.text_area(f"Text {i}", key=key, height=120)
            try:
                scored = score(lm, other, add_bos, window, stride, label=f"text {i}")
            except PerplexityError as error:
                notice(error, "info", column)
                continue
            column.metric("Perplexity", f"{scored.perplexity:,.1f}")
            column.html(surprisal_chips(scored, limit=200))
            labels.append(f"Text {i}")
            results.append(scored)
        if results:
            show_chart(comparison_figure(labels, results), "perplexity.compare_texts")
            st.caption(
                "Random characters split into many short tokens, so their per-token perplexity can look "
                "modest; bits per byte counts the loss per byte of text and shows how surprising they are."
            )
    else:
        st.caption(
            "Per-token perplexity depends on the tokenizer; bits per byte and word perplexity do not, "
            "so compare those across models. Models other than the bundled one need the network."
        )
        choices = [name for name in PRESETS if name != lm.name]
        trained_in_use = state.shared_value(state.MODEL_NAME) == TRAINED_LABEL
        if st.session_state.get(state.TRAINED_MODEL) is not None and not trained_in_use:
            choices.insert(0, TRAINED_LABEL)
        second_name = st.selectbox("Second model", choices, key=state.PPL_SECOND_MODEL)
        st.button(
            "Score the text under both models",
            key=state.PPL_SCORE_MODELS,
            type="primary",
            on_click=request_comparison,
            args=(second_name, text),
        )
        saved = state.model_comparison()
        if saved and saved.text == text and saved.pending:
            try:
                second = st.session_state[state.TRAINED_MODEL] if saved.model == TRAINED_LABEL else load(saved.model)
                scored = score(
                    second,
                    text,
                    add_bos,
                    min(window, second.context_length),
                    min(stride, second.context_length),
                    label=saved.model,
                )
                outcome = state.ModelComparison(saved.model, text, result=scored)
            except (ModelLoadError, PerplexityError) as error:
                outcome = state.ModelComparison(saved.model, text, error=str(error))
            state.set_model_comparison(outcome)
        saved = state.model_comparison()
        if saved and saved.text == text and saved.error is not None:
            notice(f"Could not score with {saved.model}: {saved.error}", "error")
        elif saved and saved.text == text and saved.result is not None:
            pair = [result, saved.result]
            show_chart(comparison_figure([r.model_name for r in pair], pair), "perplexity.compare_models")
            st.dataframe(comparison_table(pair), hide_index=True)


st.title("Perplexity")
st.caption(INTRO)
lesson_presets("perplexity")
SHARED = [
    Shared(state.PPL_TEXT, "text", max_chars=4000, limit=limits().max_perplexity_chars),
    Shared(state.PPL_ADD_BOS, "bos", "bool"),
    Shared(state.PPL_WINDOW, "window", "int", 2, 2048),
    Shared(state.PPL_STRIDE, "stride", "int", 1, 2048),
]
share_inputs(SHARED, "perplexity")
copy_link_control()
lm = current_model()
st.session_state.setdefault(state.PPL_TEXT, FLUENT)

left, right = st.columns(2)
left.selectbox(
    "Example text",
    list(EXAMPLES),
    key=state.PPL_EXAMPLE,
    on_change=use_example,
    help="Written for this app. Watch perplexity rise from fluent text to shuffled words to noise.",
)
right.file_uploader("…or upload a .txt file (UTF-8)", type=["txt"], key=state.PPL_UPLOAD, on_change=use_upload)
if upload_message := state.perplexity_message():
    notice(upload_message)
text = st.text_area("Text to score", key=state.PPL_TEXT, height=140)
st.caption(
    f"This server scores texts of up to {limits().max_perplexity_chars:,} characters.",
    help=raise_hint("max_perplexity_chars"),
)

context = lm.context_length
st.session_state.setdefault(state.PPL_ADD_BOS, True)
st.session_state[state.PPL_WINDOW] = min(st.session_state.get(state.PPL_WINDOW, DEFAULT_MAX_LENGTH), context, 2048)
st.session_state[state.PPL_STRIDE] = min(
    st.session_state.get(state.PPL_STRIDE, DEFAULT_MAX_LENGTH // 2), st.session_state[state.PPL_WINDOW]
)
a, b, c = st.columns(3)
add_bos = a.toggle(
    "Score the first token from a start token",
    key=state.PPL_ADD_BOS,
    help="On: the model first reads a start-of-text token, so the first token gets a prediction too. "
    "Off: scoring starts at the second token (the first has nothing before it).",
)
window = int(
    b.number_input("Window (tokens)", min_value=2, max_value=min(context, 2048), step=64, key=state.PPL_WINDOW)
)
stride = int(c.number_input("Stride (tokens)", min_value=1, max_value=window, step=32, key=state.PPL_STRIDE))
st.caption(STRIDE_NOTE)

try:
    result = score(lm, text, add_bos, window, stride)
except PerplexityError as error:
    notice(error)
    st.stop()

rows = metric_rows(result)
for column, (label, value, help_text) in zip(st.columns(3) + st.columns(3), rows):
    column.metric(label, value, help=help_text)
if result.start_token:
    note = (
        " SmolLM2 was trained on documents that each follow this separator; its tokenizer's nominal BOS, "
        f"{inert_markdown('<|im_start|>')}, opens a chat turn and is followed by a role name, a poor start for plain "
        "text."
        if lm.name == DEFAULT_MODEL
        else ""
    )
    st.caption(f"Start token: {inert_markdown(result.start_token)}.{note}")
if result.windows > 1:
    st.caption(f"{result.windows} windows of up to {result.max_length:,} tokens, stride {result.stride:,}.")

keep_compare_inputs()
# The Compare tab runs only while it is open (on_change="rerun" tracks the open tab): it scores three more texts,
# so a first visit that never opens it costs one scoring, not three. The other two tabs read this text's result.
tab_tokens, tab_teacher, tab_compare = st.tabs(
    ["Token by token", "Teacher forcing", "Compare"], key=state.PPL_TABS, on_change="rerun"
)
with tab_tokens:
    token_by_token_tab(result)

with tab_teacher:
    teacher_forcing_tab(result)

if tab_compare.open:
    with tab_compare:
        compare_tab(lm, text, result, add_bos, window, stride)

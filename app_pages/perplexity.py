"""Perplexity: score a text with teacher forcing and see how surprised the model is by each token."""

import streamlit as st

from components.inert import inert_markdown
from components.perplexity import INTRO
from core.models import DEFAULT_MODEL
from core.perplexity import PerplexityError, decode_text_file
from ui import state
from ui.backend import remote_page
from ui.lessons import lesson_presets
from ui.model_defaults import texts
from ui.model_picker import current_model
from ui.notice import notice
from ui.settings import limits, raise_hint
from ui.share import copy_link_control, share_inputs
from views.perplexity import (
    compare_tab,
    cut_to_limit,
    keep_compare_inputs,
    remote_view,
    score,
    shared_fields,
    show_metrics,
    stride_note,
    teacher_forcing_tab,
    token_by_token_tab,
    window_controls,
)


def use_example(examples):
    st.session_state[state.PPL_TEXT] = examples[st.session_state[state.PPL_EXAMPLE]]


def use_upload():
    upload = st.session_state.get(state.PPL_UPLOAD)
    if upload is None:
        return
    try:
        st.session_state[state.PPL_TEXT] = decode_text_file(upload.getvalue(), limits().max_perplexity_chars)
        state.set_perplexity_message(None)
    except PerplexityError as error:
        state.set_perplexity_message(state.Message("error", f"{upload.name}: {error}"))


remote_page(remote_view)  # the operator's model server: prompt log-probabilities (views/perplexity.py)
st.title("Perplexity")
st.caption(INTRO)
lesson_presets("perplexity")
SHARED = shared_fields()
share_inputs(SHARED, "perplexity")
copy_link_control()
lm = current_model()
own = texts(lm)  # the lessons' texts, or a trained model's own corpus (no character outside its vocabulary)
st.session_state.setdefault(state.PPL_TEXT, next(iter(own.examples.values())))
if st.session_state.get(state.PPL_EXAMPLE) not in own.examples:
    st.session_state.pop(state.PPL_EXAMPLE, None)  # another model's example list

left, right = st.columns(2)
left.selectbox(
    "Example text",
    list(own.examples),
    key=state.PPL_EXAMPLE,
    on_change=use_example,
    args=(own.examples,),
    help=("From your model's own corpus." if own.source == "corpus" else "Written for this app.")
    + " Watch perplexity rise from fluent text to shuffled words to noise.",
)
right.file_uploader("…or upload a .txt file (UTF-8)", type=["txt"], key=state.PPL_UPLOAD, on_change=use_upload)
if upload_message := state.perplexity_message():
    notice(upload_message)
text = st.text_area("Text to score", key=state.PPL_TEXT, height=140)
st.caption(
    f"This server scores texts of up to {limits().max_perplexity_chars:,} characters. One scoring feeds the model at "
    f"most {limits().max_perplexity_tokens:,} tokens (the windows' lengths added up); a stride that would feed it "
    "more is raised to fit.",
    help=raise_hint("max_perplexity_chars") + " " + raise_hint("max_perplexity_tokens"),
)

add_bos, window, stride = window_controls(lm)

try:
    result = score(lm, text, add_bos, window, stride)
except PerplexityError as error:
    notice(error)
    if len(text) > limits().max_perplexity_chars:  # offer the part this server scores rather than only refusing
        st.button(
            f"Score its first {limits().max_perplexity_chars:,} characters",
            key=state.PPL_CUT,
            on_click=cut_to_limit,
            type="primary",
        )
    st.stop()

if raised := stride_note(result):
    notice(raised, "info")
show_metrics(result, per_character=lm.extras.get("tokenizer_kind") == "char")
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

keep_compare_inputs(own.examples)
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

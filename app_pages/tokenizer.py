"""Tokenizer: how text becomes token ids (seed 004), compared across tokenizers, a BPE trained here, the chat
template."""

import streamlit as st

from core.tokens import TokenizerError, token_view
from ui import state
from ui.controls import prompt_area
from ui.lessons import lesson_presets
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import copy_link_control, share_inputs
from views.tokenizer import SHARED, chat_panel, compare_panel, tokens_panel, train_panel, vocab_panel

st.title("Tokenizer: text in, token ids out")
st.caption(
    "The model never sees letters or words: it sees token ids. A byte-level BPE tokenizer cuts text into "
    "pieces from its vocabulary; in English one token is about four characters. Spaces (␣), line breaks (↵) "
    "and invisible characters are shown; special tokens are dark."
)
lesson_presets("tokenizer")
share_inputs(SHARED, "tokenizer")
copy_link_control()
lm = current_model()
text = prompt_area(state.TOK_PROMPT, label="Text to tokenize")
try:
    view = token_view(lm.tokenizer, text)
except TokenizerError as error:
    notice(error)
    st.stop()

tokens_tab, compare_tab, train_tab, chat_tab, vocab_tab = st.tabs(
    ["Tokens", "Compare tokenizers", "Train your own BPE", "Chat template", "Vocabulary sizes"]
)
with tokens_tab:
    tokens_panel(lm, text, view)
with train_tab:  # before the comparison, which offers the trained BPE
    bpe = train_panel(text)
with compare_tab:
    compare_panel(lm, text, bpe)
with chat_tab:
    chat_panel(lm)
with vocab_tab:
    vocab_panel(lm, bpe)

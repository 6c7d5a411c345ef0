"""Embeddings: a token id picks a row of the embedding matrix; that row's nearest tokens, a 2-D map of words (PCA),
and whether analogies (king - man + woman) work on this model."""

import streamlit as st

from components.embeddings import EXPLAIN, MAP_EXPLAIN, model_sentence
from core.embeddings import embedding_matrix, tied_embeddings
from ui import state
from ui.model_picker import current_model
from ui.share import copy_link_control, share_inputs
from views.embeddings import analogy_panel, map_panel, neighbours_panel, shared_inputs, word_sets

DEFAULTS = {state.EMB_WORD: "king", state.EMB_SPACE: True, state.EMB_K: 10}
DEFAULTS |= {state.EMB_WORDS: "cat, dog, Paris, London, red, blue, happy, sad", state.EMB_HOW: "first"}
DEFAULTS |= dict(zip(state.EMB_ANALOGY, ("king", "man", "woman"), strict=True))
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)

lm = current_model()
sets, char_model = word_sets(lm)
SHARED = shared_inputs(sets)

st.title("Embeddings")
share_inputs(SHARED, "embeddings")
copy_link_control()
vocab, d = embedding_matrix(lm).shape
tied = tied_embeddings(lm)
st.markdown(EXPLAIN)
st.markdown(model_sentence(vocab, d, tied))
space = st.toggle(
    "Read words with a space before them, as inside a sentence",
    key=state.EMB_SPACE,
    help="' Paris' (with its space) and 'Paris' are different tokens with different rows.",
)

st.subheader("Nearest tokens")
neighbours_panel(lm, space, vocab, tied)

st.subheader("A map of words")
st.markdown(MAP_EXPLAIN.format(d=d))
how = map_panel(lm, sets, char_model, space, d)

st.subheader("Analogies: a − b + c")
analogy_panel(lm, how, space)

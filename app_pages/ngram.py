"""N-gram model: next-token prediction from counts (seed 001), smoothing, generation, and perplexity beside the
neural model's."""

import streamlit as st

from core.lessons import NEXT_TOKEN_LESSON, WAREHOUSE_EXAMPLE
from core.ngram import MAX_CORPUS_CHARS, CorpusError, corpus_notes, count_ngrams, split_corpus
from ui import state
from ui.lessons import lesson_presets
from ui.notice import notice
from ui.share import copy_link_control, share_inputs
from views.ngram import DEFAULT_CORPUS, K_RANGE, NAMES, SHARED, distribution_panel, generation_panel, perplexity_panel

st.title("N-gram model: next-token prediction from counts")
st.caption(
    "The smallest language model is a table of counts. An n-gram model predicts the next word from the "
    "previous n − 1 words: P(next | context) = count(context, next) / count(context). Each sentence is padded "
    f"with <bos> at the start and <eos> at the end, as in {NEXT_TOKEN_LESSON}. The default corpus is "
    f"{WAREHOUSE_EXAMPLE}'s six tracking messages."
)
lesson_presets("ngram")

share_inputs(SHARED, "ngram")
copy_link_control()
left, right = st.columns([3, 2])
st.session_state.setdefault(state.NGRAM_CORPUS, DEFAULT_CORPUS)
corpus = left.text_area(
    "Corpus (one sentence per line)",
    height=170,
    key=state.NGRAM_CORPUS,
    help=f"Words are split on spaces. Up to {MAX_CORPUS_CHARS:,} characters.",
)
for key, default in ((state.NGRAM_N, 2), (state.NGRAM_SMOOTH, False), (state.NGRAM_K, 1.0)):
    st.session_state.setdefault(key, default)  # in state, not the widgets: a lesson button or a link may set them
n = right.select_slider(
    "n (context = the previous n − 1 words)",
    [1, 2, 3, 4],
    key=state.NGRAM_N,
    format_func=lambda v: f"{v} ({NAMES[v]})",
)
smooth = right.toggle(
    "Add-k smoothing",
    key=state.NGRAM_SMOOTH,
    help="Add k to every count, so unseen continuations get a little probability.",
)
k = right.number_input("k", *K_RANGE, step=0.1, key=state.NGRAM_K) if smooth else 0.0

try:
    model = count_ngrams(split_corpus(corpus), n)
except CorpusError as error:
    notice(error)
    st.stop()
for note in corpus_notes(model):
    st.warning(note)

a, b, c, d = st.columns(4)
a.metric("Sentences", len(model.sentences))
b.metric("Words", sum(len(s) for s in model.sentences))
V = len(model.vocab)
c.metric("Vocabulary V", f"{V} tokens", help="Distinct words, plus <eos> and <unk> (any unseen word).")
d.metric("Contexts seen", len(model.counts), help=f"Distinct {n - 1}-word contexts (after <bos> padding).")

st.caption(
    f"V = {V - 2} words + \\<eos\\> + \\<unk\\> = {V}"  # plain text: code in a caption is too faint (axe)
    + (f": add-k smoothing divides by (count of the context + {k:g} × {V})." if smooth else ".")
)
distribution_panel(model, smooth, k)
generation_panel(model, k)
perplexity_panel(model, n, smooth, k)

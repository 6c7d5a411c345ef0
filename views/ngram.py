"""The n-gram page's Streamlit parts: its shared inputs, P(next | context) for a chosen context, generation from
the counts, and the held-out sentence's perplexity beside the neural model's."""

from __future__ import annotations

import math

import streamlit as st

from components.inert import inert_markdown
from components.ngram import (
    context_label,
    count_table,
    distribution_markdown,
    generated_markdown,
    ngram_bars,
    perplexity_chart,
    score_table,
)
from core.lessons import NEXT_TOKEN_LESSON
from core.ngram import (
    MAX_CORPUS_CHARS,
    CorpusError,
    NGramModel,
    generate,
    neural_perplexity,
    score_sentence,
    split_sentence,
    start_words,
)
from core.seed_examples import TRACKING_MESSAGES
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import SEED_RANGE, limited_text
from ui.memo import session_memo
from ui.model_picker import current_model
from ui.notice import notice
from ui.share import Shared

DEFAULT_CORPUS = "\n".join(TRACKING_MESSAGES)
DEFAULT_HELDOUT = "order left warehouse"
GREEDY, SAMPLED = "Greedy (most likely word)", "Sampled (seeded)"
K_RANGE = (0.01, 10.0)  # add-k smoothing's k: the box's and the link's range
MAX_WORDS_RANGE = (1, 100)  # words one generation adds
NAMES = {1: "unigram", 2: "bigram", 3: "trigram", 4: "4-gram"}

SHARED = [
    Shared(state.NGRAM_CORPUS, "corpus", max_chars=4000, limit=MAX_CORPUS_CHARS),
    Shared(state.NGRAM_N, "n", "choice", choices=(1, 2, 3, 4)),
    Shared(state.NGRAM_SMOOTH, "smooth", "bool"),
    Shared(state.NGRAM_K, "k", "float", *K_RANGE),
    Shared(state.NGRAM_SEED, "seed", "int", *SEED_RANGE),
    Shared(state.NGRAM_MAX_WORDS, "max_words", "int", *MAX_WORDS_RANGE),
    Shared(state.NGRAM_START, "start", max_chars=200),
    Shared(state.NGRAM_HELDOUT, "heldout", max_chars=500),
]


def distribution_panel(model: NGramModel, smooth: bool, k: float) -> None:
    """The context selector (seen contexts, most frequent first), the P(next | context) bars with the add-k bars
    beside them when smoothing is on, each probability as a fraction of counts, and the count table."""
    st.subheader("P(next | context)")
    contexts = [ctx for ctx, _ in model.contexts()]
    labels = [context_label(ctx) for ctx in contexts]
    if st.session_state.get(state.NGRAM_CONTEXT) not in labels:
        st.session_state[state.NGRAM_CONTEXT] = "left" if "left" in labels else labels[0]
    chosen = st.selectbox(
        "Context (the previous words)",
        labels,
        key=state.NGRAM_CONTEXT,
        help="Only contexts seen in the corpus are listed, most frequent first.",
    )
    context = contexts[labels.index(chosen)]
    raw = model.distribution(context)
    smoothed = model.distribution(context, k) if smooth else None
    show_chart(ngram_bars(raw, smoothed), "ngram.bars")
    st.markdown(distribution_markdown(raw, chosen))
    if smoothed is not None:
        st.caption(
            f"Add-{k:g}: (count + {k:g}) / ({raw.total} + {k:g} × {len(model.vocab)}). A word this context never "
            f"led to now gets {smoothed.prob('<unk>'):.3f} instead of 0, and the seen ones give up a little. "
            f"The bars still sum to {smoothed.probs.sum():.3f}."
        )
    else:
        st.caption(
            "A continuation this context never led to gets probability exactly 0: the table cannot share what it "
            "learned about similar contexts. Switch on add-k smoothing to see the difference."
        )
    with st.expander(f"Count table ({len(model.table())} rows)", expanded=False):
        show_table(count_table(model), hide_index=True)


def generation_panel(model: NGramModel, k: float) -> None:
    """Decoding, seed, max words and start words, then the sentence the counts generate (greedy or seeded
    sampling), with a note when the start context was never seen."""
    st.subheader("Generate from the counts")
    g1, g2, g3 = st.columns([2, 1, 1])
    decoding = g1.radio("Decoding", [GREEDY, SAMPLED], horizontal=True, key=state.NGRAM_DECODING)
    st.session_state.setdefault(state.NGRAM_SEED, 0)
    seed = g2.number_input("Seed", *SEED_RANGE, step=1, key=state.NGRAM_SEED, disabled=decoding == GREEDY)
    st.session_state.setdefault(state.NGRAM_MAX_WORDS, 20)
    max_words = g3.number_input("Max words", *MAX_WORDS_RANGE, step=1, key=state.NGRAM_MAX_WORDS)
    start_text = limited_text("Start with these words (optional)", state.NGRAM_START, 200, area=False, value="")
    try:
        start = start_words(start_text)
    except CorpusError as error:  # a control character, or nothing visible: generate from the start of a sentence
        notice(error)
        start, start_text = [], ""
    words = generate(model, start=start, k=k, greedy=decoding == GREEDY, seed=int(seed), max_words=int(max_words))
    st.markdown(generated_markdown(start_text, words))
    if not words:
        st.info(
            "The model has never seen this context, so without smoothing it has nothing to predict. "
            "Switch on smoothing or change the start words."
        )
    st.caption(
        "Greedy always takes the most likely word (ties: the one seen first). Sampling draws with NumPy's "
        f"default_rng(seed), as {NEXT_TOKEN_LESSON}'s sampler does: the same seed gives the same sentence."
    )


def perplexity_panel(model: NGramModel, n: int, smooth: bool, k: float) -> None:
    """A held-out sentence scored by the counts and by the neural model (memoised per model and words): the
    perplexity chart, the per-word and per-token metrics, the words given probability 0, and the word-by-word
    table. A sentence with no words shows a message and stops the page."""
    st.subheader("Perplexity on a held-out sentence: counts vs the neural model")
    heldout = limited_text("Held-out sentence", state.NGRAM_HELDOUT, 500, area=False, value=DEFAULT_HELDOUT)
    try:
        held_words = split_sentence(heldout)
    except CorpusError as error:
        notice(error)
        st.stop()
    score = score_sentence(model, held_words, k, include_eos=False)
    lm = current_model()
    with st.spinner("Scoring the sentence with the neural model…"):
        neural = session_memo("ngram.neural", (lm.name, " ".join(held_words)), lambda: neural_perplexity(lm, heldout))
    entries = [
        (f"{NAMES[n]} (counts{', add-' + format(k, 'g') if smooth else ''})", score.perplexity),
        (f"{lm.name.split('/')[-1]} (neural)", neural.word_perplexity),
    ]
    show_chart(perplexity_chart(entries), "ngram.perplexity")
    p1, p2, p3 = st.columns(3)
    p1.metric(
        f"{NAMES[n].capitalize()} perplexity per word",
        "∞" if math.isinf(score.perplexity) else f"{score.perplexity:.2f}",
    )
    p2.metric("Neural perplexity per word", f"{neural.word_perplexity:,.2f}")
    p3.metric(
        "Neural perplexity per token",
        f"{neural.perplexity:,.2f}",
        help=f"{len(neural.token_ids)} tokens for {neural.words} words.",
    )
    if score.zero_tokens:
        st.warning(
            f"The {NAMES[n]} gave probability 0 to: {inert_markdown(', '.join(score.zero_tokens))}. One zero makes "
            "the perplexity infinite. Smoothing fixes that; a neural model never gives exactly 0."
        )
    st.caption(
        "Perplexity = exp(mean −ln P) over the sentence's words: the effective number of equally likely choices "
        "per word. Both models are scored on the same words (total −ln P divided by the number of words), because "
        "the neural model's tokens are not words. The counts know only this corpus; the neural model knows English "
        "in general, so on this corpus's own kind of sentence the counts can win; try an ordinary English sentence "
        f"(the counts give an unseen word 0 without smoothing). The bridge {NEXT_TOKEN_LESSON} builds: replace the "
        "count table with "
        "embeddings and a small network "
        "(a neural n-gram), then with a Transformer that reads the whole context."
    )
    with st.expander("Word by word", expanded=False):
        show_table(score_table(score.tokens, score.contexts, score.probs), hide_index=True)

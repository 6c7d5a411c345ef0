"""The Embeddings page's Streamlit parts: its shared inputs and word-set choices, and the three panels (nearest
tokens, a map of words, analogies)."""

from __future__ import annotations

import streamlit as st

from components.embeddings import analogy_chart, analogy_table, analogy_verdict, map_chart, neighbour_chart
from components.inert import inert_markdown
from components.token_chips import token_chips
from core.embeddings import (
    ANALOGIES,
    HOW,
    MAX_VOCAB_MAP,
    MAX_WORD_CHARS,
    MAX_WORDS,
    MAX_WORDS_TEXT,
    WORD_SETS,
    EmbeddingError,
    analogy,
    analogy_score,
    parse_words,
    project_vocabulary,
    project_words,
    token_neighbours,
    word_tokens,
)
from core.models import LoadedModel
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import bounded_slider, limited_text
from ui.memo import session_memo
from ui.notice import notice
from ui.share import Shared

OWN, WHOLE = "Your own words", "Every token of this small vocabulary"
HOW_LABELS = {"first": "its first token", "mean": "the mean of its tokens"}


def word_sets(lm: LoadedModel) -> tuple[list[str], bool]:
    """The map's choices for this model (the whole vocabulary only when it is small), with a valid choice in session
    state (a character model starts on the whole vocabulary), and whether the model's tokens are characters."""
    char_model = lm.extras.get("tokenizer_kind") == "char"
    sets = list(WORD_SETS) + [OWN] + ([WHOLE] if len(lm.tokenizer) <= MAX_VOCAB_MAP else [])
    if st.session_state.get(state.EMB_SET) not in sets:  # first visit, or a model without that choice
        st.session_state[state.EMB_SET] = WHOLE if char_model and WHOLE in sets else sets[0]
    return sets, char_model


def shared_inputs(sets: list[str]) -> list[Shared]:
    """The page's inputs that go in a shareable link: the word, the map's set, your own words, the analogy's a, b, c."""
    shared = [
        Shared(state.EMB_WORD, "word", max_chars=MAX_WORD_CHARS),
        Shared(state.EMB_SET, "set", "choice", choices=sets),
    ]
    shared += [Shared(state.EMB_WORDS, "words", max_chars=MAX_WORDS_TEXT)]
    shared += [Shared(k, p, max_chars=MAX_WORD_CHARS) for k, p in zip(state.EMB_ANALOGY, "abc", strict=True)]
    return shared


def neighbours_panel(lm: LoadedModel, space: bool, vocab: int, tied: bool) -> None:
    """Nearest tokens: the word box, its tokens as chips, a token picker when it is several, the neighbour count,
    and one chart of cosine neighbours per matrix (one when the embeddings are tied, else input and output)."""
    word = limited_text("A word or token", state.EMB_WORD, MAX_WORD_CHARS, area=False)
    try:
        tokens = word_tokens(lm, word, space)
    except EmbeddingError as error:
        notice(error, "warning")
        tokens = None
    if tokens is not None:
        st.html(token_chips(tokens.labels, titles=[f"token id {i}" for i in tokens.ids]))
        count = "one token" if tokens.single else f"{len(tokens.ids)} tokens"
        st.caption(f"The tokenizer reads {inert_markdown(repr(tokens.text))} as {count}.")
        if tokens.unknown:
            st.warning("Part of this is not in the model's vocabulary: it becomes the unknown token.")
        options = list(range(len(tokens.ids)))
        if st.session_state.get(state.EMB_TOKEN) not in options:
            st.session_state[state.EMB_TOKEN] = tokens.content[0]
        pick = options[0]
        if not tokens.single:
            pick = st.selectbox(
                "Which token",
                options,
                key=state.EMB_TOKEN,
                format_func=lambda p: f"{tokens.labels[p]} (id {tokens.ids[p]})",
            )
        k = bounded_slider("Neighbours shown", 3, 30, 10, state.EMB_K)
        token_id, label = tokens.ids[pick], tokens.labels[pick]
        kinds = [("input", "embedding = unembedding matrix (tied)")] if tied else []
        kinds = kinds or [("input", "embedding matrix (input)"), ("output", "unembedding matrix (output head)")]
        columns = st.columns(len(kinds))
        for column, (which, name) in zip(columns, kinds, strict=True):
            found = session_memo(
                "embeddings.neighbours",
                (lm.name, token_id, k, which),
                lambda w=which: token_neighbours(lm, token_id, k, w),
            )
            fig = neighbour_chart([n.label for n in found], [n.cosine for n in found], f"Nearest to {label}: {name}")
            show_chart(fig, f"embeddings.neighbours.{which}", where=column)
        st.caption(
            f"Cosine similarity of token id {token_id}'s row with every other row of the {vocab:,}; itself left out."
        )


def map_panel(lm: LoadedModel, sets: list[str], char_model: bool, space: bool, d: int) -> str:
    """A map of words: the set picker, how a word of several tokens is read, your own words when chosen, and the
    words' rows on two principal components (memoised), with how much spread they keep.

    Returns:
        How a word of several tokens stands for it ("first" or "mean"); the analogies read words the same way.
    """
    choice = st.selectbox("Words", sets, key=state.EMB_SET)
    how = st.radio(
        "A word of several tokens stands for", HOW, format_func=HOW_LABELS.get, key=state.EMB_HOW, horizontal=True
    )
    try:
        if choice == WHOLE:
            words = None
            projection = session_memo("embeddings.map", (lm.name, WHOLE), lambda: project_vocabulary(lm))
        else:
            if choice == OWN:
                text = limited_text(
                    f"Your words, separated by commas (3 to {MAX_WORDS})", state.EMB_WORDS, MAX_WORDS_TEXT
                )
                words = parse_words(text)
            else:
                words = WORD_SETS[choice]
            key = (lm.name, str(words), how, space)
            projection = session_memo(
                "embeddings.map", key, lambda: project_words(lm, words, how, space), max_entries=6
            )
    except EmbeddingError as error:
        notice(error, "warning")
    else:
        coords = projection.coords.tolist()
        share = projection.explained
        fig = map_chart(projection.labels, projection.groups, coords, share, f"{choice} on two principal components")
        show_chart(fig, "embeddings.map")
        st.caption(
            f"These two directions keep {share[0]:.1%} + {share[1]:.1%} = {sum(share):.1%} of the spread of these "
            f"{len(coords)} rows; the other directions of the {d:,} hold the rest, so points close here may be far "
            "apart."
        )
        if char_model and choice != WHOLE:
            st.info("This model's tokens are single characters: a word is its letters, so this map shows spelling.")
        if projection.notes:
            with st.expander(f"{len(projection.notes)} words are several tokens"):
                st.markdown("\n".join(f"- {inert_markdown(note, single_line=True)}" for note in projection.notes))
    return how


def analogy_panel(lm: LoadedModel, how: str, space: bool) -> None:
    """Analogies: the verdict measured on the known analogies (the table in an expander), the a, b, c boxes, and
    the nearest tokens to a − b + c (memoised), with the expected answer when the analogy is a known one."""
    score = session_memo("embeddings.score", lm.name, lambda: analogy_score(lm))
    kind, verdict = analogy_verdict(score.hits, score.baseline_hits, len(score.tested), score.works, len(ANALOGIES))
    getattr(st, kind)(verdict)
    with st.expander("The measured analogies", key=state.EMB_SCORE_OPEN, on_change="rerun") as panel:
        if panel.open:
            show_table(analogy_table(score.tested), hide_index=True)
            if score.skipped:
                st.caption("Not measured (a word is several tokens): " + "; ".join(" ".join(s) for s in score.skipped))
    a_col, b_col, c_col = st.columns(3)
    inputs = [
        limited_text(name, key, MAX_WORD_CHARS, area=False, where=col)
        for name, key, col in zip(("a", "b", "c"), state.EMB_ANALOGY, (a_col, b_col, c_col), strict=True)
    ]
    expected = next((w for *abc, w in ANALOGIES if abc == [s.strip() for s in inputs]), None)
    try:
        result = session_memo(
            "embeddings.analogy",
            (lm.name, *inputs, how, space, expected),
            lambda: analogy(lm, *inputs, k=10, expected=expected, how=how, leading_space=space),
        )
    except EmbeddingError as error:
        notice(error, "warning")
    else:
        want = result.expected.labels[0] if result.expected else None
        a, b, c = (t.labels[t.content[0]] if how == "first" or t.single else t.word for t in result.tokens)
        title = f"Nearest to {a} − {b} + {c}"
        show_chart(
            analogy_chart([x.label for x in result.neighbours], [x.cosine for x in result.neighbours], want, title),
            "embeddings.analogy",
        )
        if not all(t.single for t in result.tokens):
            st.caption("Some of these words are several tokens; each stands for " + HOW_LABELS[how] + ".")
        if want:
            st.caption(f"Expected: {inert_markdown(want)} (in the accent colour when it is in the list).")

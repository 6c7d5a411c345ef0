"""The tokenizer page's Streamlit parts: the shared inputs, other models' tokenizers (memoised), token chips, and
the five tabs (tokens, a BPE trained here, tokenizers side by side, the chat template, vocabulary sizes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.inert import inert_markdown
from components.tokenizer import (
    counts_row,
    ids_table,
    language_chart,
    language_table,
    merges_table,
    sweep_chart,
    view_chips,
    vocab_chart,
)
from core.bpe import (
    DEFAULT_BPE_CORPUS,
    MAX_BPE_CORPUS_CHARS,
    MAX_BPE_VOCAB,
    MIN_BPE_VOCAB,
    bpe_size_sweep,
    corpus_key,
    train_bpe,
)
from core.models import DEFAULT_MODEL, LoadedModel
from core.tokens import (
    TokenizerError,
    TokenView,
    chat_messages,
    chat_view,
    kv_bytes_per_token,
    language_costs,
    load_tokenizer,
    round_trips,
    token_view,
    vocab_size_rows,
)
from ui import state
from ui.charts import show_chart, show_table
from ui.controls import limited_text
from ui.memo import session_memo
from ui.notice import notice
from ui.share import Shared

OTHER_TOKENIZERS = ("gpt2", DEFAULT_MODEL, "Qwen/Qwen2.5-0.5B-Instruct")
SWEEP_SIZES = (MIN_BPE_VOCAB, 300, 400, 600, 1000, 2000, 4000)
YOUR_BPE = "your BPE (trained here)"
SHARED = [
    Shared(state.TOK_PROMPT, "prompt"),
    Shared(state.TOK_SHOW_IDS, "ids", "bool"),
    Shared(state.TOK_BPE_VOCAB, "bpe_vocab", "int", MIN_BPE_VOCAB, MAX_BPE_VOCAB),
]

MERGES_SHOWN = 50  # the BPE panel lists this many merges, first learned first


def other_tokenizer(name):
    """Another model's tokenizer from the local cache, or the reason it is not available (memoised either way)."""

    def attempt():
        try:
            return load_tokenizer(name)
        except TokenizerError as error:
            return str(error)

    with st.spinner(f"Loading the {inert_markdown(name)} tokenizer…"):
        return session_memo("tokenizer.other", name, attempt)


def chips(view):
    """Show a token view as chips, with the ids when the "Show token ids" toggle is on."""
    st.html(view_chips(view, show_ids=st.session_state.get(state.TOK_SHOW_IDS, False)))


def tokens_panel(lm: LoadedModel, text: str, view: TokenView) -> None:
    """The Tokens tab: the show-ids toggle, the text as chips, its counts, the round-trip check and the ids table."""
    st.session_state.setdefault(state.TOK_SHOW_IDS, False)
    st.toggle("Show token ids on the chips", key=state.TOK_SHOW_IDS)
    chips(view)
    a, b, c, d = st.columns(4)
    a.metric("Characters", f"{view.chars:,}")
    b.metric("Bytes (UTF-8)", f"{view.bytes:,}")
    c.metric("Tokens", f"{view.tokens:,}")
    d.metric("Characters per token", f"{view.chars_per_token:.2f}")
    if round_trips(lm.tokenizer, text):
        st.success("decode(encode(text)) gives back exactly this text.")
    else:
        st.warning("This tokenizer does not give this text back exactly: decode(encode(text)) differs.")
    st.caption(
        "A chip showing � [...] holds only part of a character's UTF-8 bytes: emoji and many scripts need "
        "several byte tokens for one character. Hover a chip for its id and raw piece."
    )
    with st.expander("Token ids as a table", expanded=False):
        show_table(ids_table(view), hide_index=True)


def train_panel(text: str):
    """The Train-your-own-BPE tab: the corpus and vocabulary-size widgets, the trained BPE (memoised) with its
    numbers, the text through it and the vocabulary-size sweep. Returns the trained BPE, or None when the corpus
    could not be trained on (the reason is shown)."""
    st.caption(
        "Byte-pair encoding starts from the 256 byte values and merges the most frequent pair of neighbours, "
        "one merge per new token, until the vocabulary reaches the size you ask for. Paste any text to learn from."
    )
    st.session_state.setdefault(state.TOK_BPE_CORPUS, DEFAULT_BPE_CORPUS)
    corpus = st.text_area(
        "Training corpus", height=180, key=state.TOK_BPE_CORPUS, help=f"Up to {MAX_BPE_CORPUS_CHARS:,} characters."
    )
    st.session_state.setdefault(state.TOK_BPE_VOCAB, 500)
    size = st.slider(
        "Vocabulary size",
        MIN_BPE_VOCAB,
        MAX_BPE_VOCAB,
        step=1,
        key=state.TOK_BPE_VOCAB,
        help=f"{MIN_BPE_VOCAB} = the 256 bytes plus one special token, no merges.",
    )
    try:
        with st.spinner(f"Training a BPE tokenizer of {size:,} tokens on {len(corpus):,} characters…"):
            bpe = session_memo("tokenizer.bpe", (corpus_key(corpus), size), lambda: train_bpe(corpus, size))
    except TokenizerError as error:
        bpe = None
        notice(error)
    if bpe is not None:
        a, b, c = st.columns(3)
        a.metric("Vocabulary asked", f"{bpe.requested_vocab_size:,}")
        b.metric("Vocabulary trained", f"{bpe.vocab_size:,}")
        c.metric("Merges learned", f"{bpe.merges:,}")
        if bpe.capped:
            st.warning(
                f"This corpus supports only {bpe.vocab_size:,} tokens: after {bpe.merges:,} merges no pair of "
                "neighbours was left to merge. Paste more text for a bigger vocabulary."
            )
        if bpe.merges:
            with st.expander(f"The merges, in the order learned (the first {min(bpe.merges, MERGES_SHOWN)})"):
                show_table(merges_table(bpe.merge_order(MERGES_SHOWN)), hide_index=True)
        st.markdown("**Your text through your BPE**")
        chips(token_view(bpe, text))
        sizes = sorted({s for s in SWEEP_SIZES if s <= bpe.vocab_size} | {bpe.vocab_size})
        with st.spinner(f"Training BPE tokenizers of {len(sizes)} sizes to compare them…"):
            sweep = session_memo(
                "tokenizer.sweep", (corpus_key(corpus), tuple(sizes), text), lambda: bpe_size_sweep(corpus, sizes, text)
            )
        show_chart(sweep_chart(sweep), "tokenizer.sweep_chart")
        st.caption(
            "Every merge can shorten the text by a token, so a bigger vocabulary means fewer tokens per word "
            "(more text in the context window) but a bigger embedding table (one row per token)."
        )
    return bpe


def compare_panel(lm: LoadedModel, text: str, bpe) -> None:
    """The Compare-tokenizers tab: the text through the loaded model's tokenizer, the chosen other tokenizers and
    the trained BPE (if any), their counts side by side, and what the same sentence costs in several languages."""
    st.caption(
        "The same text through several tokenizers. Other models' tokenizers load from this server's local "
        "cache only; the bundled model's is always here, and your trained BPE is always offered."
    )
    choices = [n for n in OTHER_TOKENIZERS if n != lm.name]
    others = st.multiselect("Other tokenizers", choices, default=[], key=state.TOK_OTHERS)
    entries = [(f"{lm.name} (loaded model)", lm.tokenizer)]
    for name in others:
        loaded = other_tokenizer(name)
        if isinstance(loaded, str):
            notice(loaded)
        else:
            entries.append((name, loaded))
    if bpe is not None:
        entries.append((YOUR_BPE, bpe))
    rows = []
    for name, tokenizer in entries:
        other = token_view(tokenizer, text)
        st.markdown(f"**{inert_markdown(name)}** — {other.tokens:,} tokens")
        chips(other)
        rows.append(counts_row(name, other, len(tokenizer)))
    show_table(pd.DataFrame(rows), hide_index=True)
    st.markdown(
        "**Non-English text costs more tokens**, so it fills more of the context window and more KV-cache memory."
    )
    languages = language_costs(lm.tokenizer, kv_bytes_per_token(lm.facts))
    show_chart(language_chart(languages, lm.name), "tokenizer.languages")
    show_table(language_table(languages), hide_index=True)


def chat_panel(lm: LoadedModel) -> None:
    """The Chat-template tab: system and user messages, the generation-prompt toggle, and the template's output as
    chips and as text (or the reason the template could not be applied)."""
    st.caption(
        "An instruct model is trained on conversations written in a fixed format. The chat template turns "
        "messages into one token sequence with special tokens marking who speaks; this is exactly what the model reads."
    )
    system = limited_text(
        "System message (empty = the template's default)", state.TOK_CHAT_SYSTEM, 2000, area=False, value=""
    )
    user = limited_text("User message", state.TOK_CHAT_USER, 5000, value="Where is my parcel?", height=80)
    st.session_state.setdefault(state.TOK_CHAT_GEN_PROMPT, True)
    gen_prompt = st.toggle(
        "Add the generation prompt (the assistant's turn starts, so the model answers)", key=state.TOK_CHAT_GEN_PROMPT
    )
    try:
        chat = chat_view(lm.tokenizer, chat_messages(system, user), add_generation_prompt=gen_prompt)
    except TokenizerError as error:
        notice(error)
    else:
        chips(chat)
        st.caption(
            f"{chat.tokens:,} tokens, {sum(chat.special)} of them special. The text the template produced "
            "(↵ marks each line break the model reads, the last one included):"
        )
        st.code(chat.text.replace("\n", "↵\n"), language=None, wrap_lines=True)


def vocab_panel(lm: LoadedModel, bpe) -> None:
    """The Vocabulary-sizes tab: known models' vocabulary sizes (with the loaded model's and the trained BPE's) as a
    chart and a table, and what share of the model's weights the embedding table is."""
    extra = {YOUR_BPE: bpe.vocab_size} if bpe is not None else {}
    vocab_rows = vocab_size_rows(lm.name, len(lm.tokenizer), extra)
    show_chart(vocab_chart(vocab_rows), "tokenizer.vocab_chart")
    show_table(pd.DataFrame(vocab_rows, columns=["model", "vocabulary size", "source"]), hide_index=True)
    embedding = lm.facts.vocab_size * lm.facts.hidden_size
    st.caption(
        f"Each vocabulary entry is one row of the embedding table: {lm.facts.vocab_size:,} tokens × "
        f"{lm.facts.hidden_size:,} numbers = {embedding / 1e6:,.1f} M parameters, "
        f"{embedding / lm.facts.parameters:.0%} of {inert_markdown(lm.name)}'s weights."
    )

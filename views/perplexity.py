"""The perplexity page's Streamlit parts: scoring (memoised), the window controls, the metrics and the three tabs
(the text token by token, teacher forcing, comparisons)."""

from __future__ import annotations

import streamlit as st

from components.inert import inert_markdown
from components.perplexity import (
    DISPLAY_LIMIT,
    STRIDE_NOTE,
    TEACHER_FORCING_NOTE,
    comparison_figure,
    comparison_table,
    csv_bytes,
    loss_bars,
    metric_rows,
    most_surprising,
    seed_perplexity_table,
    seed_teacher_forcing_table,
    surprisal_chips,
    surprisal_legend,
    teacher_forcing_table,
    token_table,
    word_perplexity_note,
)
from components.remote import (
    prompt_logprob_table,
)
from core.lessons import NEXT_TOKEN_LESSON, PERPLEXITY_EXAMPLE
from core.models import ModelLoadError
from core.perplexity import (
    DEFAULT_MAX_LENGTH,
    PerplexityError,
    PerplexityResult,
    TextTooLong,
    TooMuchWork,
    perplexity,
    teacher_forcing_rows,
    tokens_read,
)
from core.serving.backend import Unsupported
from core.serving.remote_backend import RemoteBackend, RemoteError
from core.text import PromptError, clean_prompt
from ui import state
from ui.backend import server_caption
from ui.charts import shared, shared_figure, shared_table, show_chart, show_table
from ui.controls import limited_text
from ui.inference import shared_perplexity_hook
from ui.memo import session_memo
from ui.model_picker import PRESETS, TRAINED_LABEL, load
from ui.notice import notice
from ui.settings import limits, raise_hint
from ui.share import Shared, copy_link_control, share_inputs

TOP_PREDICTIONS = 5
TEXTS, MODELS = "Up to three texts", "One text under two models"
MAX_WINDOW = 2048  # the window box's (and the link's) highest value; a model's shorter context caps it further


def shared_fields() -> list[Shared]:
    """The page's inputs that go in a shareable link (the text's limit is the operator's, read on every run)."""
    return [
        Shared(state.PPL_TEXT, "text", max_chars=4000, limit=limits().max_perplexity_chars),
        Shared(state.PPL_ADD_BOS, "bos", "bool"),
        Shared(state.PPL_WINDOW, "window", "int", 2, MAX_WINDOW),
        Shared(state.PPL_STRIDE, "stride", "int", 1, MAX_WINDOW),
    ]


def token_by_token_tab(result: PerplexityResult) -> None:
    """Surprisal-coloured tokens, the per-token loss bars, the most surprising tokens and the CSV download."""
    st.markdown(
        "Each token is coloured by its surprisal -log2 p: the darker, the more the model was surprised. "
        "Hover a token for its probability, its rank and the model's top predictions."
    )
    key = result.fingerprint  # a class scoring one text draws one set of chips, bars and tables (ui.charts.shared)
    st.html(surprisal_legend())
    st.html(shared("perplexity.chips", key, lambda: surprisal_chips(result)))
    if result.scored_tokens > DISPLAY_LIMIT:
        st.caption(f"Showing the first {DISPLAY_LIMIT:,} tokens; the CSV below has all {result.scored_tokens:,}.")
    show_chart(shared_figure("perplexity.loss_bars", key, lambda: loss_bars(result)), "perplexity.loss_bars")
    st.session_state.setdefault(state.PPL_SURPRISING_N, 10)
    n = st.slider("Most surprising tokens to list", 3, 30, key=state.PPL_SURPRISING_N)
    surprising = shared_table("perplexity.most_surprising", (key, n), lambda: most_surprising(result, n))
    show_table(surprising, hide_index=True)
    st.download_button(
        "Download the per-token table (CSV)",
        lambda: csv_bytes(token_table(result)),  # written when clicked (on another thread), not on every run
        file_name="perplexity_tokens.csv",
        mime="text/csv",
        key=state.PPL_CSV_DOWNLOAD,
        on_click="ignore",
    )


def teacher_forcing_tab(result: PerplexityResult) -> None:
    """Teacher forcing on the user's text, then seed 001's worked example and its perplexity by hand."""
    st.markdown(TEACHER_FORCING_NOTE)
    rows = shared_table(
        "perplexity.teacher_forcing",
        result.fingerprint,  # made once per result (a cached property)
        lambda: teacher_forcing_table(teacher_forcing_rows(result, 12)),
    )
    show_table(rows, hide_index=True)
    st.markdown(
        f"**{PERPLEXITY_EXAMPLE.capitalize()} of {NEXT_TOKEN_LESSON}**: *\\<bos\\> package left hub \\<eos\\>* "
        "gives four shifted targets."
    )
    seed_table, seed_loss = shared("perplexity.seed_teacher_forcing", (), seed_teacher_forcing_table)  # constants
    show_table(shared_table("perplexity.seed_teacher_forcing_table", (), lambda: seed_table), hide_index=True)
    st.markdown(f"Mean cross-entropy: **{seed_loss:.3f}** nats.")
    st.markdown("**Perplexity by hand**: the true tokens got probabilities 0.5, 0.5, 0.5 and 0.125.")
    hand, loss, ppl, inverse_geo = shared("perplexity.seed_by_hand", (), seed_perplexity_table)
    show_table(shared_table("perplexity.seed_by_hand_table", (), lambda: hand), hide_index=True)
    x, y, z = st.columns(3)
    x.metric("Average loss", f"{loss:.4f}")
    y.metric("Perplexity exp(loss)", f"{ppl:.4f}")
    z.metric("1 / geometric mean of p", f"{inverse_geo:.4f}")
    st.caption("About 2.83 equally likely options per step: the one bad prediction (0.125) drags the average up.")
    st.caption(
        f"Why the number at the top of the page differs: it is the real model's perplexity on your text "
        f"({result.perplexity:,.2f} here), scored over its whole vocabulary of {result.vocab_size:,} tokens, where the "
        "lesson's example gives its own probabilities by hand over five tokens. Three words with no sentence around "
        "them, like *package left hub*, surprise a real model a great deal: each true token gets a tiny share of "
        "tens of thousands, so its perplexity can run to millions."
    )


def cut_to_limit() -> None:
    """Button callback: keep the first max_perplexity_chars characters of the text, so it can be scored."""
    text = st.session_state.get(state.PPL_TEXT) or ""
    st.session_state[state.PPL_TEXT] = text[: limits().max_perplexity_chars]


def window_controls(lm) -> tuple[bool, int, int]:
    """The start-token toggle, the window and the stride; returns (add_bos, window, stride).

    The window defaults to the model's context (at most the guide's 1,024 tokens) and the stride to half the window,
    as in the Hugging Face guide. When the model changes (or a saved window does not fit its context) both start
    again from those defaults: a tiny trained model reads only a few dozen tokens.
    """
    ss, context = st.session_state, lm.context_length
    ss.setdefault(state.PPL_ADD_BOS, True)
    changed = ss.get(state.PPL_WINDOW_MODEL) not in (None, lm.name)
    ss[state.PPL_WINDOW_MODEL] = lm.name
    top = min(context, MAX_WINDOW)
    saved = DEFAULT_MAX_LENGTH if changed else ss.get(state.PPL_WINDOW, DEFAULT_MAX_LENGTH)
    ss[state.PPL_WINDOW] = min(saved, top)
    if changed or state.PPL_STRIDE not in ss or ss[state.PPL_WINDOW] != saved:
        ss[state.PPL_STRIDE] = max(1, ss[state.PPL_WINDOW] // 2)
    elif ss[state.PPL_STRIDE] > ss[state.PPL_WINDOW]:  # a link's stride longer than its window
        notice(f"The stride can be at most the window: it is {ss[state.PPL_WINDOW]:,}, not {ss[state.PPL_STRIDE]:,}.")
    ss[state.PPL_STRIDE] = min(ss[state.PPL_STRIDE], ss[state.PPL_WINDOW])
    if saved > top and saved != DEFAULT_MAX_LENGTH:  # a link's window longer than this model reads
        notice(f"{lm.name} reads at most {top:,} tokens at once, so the window is {top:,}, not {saved:,}.")
    a, b, c = st.columns(3)
    add_bos = a.toggle(
        "Score the first token from a start token",
        key=state.PPL_ADD_BOS,
        help="On: the model first reads a start-of-text token, so the first token gets a prediction too. "
        "Off: scoring starts at the second token (the first has nothing before it).",
    )
    window = int(b.number_input("Window (tokens)", min_value=2, max_value=top, step=64, key=state.PPL_WINDOW))
    stride = int(c.number_input("Stride (tokens)", min_value=1, max_value=window, step=32, key=state.PPL_STRIDE))
    st.caption(STRIDE_NOTE)
    if context < DEFAULT_MAX_LENGTH:
        st.caption(
            f"{inert_markdown(lm.name)} reads at most {context} tokens, so most texts are scored in windows. The "
            f"stride starts at half the window ({max(1, window // 2)}): each window re-reads its first half as "
            "context and scores only the rest, so every token after the first window is predicted from at least "
            f"{window - max(1, window // 2)} tokens before it. With the stride equal to the window, each window would "
            "start from nothing and its first tokens would look far more surprising than the model is."
        )
    return add_bos, window, stride


def show_metrics(result: PerplexityResult, per_character: bool) -> None:
    """The six numbers; for a character model perplexity per character leads and word perplexity is explained."""
    for column, (label, value, help_text) in zip(st.columns(3) + st.columns(3), metric_rows(result, per_character)):
        column.metric(label, value, help=help_text)
    if per_character or (result.n_words and result.total_nll / result.n_words > 9.2):  # word perplexity > 10,000
        st.caption(word_perplexity_note(result))


def request_comparison(name, text):
    """Button callback: ask for the second model's score (computed in the script run, with its progress bar)."""
    state.set_model_comparison(state.ModelComparison(name, text))


def score(lm, text, add_bos, window, stride, label="the text"):
    """core.perplexity, memoised per session, with a progress bar while the windows run."""
    max_chars = limits().max_perplexity_chars  # this server's limit: a longer text is refused before any scoring
    max_read = limits().max_perplexity_tokens  # and the tokens one scoring feeds the model (windows x window)

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
                max_tokens_read=max_read,
                progress=lambda f: bar.progress(f, text=f"Scoring {label}: {f:.0%} of the windows"),
                score_windows=shared_perplexity_hook(lm),  # the windows as queued jobs on the shared worker
            )
        finally:
            bar.empty()

    key = (lm.name, id(lm.model), text, add_bos, window, stride, max_read)
    try:
        return session_memo("perplexity", key, compute, max_entries=8)
    except TextTooLong as error:
        raise PerplexityError(f"{error} {raise_hint('max_perplexity_chars')}") from None
    except TooMuchWork as error:
        raise PerplexityError(f"{error} {raise_hint('max_perplexity_tokens')}") from None


def stride_note(result: PerplexityResult) -> str | None:
    """The sentence saying the stride was raised to fit this server's token bound, or None when it was not."""
    if result.asked_stride is None:
        return None
    n = len(result.token_ids) + (1 if result.start_token is not None else 0)  # the sequence the windows cover
    asked = tokens_read(n, result.max_length, result.asked_stride)
    return (
        f"A stride of {result.asked_stride:,} would feed the model {asked:,} tokens (windows of {result.max_length:,} "
        f"over {n:,} tokens); this server feeds it at most {limits().max_perplexity_tokens:,} per scoring, so the "
        f"stride was raised to {result.stride:,} ({result.tokens_read:,} tokens). "
        + raise_hint("max_perplexity_tokens")
    )


def keep_compare_inputs(examples):
    """The Compare tab's inputs keep their values while another tab is open (its widgets are not drawn then)."""
    for key, default in zip(state.PPL_COMPARE_TEXTS, list(examples.values())[:3]):
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
            show_table(comparison_table(pair), hide_index=True)


# On the operator's model server (ui/backend.py): what a server reports, said on the page.
PROMPT_LOGPROB_SERVERS = (
    "vLLM gives them (`echo` with `logprobs` on /v1/completions, what this page asks for). SGLang has them only on "
    "its native /generate (`return_logprob` with `logprob_start_len` 0), which this page does not call; "
    "llama-cpp-python's server (with `--logits_all true`) returns them shifted by one position; llama.cpp's own "
    "llama-server has none."
)


REMOTE_SHARED = (Shared(state.REMOTE_PPL_TEXT, "text", max_chars=2000),)


def remote_view(backend: RemoteBackend) -> None:
    """Perplexity from the server's prompt log-probabilities, or a plain note that this server has none."""
    st.title("Perplexity")
    server_caption(backend)
    share_inputs(REMOTE_SHARED, "remote.perplexity")
    copy_link_control()
    st.session_state.setdefault(state.REMOTE_PPL_TEXT, st.session_state.get(state.PROMPT) or state.DEFAULT_PROMPT)
    text = limited_text("Text to score", state.REMOTE_PPL_TEXT, limits().max_perplexity_chars, height=120)
    if not st.button("Score through the server", key=state.REMOTE_PPL_RUN, type="primary"):
        st.caption(
            "Perplexity needs the probability of each of the text's own tokens (prompt log-probabilities). "
            + PROMPT_LOGPROB_SERVERS
        )
        return
    try:
        with st.spinner("The model server is scoring the text…"):
            scored = backend.prompt_logprobs(clean_prompt(text, max_chars=limits().max_perplexity_chars))
        ppl = scored.perplexity
    except Unsupported as error:
        st.info(
            f"{inert_markdown(str(error))}\n\nThis server does not give prompt log-probabilities, so this page "
            "cannot measure perplexity through it. " + PROMPT_LOGPROB_SERVERS
        )
        return
    except (PromptError, RemoteError) as error:
        notice(error, "warning")
        return
    a, b = st.columns(2)
    a.metric("Perplexity", f"{ppl:,.2f}")
    b.metric("Tokens scored", f"{scored.nll.size:,}", help="Every token but the first (nothing comes before it).")
    st.caption("Scored by the server's copy of the model; the first token has no score (no start token is added).")
    show_table(prompt_logprob_table(scored), hide_index=True)

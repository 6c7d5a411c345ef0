"""The next-token, generation and perplexity pages when the model runs on the operator's server (issue 16).

What a server gives is less than the local model: the top N log-probabilities of each distribution (N capped by
the server), prompt log-probabilities only on some servers, and no weights. Each view says so on the page.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.inert import inert_markdown
from components.remote import (
    NOT_REPORTED,
    generation_html,
    generation_table,
    prompt_logprob_table,
    remote_bars,
    remote_candidate_table,
)
from core.backend import Generation, Unsupported, reapply_sampling
from core.remote_backend import RemoteBackend, RemoteError
from core.text import PromptError, clean_prompt
from ui import state
from ui.charts import show_chart
from ui.controls import bounded_slider, limited_text, prompt_area, sampling_controls
from ui.memo import session_memo
from ui.notice import notice
from ui.settings import limits
from ui.share import Shared, copy_link_control, share_inputs

REAPPLIED = "re-applied locally on the server's top-N"
PROMPT_LOGPROB_SERVERS = (
    "vLLM gives them (`echo` with `logprobs` on /v1/completions, what this page asks for). SGLang has them only on "
    "its native /generate (`return_logprob` with `logprob_start_len` 0), which this page does not call; "
    "llama-cpp-python's server (with `--logits_all true`) returns them shifted by one position; llama.cpp's own "
    "llama-server has none."
)


def _server_caption(backend: RemoteBackend) -> None:
    st.caption(
        f"Model **{inert_markdown(backend.model)}** on the operator's model server. "
        f"The server reports at most {backend.max_top_n} candidates per position."
    )


NEXT_TOKEN_SHARED = (
    Shared(state.NT_PROMPT, "prompt"),
    Shared(state.NT_TOP_N, "top_n", "int", 1, 30),
    Shared(state.NT_TEMPERATURE, "t", "float", 0, 3),
    Shared(state.NT_TOP_K, "top_k", "int", 0, 1_000_000),
    Shared(state.NT_TOP_P, "top_p", "float", 0, 1),
)
GENERATION_SHARED = (
    Shared(state.REMOTE_GEN_PROMPT, "prompt"),
    Shared(state.REMOTE_GEN_STEPS, "steps", "int", 1, 128),
    Shared(state.REMOTE_GEN_TOP_N, "top_n", "int", 1, 100),
    Shared(state.REMOTE_GEN_TEMPERATURE, "t", "float", 0, 3),
    Shared(state.REMOTE_GEN_TOP_K, "top_k", "int", 0, 1_000_000),
    Shared(state.REMOTE_GEN_TOP_P, "top_p", "float", 0, 1),
    Shared(state.REMOTE_GEN_SEED, "seed", "int", 0, 2**31 - 1),
)
PERPLEXITY_SHARED = (Shared(state.REMOTE_PPL_TEXT, "text", max_chars=2000),)


def next_token_view(backend: RemoteBackend) -> None:
    """The server's top N after a prompt, the unreported mass as one bar, sampling re-applied on the N."""
    st.title("Next-token probabilities")
    _server_caption(backend)
    share_inputs(NEXT_TOKEN_SHARED, "remote.next_token")  # a link carries the model (the server) and these
    copy_link_control()
    prompt = prompt_area(state.NT_PROMPT)
    top_n = bounded_slider("Candidates to ask the server for", 1, backend.max_top_n, 10, key=state.NT_TOP_N)
    try:
        text = clean_prompt(prompt)
        with st.spinner("Asking the model server…"):
            top = session_memo(
                "remote_next_token",
                (backend.base_url, backend.model, text, top_n),
                lambda: backend.next_token(text, top_n),
            )
    except (PromptError, RemoteError, Unsupported) as error:
        notice(error, "warning")
        return
    temperature, top_k, top_p = sampling_controls(state.NT_TEMPERATURE, state.NT_TOP_K, state.NT_TOP_P)
    sampling = reapply_sampling(top, temperature, top_k, top_p)
    table = remote_candidate_table(top, sampling)
    show_chart(remote_bars(table, title=f"The server's top {len(top.tokens)}"), "remote.next_token.bars")
    st.caption(
        f"The server reported {len(top.tokens)} tokens holding {top.reported_mass:.1%} of the probability. The last "
        f"bar, **{NOT_REPORTED}**, is the remaining {top.rest_mass:.1%}: it belongs to tokens the server did not "
        "list, and it is not spread over the listed ones (nothing is renormalised)."
    )
    st.caption(
        f"Sampling probabilities (temperature {temperature:g}, top-k {top_k}, top-p {top_p:g}) are **{REAPPLIED}**: "
        "this page's sampler sees only the reported tokens, so they sum to 1 over them. The server's own sampler "
        "works on the whole vocabulary."
    )
    a, b = st.columns(2)
    a.metric("Reported by the server", f"{top.reported_mass:.1%}")
    b.metric("Not reported", f"{top.rest_mass:.1%}")
    with st.expander("Table of candidates"):
        st.dataframe(table, hide_index=True)


def _run_generation(backend: RemoteBackend, prompt: str, steps: int, top_n: int, t: float, k: int, p: float, seed: int):
    try:
        generation = backend.generate(
            clean_prompt(prompt), steps, temperature=t, top_k=k, top_p=p, seed=seed, top_n=top_n
        )
    except (PromptError, RemoteError, Unsupported, ValueError) as error:
        notice(error, "warning")
        return
    st.session_state[state.REMOTE_GENERATION] = generation


def generation_view(backend: RemoteBackend) -> None:
    """Generation through the server in one request, with each step's top N log-probabilities."""
    st.title("Step-by-step generation")
    _server_caption(backend)
    share_inputs(GENERATION_SHARED, "remote.generation")
    copy_link_control()
    st.caption(
        "The server runs the decode loop itself (prefill, then one token per step with its own KV cache) and "
        "returns every step's chosen token with its top candidates. Stepping one token at a time, picking a token "
        "yourself, rewinding and the cache's measured size need the local model."
    )
    prompt = prompt_area(state.REMOTE_GEN_PROMPT)
    left, right = st.columns(2)
    st.session_state.setdefault(state.REMOTE_GEN_STEPS, 30)
    steps = left.slider("Tokens to generate", 1, min(128, limits().max_new_tokens), key=state.REMOTE_GEN_STEPS)
    with right:
        top_n = bounded_slider("Candidates per step", 1, backend.max_top_n, 5, key=state.REMOTE_GEN_TOP_N)
    st.session_state.setdefault(state.REMOTE_GEN_TEMPERATURE, 0.0)
    t, k, p = sampling_controls(state.REMOTE_GEN_TEMPERATURE, state.REMOTE_GEN_TOP_K, state.REMOTE_GEN_TOP_P)
    st.session_state.setdefault(state.REMOTE_GEN_SEED, 0)
    seed = st.number_input("Seed", 0, 2**31 - 1, key=state.REMOTE_GEN_SEED)
    st.caption("Temperature 0 is greedy. Here the server's own sampler draws (its seed, its filters).")
    if st.button("Generate through the server", key=state.REMOTE_GEN_RUN, type="primary"):
        with st.spinner("The model server is generating…"):
            _run_generation(backend, prompt, steps, top_n, t, k, p, int(seed))
    generation = st.session_state.get(state.REMOTE_GENERATION)
    if isinstance(generation, Generation):
        st.html(generation_html(generation))
        st.caption(f"{len(generation.tokens)} tokens; the server's stop reason: {generation.finish_reason or 'none'}.")
        st.dataframe(generation_table(generation), hide_index=True)


def perplexity_view(backend: RemoteBackend) -> None:
    """Perplexity from the server's prompt log-probabilities, or a plain note that this server has none."""
    st.title("Perplexity")
    _server_caption(backend)
    share_inputs(PERPLEXITY_SHARED, "remote.perplexity")
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
    st.dataframe(prompt_logprob_table(scored), hide_index=True)


VIEWS: dict[str, Callable[[RemoteBackend], None]] = {
    "next_token": next_token_view,
    "generation": generation_view,
    "perplexity": perplexity_view,
}

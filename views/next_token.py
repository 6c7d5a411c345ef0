"""The next-token page's Streamlit parts: its shared inputs, the memoised model call, the sampler fragment (controls,
bars, numbers, sample button, candidate table) and the three-prompt comparison."""

from __future__ import annotations

import streamlit as st

from components.client_sampler import NEXT_TOKEN
from components.inert import inert_markdown
from components.next_token import probability_bars
from components.remote import (
    NOT_REPORTED,
    remote_bars,
    remote_candidate_table,
)
from components.tables import candidate_table
from core.lessons import NEXT_TOKEN_LESSON
from core.sampling import make_generator, sample_token, sampling_probs
from core.seed_examples import PACKAGE_PROMPTS
from core.serving.backend import Unsupported, reapply_sampling
from core.serving.remote_backend import RemoteBackend, RemoteError
from core.text import PromptError, clean_prompt
from ui import state
from ui.backend import server_caption
from ui.charts import show_chart, show_table
from ui.client_sampler import SamplerKeys, client_sampler
from ui.controls import (
    SEED_RANGE,
    TEMPERATURE_RANGE,
    TOP_K_RANGE,
    TOP_P_RANGE,
    bounded_slider,
    prompt_area,
    sampling_controls,
)
from ui.memo import session_distribution, session_memo
from ui.notice import notice
from ui.presenter import presenter_mode
from ui.share import Shared, copy_link_control, publish_inputs, share_inputs

REAL, TOY = state.REAL_LOGITS, state.TOY_LOGITS
MAX_TOP_N = 30  # candidates the chart shows at most: the slider's and the link's top_n
SHARED = [
    Shared(state.NT_PROMPT, "prompt"),
    Shared(state.NT_MODE, "mode", "choice", choices=(REAL, TOY)),
    Shared(state.NT_TOP_N, "top_n", "int", 1, MAX_TOP_N),
    Shared(state.NT_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.NT_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.NT_TOP_P, "top_p", "float", *TOP_P_RANGE),
    Shared(state.NT_SEED, "seed", "int", *SEED_RANGE),
    Shared(state.NT_TOY_TOKENS, "toy_tokens", max_chars=2000),
    Shared(state.NT_TOY_LOGITS, "toy_logits", max_chars=2000),
]
SAMPLER = SamplerKeys(state.NT_SAMPLER, state.NT_TEMPERATURE, state.NT_TOP_K, state.NT_TOP_P)


def sampler_probs(dist):
    """(V,) what the sampler draws from under the settings the browser last let go of (the page's state)."""
    return sampling_probs(
        dist.logits,
        temperature=float(st.session_state.get(state.NT_TEMPERATURE, 1.0)),
        top_k=int(st.session_state.get(state.NT_TOP_K, 0)),
        top_p=float(st.session_state.get(state.NT_TOP_P, 1.0)),
        order=dist.order,
    )


def append_sample(dist, seed):
    """Button callback: draw one token with the seed (under the settings let go of last) and append it to the
    prompt."""
    probs = sampler_probs(dist)  # (V,)
    token_id = sample_token(probs, make_generator(int(seed)))
    state.set_last_sample(
        state.LastSample(dist.token_text(token_id), float(dist.probs[token_id]), float(probs[token_id]), int(seed))
    )
    if st.session_state.get(state.NT_MODE, REAL) == REAL:
        st.session_state[state.NT_PROMPT] = st.session_state.get(state.NT_PROMPT, "") + dist.raw_text(token_id)


@st.fragment
def sampler(dist, mode: str) -> None:
    """The sampling controls, the bars and the numbers under them, the sample button and the candidate table.

    Temperature, top-k and top-p, the bars and the four numbers under them live in the browser (ui/client_sampler.py):
    a move redraws them there and never reaches the server. A fragment: letting go of a control (or moving the
    candidates slider) reruns only this function, on the distribution the last full run computed (the model is not
    called again, nothing above it is redrawn). Sampling a token in real mode changes the prompt, so that click
    reruns the whole page.
    """
    if mode == REAL and st.session_state.get(state.NT_SAMPLE):  # append_sample has just changed the prompt
        st.rerun(scope="app")
    top_n = bounded_slider("Candidates to show", 1, min(MAX_TOP_N, dist.vocab_size), 10, key=state.NT_TOP_N)
    client_sampler(dist, SAMPLER, page=NEXT_TOKEN, top_n=top_n)  # controls, notes, bars, the four numbers

    st.subheader("Sample a token")
    left, right = st.columns([1, 3])
    st.session_state.setdefault(state.NT_SEED, 0)  # a default in state, not value=: a shared link may set it first
    seed = left.number_input("Seed", *SEED_RANGE, step=1, key=state.NT_SEED)
    right.button(
        "Sample a token" + (" and append it to the prompt" if mode == REAL else ""),
        on_click=append_sample,
        args=(dist, seed),
        key=state.NT_SAMPLE,
        type="primary",
    )
    if last := state.last_sample():
        st.success(
            f"Seed {last.seed} drew **{inert_markdown(last.token)}** (model probability "
            f"{last.model_probability:.1%}, sampling probability {last.sampling_probability:.1%})."
        )
    publish_inputs(SHARED, "next_token")  # this function's widgets are in the link; a fragment rerun skips the top
    if presenter_mode():  # a projector: the chart and the numbers, not the extras
        return
    copy_link_control()  # here, after publish_inputs, so the link it shows is this view's
    table = st.expander("Table of candidates", key=state.NT_TABLE_OPEN, on_change="rerun")
    if table.open:  # closed, letting go of a control sends no table
        with table:
            probs = sampler_probs(dist)  # (V,)
            show_table(candidate_table(dist, top_n, probs), hide_index=True)


def compare_prompts(lm) -> None:
    """Seed 001's three prompts side by side, in an expander that runs the model only while it is open."""
    for key, default in zip(state.NT_COMPARE, PACKAGE_PROMPTS):  # kept while the boxes are not drawn
        st.session_state[key] = st.session_state.get(key, default)
    panel = st.expander("Compare up to three prompts side by side", key=state.NT_COMPARE_OPEN, on_change="rerun")
    if not panel.open:
        return
    with panel:
        st.caption(f"As in {NEXT_TOKEN_LESSON}: one extra word of context changes the whole distribution.")
        columns = st.columns(3)
        for number, (column, key) in enumerate(zip(columns, state.NT_COMPARE), start=1):
            text = column.text_input(f"Prompt {number}", key=key)
            try:
                other = session_distribution(lm, text)
            except PromptError as error:
                notice(error, "info", column)
                continue
            show_chart(
                probability_bars(candidate_table(other, 5), title=text[:40], show_sampling=False),
                f"{key}.chart",
                where=column,
            )


# On the operator's model server (ui/backend.py): what a server reports, said on the page.
REAPPLIED = "re-applied locally on the server's top-N"


REMOTE_SHARED = (
    Shared(state.NT_PROMPT, "prompt"),
    Shared(state.NT_TOP_N, "top_n", "int", 1, MAX_TOP_N),
    Shared(state.NT_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.NT_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.NT_TOP_P, "top_p", "float", *TOP_P_RANGE),
)


def remote_view(backend: RemoteBackend) -> None:
    """The server's top N after a prompt, the unreported mass as one bar, sampling re-applied on the N."""
    st.title("Next-token probabilities")
    server_caption(backend)
    share_inputs(REMOTE_SHARED, "remote.next_token")  # a link carries the model (the server) and these
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
        show_table(table, hide_index=True)

"""The generation page's parts: the step panel (step, run, pick, rewind, branches), the timeline and KV-cache
panels, and the run's share link and run file (replayed through the Stepper)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from components.generation import (
    CACHE_FIELDS,
    PROBABILITY_ENTROPY_FIELDS,
    TIMELINE_FIELDS,
    TIMING_FIELDS,
    cache_chart,
    cache_formula,
    chart_inputs,
    generated_html,
    median_ms,
    probability_entropy_chart,
    step_candidate_table,
    stop_message,
    timeline_table,
    timing_chart,
)
from components.inert import inert_markdown
from components.next_token import probability_bars
from components.remote import (
    generation_html,
    generation_table,
)
from components.tables import candidate_columns, columns_inputs
from core.generation import GREEDY, SAMPLED, USER, GenerationFinished, Step, StepError, Stepper
from core.generation_record import (
    STEP_SETTINGS,
    RecordError,
    parse_record,
    record_json,
    replay,
    replay_steps_within,
)
from core.models import LoadedModel, ModelFacts
from core.serving.backend import Generation, Unsupported
from core.serving.remote_backend import RemoteBackend, RemoteError
from core.text import PromptError, clean_prompt
from ui import state
from ui.backend import server_caption
from ui.charts import shared_figure, shared_table, show_chart, show_table
from ui.controls import (
    SEED_RANGE,
    TEMPERATURE_RANGE,
    TOP_K_RANGE,
    TOP_P_RANGE,
    bounded_slider,
    prompt_area,
    sampling_controls,
)
from ui.inference import shared_step_runner
from ui.notice import notice
from ui.settings import limits, raise_hint
from ui.share import Shared, copy_link_control, share_inputs


def last_step_summary(last: Step) -> None:
    """One sentence on the latest step: the chosen token, how it was chosen, its probabilities and timing."""
    how = {GREEDY: "greedy: always the most likely token", SAMPLED: f"sampled with seed {last.seed}"}.get(
        last.chosen_by, "picked by you"
    )
    timing = (
        "reused from an identical generation on this server (the model did not run again)"
        if last.reused
        else f"{last.seconds * 1000:.0f} ms"
    )
    st.markdown(
        f"Step {last.index} chose **{inert_markdown(last.token)}** ({how}): model probability "
        f"{last.model_probability:.1%}, sampling probability {last.sampling_probability:.1%}, rank {last.rank}, "
        f"entropy {last.entropy_bits:.2f} bits, {timing}."
    )


def kv_cache_panel(facts: ModelFacts, stepper: Stepper, steps: Sequence[Step]) -> None:
    """The KV-cache section: cache metrics, the size arithmetic next to the measured bytes, the measured speed-up."""
    st.subheader("The KV cache")
    st.caption(
        "At every layer the model stores each token's key and value vectors, so a new token only computes its own "
        "and attends to the stored ones. Without a cache, each step recomputes the whole sequence."
    )
    if not stepper.use_cache:
        st.warning(
            f"The KV cache is off ('Without KV cache'): each step now feeds all {len(stepper.all_ids):,} tokens "
            f"again and keeps nothing. The cache below is the one left from the steps taken with it on "
            f"({stepper.cache_length:,} tokens); it grows again when you switch the cache back on.",
            icon=":material/memory:",
        )
    m1, m2, m3, m4 = st.columns(4)
    cached = "" if stepper.use_cache else " (cache off)"
    m1.metric("Tokens in the cache" + cached, f"{stepper.cache_length:,}")
    m2.metric("Measured size" + cached, f"{stepper.cache_bytes / 1024:,.1f} KiB")
    timed = [s for s in steps if not s.reused]  # a reused step's time is not the model's
    with_ms, without_ms = median_ms(timed, True), median_ms(timed, False)
    m3.metric(
        "Median time per step, cache on",
        f"{with_ms:.0f} ms" if with_ms else "—",
        help="Steps reused from an identical generation on this server are left out: the model did not run for them.",
    )
    m4.metric(
        "Median time per step, cache off",
        f"{without_ms:.0f} ms" if without_ms else "—",
        help="Switch on 'Without KV cache' and take a few steps to measure it.",
    )
    st.markdown(
        cache_formula(
            facts.layers,
            facts.kv_heads,
            facts.head_dim,
            stepper.cache_length,
            stepper.cache_bytes_per_value,
            stepper.cache_bytes,
        )
    )
    if with_ms and without_ms:
        st.info(
            f"Measured here: without the cache a step takes {without_ms / with_ms:.1f}× as long "
            f"(at {len(stepper.all_ids):,} tokens; the gap grows with the length of the sequence)."
        )


def timeline_panel(steps: Sequence[Step]) -> None:
    """The timeline: probability/entropy, cache and timing charts, the per-step table and its CSV download."""
    st.subheader("Timeline")
    timed = [s for s in steps if not s.reused]  # a reused step's time is not the model's
    # Shared by the sessions at the same steps: a class stepping one generation builds each chart once.
    prob = shared_figure(
        "generation.prob_chart",
        chart_inputs(steps, PROBABILITY_ENTROPY_FIELDS),
        lambda: probability_entropy_chart(steps),
    )
    cache = shared_figure("generation.cache_chart", chart_inputs(steps, CACHE_FIELDS), lambda: cache_chart(steps))
    timing = shared_figure("generation.time_chart", chart_inputs(timed, TIMING_FIELDS), lambda: timing_chart(timed))
    show_chart(prob, "generation.prob_chart")
    left, right = st.columns(2)
    show_chart(cache, "generation.cache_chart", where=left)
    show_chart(timing, "generation.time_chart", where=right)
    timeline = shared_table("generation.timeline", chart_inputs(steps, TIMELINE_FIELDS), lambda: timeline_table(steps))
    show_table(timeline, hide_index=True, key=state.GEN_TIMELINE)
    st.download_button(
        "Download the timeline (CSV)",
        lambda: timeline.frame.to_csv(index=False),  # written when clicked (on another thread), not on every step
        "generation_steps.csv",
        "text/csv",
        key=state.GEN_CSV_DOWNLOAD,
        on_click="ignore",
    )


PLAIN, CHAT = "Plain completion", "Chat (the tokenizer's chat template)"
MAX_LINK_NEW_TOKENS = 100_000  # the most a link may ask for; the operator's max_new_tokens caps it, with a note
SHARED = [
    Shared(state.GEN_PROMPT, "prompt"),
    Shared(state.GEN_CHAT, "mode", "choice", choices=(PLAIN, CHAT)),
    Shared(state.GEN_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.GEN_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.GEN_TOP_P, "top_p", "float", *TOP_P_RANGE),
    Shared(state.GEN_SEED, "seed", "int", *SEED_RANGE),
    Shared(state.GEN_MAX_NEW, "max_new", "int", 1, MAX_LINK_NEW_TOKENS),
    Shared(state.GEN_STOP_STRINGS, "stops", max_chars=300),
]


def share_settings() -> None:
    """Put the page's inputs in the URL (call before the widgets)."""
    share_inputs(SHARED, "generation")


_WHOLE = re.compile(r"\s*[+-]?\d+\s*")


def link_steps(steps: str, picks: str | None) -> tuple[int, dict[int, int]] | None:
    """The link's step count and its picks ("step:token_id,..."), or None when either is not in that form."""
    pairs = [part.partition(":") for part in picks.split(",")] if picks else []
    if not _WHOLE.fullmatch(steps) or not all(_WHOLE.fullmatch(i) and _WHOLE.fullmatch(t) for i, _, t in pairs):
        return None
    return int(steps), {int(i): int(t) for i, _, t in pairs}


def replay_from_link(stepper: Stepper) -> None:
    """Once per session: take the link's ``steps`` (with its ``picks``, step:token_id) on a fresh stepper."""
    if st.session_state.get(state.GEN_REPLAYED) or "steps" not in st.query_params:
        return
    st.session_state[state.GEN_REPLAYED] = True
    parsed = link_steps(st.query_params["steps"], st.query_params.get("picks"))
    if parsed is None:
        st.caption("Ignored the link's 'steps' or 'picks' value (expected a number and step:token pairs).")
        return
    asked, picks = parsed
    cap = limits().max_link_steps  # opening a link costs at most this many steps (a few seconds)
    budget = limits().max_replay_tokens  # and at most this many tokens fed to the model, the prefill included
    count = replay_steps_within(stepper.prompt_len, min(asked, cap), budget, stepper.use_cache)
    if stepper.steps or min(asked, cap) <= 0:
        return
    settings = {name: getattr(stepper, name) for name in STEP_SETTINGS}
    replay(
        stepper,
        [
            {"token_id": picks.get(i, -1), "chosen_by": USER if i in picks else "sampled", **settings}
            for i in range(count)
        ],
    )
    if count < min(asked, cap):
        st.info(
            f"This link asked for {asked:,} steps; {replay_bound(stepper, count, budget)}"
            + ("" if stepper.finished else " Press Run to continue.")
            + " "
            + raise_hint("max_replay_tokens")
        )
    elif asked > cap:
        st.info(
            f"This link asked for {asked:,} steps; this server replays at most {cap:,}."
            + ("" if stepper.finished else " Press Run to continue.")
        )


def replay_bound(stepper: Stepper, count: int, budget: int) -> str:
    """The sentence saying how many steps the replay token bound allowed after this prompt."""
    work = "the prompt plus one token per step" if stepper.use_cache else "the prompt, then the whole sequence per step"
    return (
        f"after this prompt's {stepper.prompt_len:,} tokens this server replays {count:,} "
        f"(a replay feeds the model at most {budget:,} tokens: {work})."
    )


def publish_steps(stepper: Stepper) -> None:
    """Write the steps taken and the person's picks to the URL (the link replays them with the same seed)."""
    st.query_params["steps"] = str(len(stepper.steps))
    picks = ",".join(f"{i}:{s.token_id}" for i, s in enumerate(stepper.steps) if s.chosen_by == USER)
    if picks:
        st.query_params["picks"] = picks
    elif "picks" in st.query_params:
        del st.query_params["picks"]


def load_run_file() -> None:
    """Uploader callback: replay a downloaded run record on a fresh stepper (settings restored)."""
    upload = st.session_state.get(state.GEN_RUN_UPLOAD)
    if upload is None:
        return
    try:
        record = parse_record(upload.getvalue())
    except RecordError as error:
        state.set_generation_message(state.Message("error", str(error)))
        return
    st.session_state[state.GEN_PROMPT] = record["prompt"]
    st.session_state[state.PROMPT] = record["prompt"]
    st.session_state.pop(state.GEN_STEPPER, None)
    st.session_state[state.GEN_PENDING_RECORD] = record


def replay_uploaded(stepper: Stepper) -> None:
    """After ``load_run_file``: take the recorded steps on the new stepper and say how it went."""
    record = st.session_state.pop(state.GEN_PENDING_RECORD, None)
    if record is None:
        return
    budget = limits().max_replay_tokens  # a file replays on upload, before anyone can stop it
    count = replay_steps_within(stepper.prompt_len, len(record["steps"]), budget, stepper.use_cache)
    differences = replay(stepper, record["steps"][:count])
    bounded = (
        f" The file has {len(record['steps']):,} steps; {replay_bound(stepper, count, budget)} Press Run to continue. "
        + raise_hint("max_replay_tokens")
        if count < len(record["steps"]) and not stepper.finished
        else ""
    )
    state.set_generation_message(
        state.Message("success", f"Replayed {len(stepper.steps)} steps from the file." + bounded)
        if not differences
        else state.Message(
            "warning",
            f"Replayed {len(stepper.steps)} steps; {differences} came out different (another model or settings?)."
            + bounded,
        )
    )


def run_file_controls(stepper: Stepper) -> None:
    """Download this run as JSON, or load one back to replay it."""
    left, right = st.columns(2)
    left.download_button(
        "Download this run (JSON)",
        record_json(stepper),
        "generation_run.json",
        "application/json",
        key=state.GEN_JSON_DOWNLOAD,
    )
    right.file_uploader("Replay a run (JSON)", type=["json"], key=state.GEN_RUN_UPLOAD, on_change=load_run_file)


SETTINGS = (
    state.GEN_CHAT,
    state.GEN_TEMPERATURE,
    state.GEN_TOP_K,
    state.GEN_TOP_P,
    state.GEN_SEED,
    state.GEN_MAX_NEW,
    state.GEN_STOP_STRINGS,
    state.GEN_NO_CACHE,
    state.GEN_RUN_N,
    state.GEN_TOP_N,
)
PICKS = 8


def act(action: str, *args) -> None:
    """Button callback: one stepper operation, committed whole before the page runs; refusals become a message."""
    stepper = st.session_state.get(state.GEN_STEPPER)
    try:
        if stepper is not None:
            getattr(stepper, action)(*args)
    except (GenerationFinished, StepError) as error:
        state.set_generation_message(state.Message("warning", str(error)))


def request_run(n: int) -> None:
    """Run-button callback: remember how many steps to take; the page body takes them, showing each token."""
    st.session_state[state.GEN_RUN_PENDING] = n


def clamp(key: str, high: int) -> None:
    """Keep a widget's remembered value inside its (shrinking) range before the widget is drawn."""
    if key in st.session_state and st.session_state[key] > high:
        st.session_state[key] = high


def remember_settings() -> None:
    """Keep the settings' values for the next visit (the step panel's own, run_n and top_n, change in its fragment)."""
    st.session_state[state.GEN_SETTINGS] = {k: st.session_state[k] for k in SETTINGS if k in st.session_state}


def session_stepper(lm: LoadedModel, prompt: str, chat: bool, no_cache: bool) -> Stepper:
    """This session's stepper: the one in session state, or a fresh one (its prefill under a spinner, as one job of
    the shared inference service) when the model, the prompt or the mode changed. A bad prompt shows its message
    and stops the page."""
    stepper = st.session_state.get(state.GEN_STEPPER)
    if stepper is None or (stepper.model_name, stepper.lm.model, stepper.prompt, stepper.chat) != (
        lm.name,
        lm.model,
        prompt,
        chat,
    ):
        try:
            with st.spinner(f"Reading the prompt ({len(prompt):,} characters) into a fresh KV cache…"):
                stepper = Stepper(lm, prompt, chat=chat, use_cache=not no_cache, runner=shared_step_runner(lm))
        except PromptError as error:
            notice(error)
            st.stop()
        st.session_state[state.GEN_STEPPER] = stepper  # this session's own stepper and KV cache
    return stepper


def run_steps(stepper: Stepper, pending: int, stop_slot, text_slot, no_cache_budget: int) -> None:
    """Take a Run button's ``pending`` steps with a Stop button in ``stop_slot``, redrawing the text after each
    step; stop early at the end, or at ``no_cache_budget`` tokens of work without the cache. Then rerun the page."""
    stop_slot.button(
        "Stop", key=state.GEN_STOP_BUTTON, help="Stops after the current step; every finished step is kept."
    )
    recomputed = 0  # tokens fed to the model this run: one per step with the cache, the whole sequence without
    for _ in range(min(pending, stepper.max_new_tokens)):
        if stepper.finished:
            break
        if not stepper.use_cache and recomputed >= no_cache_budget:
            state.set_generation_message(
                state.Message(
                    "warning",
                    f"Without the KV cache every step recomputes the whole sequence: this run stopped after "
                    f"{recomputed:,} tokens of work (this server's limit per run: {no_cache_budget:,}). "
                    "Run again to go on.",
                )
            )
            break
        recomputed += 1 if stepper.use_cache else len(stepper.all_ids) + 1
        stepper.step()  # committed whole: leaving mid-run keeps every finished step
        text_slot.html(generated_html(stepper.prompt_text, stepper.steps))
    st.rerun()  # the whole page (this run is one): the buttons above were drawn before the run


def candidates_panel(stepper: Stepper, steps: list[Step], top_n: int) -> None:
    """The next step's candidates as bars, and "Be the sampler": a button per candidate that takes it as the step."""
    st.subheader(f"Step {len(steps) + 1}: candidates for the next token")
    dist = stepper.next_distribution()
    columns = candidate_columns(dist, top_n, stepper.next_sampling_probs())
    left, right = st.columns([3, 2])
    bars = shared_figure(  # one per class at the same step
        "generation.bars", columns_inputs(columns), lambda: probability_bars(pd.DataFrame(columns))
    )
    show_chart(bars, "generation.bars", where=left)
    right.markdown("**Be the sampler:** click a candidate to choose it instead of letting the sampler draw.")
    listed = zip(columns["token"], columns["token_id"], columns["model_probability"])
    picks = [(token, token_id, p) for token, token_id, p in listed if token_id >= 0][:PICKS]
    for i, (token, token_id, p) in enumerate(picks):  # the candidates' rows come first, so i is the row's index
        right.button(
            f"{inert_markdown(token, single_line=True)} · {p:.1%}",
            key=f"{state.GEN_PICK_BUTTON}.{i}",
            on_click=act,
            args=("step", int(token_id)),
            width="stretch",
        )


def rewind_panel(steps: list[Step], top_n: int) -> None:
    """Rewinding to an earlier step, and the candidates of an earlier step (drawn only while its expander is open)."""
    r1, r2 = st.columns([1, 3], vertical_alignment="bottom")
    clamp(state.GEN_REWIND_TO, len(steps))
    st.session_state.setdefault(state.GEN_REWIND_TO, max(0, len(steps) - 1))
    r1.number_input(
        "Rewind to just after step",
        0,
        len(steps),
        key=state.GEN_REWIND_TO,
        help="0 goes back to the prompt. The steps you drop are kept as a branch.",
    )
    r2.button(
        "Rewind",
        on_click=lambda: act("rewind", int(st.session_state[state.GEN_REWIND_TO])),
        key=state.GEN_REWIND_BUTTON,
    )
    clamp(state.GEN_VIEW_STEP, len(steps))
    earlier = st.expander("Candidates at an earlier step", key=state.GEN_VIEW_OPEN, on_change="rerun")
    if earlier.open:  # drawn only while open
        with earlier:
            st.session_state.setdefault(state.GEN_VIEW_STEP, len(steps))
            shown = st.number_input("Step", 1, len(steps), key=state.GEN_VIEW_STEP)
            show_chart(
                probability_bars(step_candidate_table(steps[shown - 1], top_n), title=f"Candidates at step {shown}"),
                "generation.past_bars",
            )


def branches_panel(stepper: Stepper) -> None:
    """The continuations a rewind dropped, each with a button that returns to it."""
    with st.expander(f"Abandoned continuations ({len(stepper.branches)})"):
        for i, branch in enumerate(stepper.branches):
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(
                f"After step {branch.after_step}: {inert_markdown(branch.text[:200], single_line=True) or '∅'}"
            )
            right.button("Return to it", key=f"{state.GEN_BRANCH_BUTTON}.{i}", on_click=act, args=("restore_branch", i))


def step_panel(facts: ModelFacts, chat: bool, no_cache_budget: int) -> None:
    """The stepping buttons and everything a step changes: the text so far, the candidates, the KV cache, the
    timeline, rewinding and the run file. Reads this session's stepper, which the full run above made and configured.

    Drawn as a fragment (``step_fragment``): a step, a pick, a rewind rerun only this panel. Two things need the
    whole page: a new stepper (Reset, a loaded run file: the page above makes it) and a run of several steps (its
    Stop button must interrupt the run, and a fragment's button waits for the run instead).
    """
    LIMITS = limits()  # as on the page: this server's limits (a fragment rerun reads them again)
    stepper = st.session_state.get(state.GEN_STEPPER)
    if stepper is None or state.GEN_PENDING_RECORD in st.session_state:
        st.rerun(scope="app")
    if message := state.take_generation_message():
        notice(message)

    finished = stepper.finished
    b1, b2, b3, b4, b5 = st.columns([1, 1, 1.2, 1.2, 1], vertical_alignment="bottom")
    b1.button("Step", type="primary", on_click=act, args=("step",), disabled=finished, key=state.GEN_STEP_BUTTON)
    st.session_state.setdefault(state.GEN_RUN_N, min(10, LIMITS.max_new_tokens))
    run_n = b2.number_input("Steps to run", 1, min(500, LIMITS.max_new_tokens), key=state.GEN_RUN_N)
    b3.button(
        f"Run {run_n} steps", on_click=request_run, args=(int(run_n),), disabled=finished, key=state.GEN_RUN_BUTTON
    )
    b4.button(
        "Run to the end",
        on_click=request_run,
        args=(LIMITS.max_new_tokens,),
        disabled=finished,
        key=state.GEN_RUN_ALL_BUTTON,
    )
    b5.button("Reset", on_click=lambda: st.session_state.pop(state.GEN_STEPPER, None), key=state.GEN_RESET_BUTTON)
    stop_slot = st.empty()

    st.subheader("The text so far")
    st.caption(
        "Grey: the prompt" + (" wrapped in the chat template" if chat else "") + ". Then one chip per generated "
        "token, darker when the model gave it a higher probability (hover for details)."
    )
    text_slot = st.empty()
    if pending := st.session_state.pop(state.GEN_RUN_PENDING, 0):  # popped first: an interrupted run never resumes
        run_steps(stepper, pending, stop_slot, text_slot, no_cache_budget)
    text_slot.html(generated_html(stepper.prompt_text, stepper.steps))
    steps = stepper.steps
    publish_steps(stepper)
    if finished:
        st.success(
            stop_message(
                stepper.stop_reason,
                max_new_tokens=stepper.max_new_tokens,
                context_length=stepper.context_length,
                stop_string=stepper.matched_stop_string(),
            )
        )
    if steps:
        last_step_summary(steps[-1])

    st.session_state.setdefault(state.GEN_TOP_N, 10)
    top_n = st.slider("Candidates to show", 3, 20, key=state.GEN_TOP_N)
    remember_settings()
    if not finished:
        candidates_panel(stepper, steps, top_n)

    kv_cache_panel(facts, stepper, steps)

    if steps:
        timeline_panel(steps)
        copy_link_control()
        rewind_panel(steps, top_n)

    run_file_controls(stepper)
    if stepper.branches:
        branches_panel(stepper)


@st.fragment
def step_fragment(facts: ModelFacts, chat: bool, no_cache_budget: int) -> None:
    """``step_panel`` as a fragment; a Run button sends its run to the whole page."""
    if st.session_state.get(state.GEN_RUN_PENDING):
        st.rerun(scope="app")
    step_panel(facts, chat, no_cache_budget)


# On the operator's model server (ui/backend.py): what a server reports, said on the page.
MAX_REMOTE_STEPS = 128  # tokens the server generates per request at most (the slider's and the link's steps)
REMOTE_SHARED = (
    Shared(state.REMOTE_GEN_PROMPT, "prompt"),
    Shared(state.REMOTE_GEN_STEPS, "steps", "int", 1, MAX_REMOTE_STEPS),
    Shared(state.REMOTE_GEN_TOP_N, "top_n", "int", 1, 100),
    Shared(state.REMOTE_GEN_TEMPERATURE, "t", "float", *TEMPERATURE_RANGE),
    Shared(state.REMOTE_GEN_TOP_K, "top_k", "int", *TOP_K_RANGE),
    Shared(state.REMOTE_GEN_TOP_P, "top_p", "float", *TOP_P_RANGE),
    Shared(state.REMOTE_GEN_SEED, "seed", "int", *SEED_RANGE),
)


def _remote_generation(
    backend: RemoteBackend, prompt: str, steps: int, top_n: int, t: float, k: int, p: float, seed: int
):
    try:
        generation = backend.generate(
            clean_prompt(prompt), steps, temperature=t, top_k=k, top_p=p, seed=seed, top_n=top_n
        )
    except (PromptError, RemoteError, Unsupported) as error:
        notice(error, "warning")
        return
    st.session_state[state.REMOTE_GENERATION] = generation


def remote_view(backend: RemoteBackend) -> None:
    """Generation through the server in one request, with each step's top N log-probabilities."""
    st.title("Step-by-step generation")
    server_caption(backend)
    share_inputs(REMOTE_SHARED, "remote.generation")
    copy_link_control()
    st.caption(
        "The server runs the decode loop itself (prefill, then one token per step with its own KV cache) and "
        "returns every step's chosen token with its top candidates. Stepping one token at a time, picking a token "
        "yourself, rewinding and the cache's measured size need the local model."
    )
    prompt = prompt_area(state.REMOTE_GEN_PROMPT)
    left, right = st.columns(2)
    with left:  # the operator's max_new_tokens may be below a link's steps: clamped
        steps = bounded_slider(
            "Tokens to generate", 1, min(MAX_REMOTE_STEPS, limits().max_new_tokens), 30, key=state.REMOTE_GEN_STEPS
        )
    with right:
        top_n = bounded_slider("Candidates per step", 1, backend.max_top_n, 5, key=state.REMOTE_GEN_TOP_N)
    st.session_state.setdefault(state.REMOTE_GEN_TEMPERATURE, 0.0)
    t, k, p = sampling_controls(state.REMOTE_GEN_TEMPERATURE, state.REMOTE_GEN_TOP_K, state.REMOTE_GEN_TOP_P)
    st.session_state.setdefault(state.REMOTE_GEN_SEED, 0)
    seed = st.number_input("Seed", *SEED_RANGE, key=state.REMOTE_GEN_SEED)
    st.caption("Temperature 0 is greedy. Here the server's own sampler draws (its seed, its filters).")
    if st.button("Generate through the server", key=state.REMOTE_GEN_RUN, type="primary"):
        with st.spinner("The model server is generating…"):
            _remote_generation(backend, prompt, steps, top_n, t, k, p, int(seed))
    generation = st.session_state.get(state.REMOTE_GENERATION)
    if isinstance(generation, Generation):
        st.html(generation_html(generation))
        st.caption(f"{len(generation.tokens)} tokens; the server's stop reason: {generation.finish_reason or 'none'}.")
        show_table(generation_table(generation), hide_index=True)

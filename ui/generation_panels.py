"""The generation page's step panel, drawn with Streamlit: the buttons that drive this session's Stepper, their
callbacks, and everything a step changes (the text so far, the candidates, rewinding, the abandoned branches)."""

from __future__ import annotations

import streamlit as st

from components.generation import generated_html, step_candidate_table, stop_message
from components.inert import inert_markdown
from components.next_token import probability_bars
from components.tables import candidate_table
from core.generation import GenerationFinished, Step, Stepper
from core.models import LoadedModel, ModelFacts
from core.text import PromptError
from ui import state
from ui.charts import show_chart
from ui.generation import kv_cache_panel, last_step_summary, timeline_panel
from ui.generation_share import publish_steps, run_file_controls
from ui.notice import notice
from ui.settings import limits
from ui.share import copy_link_control

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
    except (GenerationFinished, ValueError, IndexError) as error:
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
    """This session's stepper: the one in session state, or a fresh one (its prefill under a spinner) when the
    model, the prompt or the mode changed. A bad prompt shows its message and stops the page."""
    stepper = st.session_state.get(state.GEN_STEPPER)
    if stepper is None or (stepper.model_name, stepper.lm.model, stepper.prompt, stepper.chat) != (
        lm.name,
        lm.model,
        prompt,
        chat,
    ):
        try:
            with st.spinner(f"Reading the prompt ({len(prompt):,} characters) into a fresh KV cache…"):
                stepper = Stepper(lm, prompt, chat=chat, use_cache=not no_cache)
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
    table = candidate_table(dist, top_n, stepper.next_sampling_probs())
    left, right = st.columns([3, 2])
    show_chart(probability_bars(table), "generation.bars", where=left)
    right.markdown("**Be the sampler:** click a candidate to choose it instead of letting the sampler draw.")
    for i, row in table[table["token_id"] >= 0].head(PICKS).iterrows():
        right.button(
            f"{inert_markdown(row['token'], single_line=True)} · {row['model_probability']:.1%}",
            key=f"{state.GEN_PICK_BUTTON}.{i}",
            on_click=act,
            args=("step", int(row["token_id"])),
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

"""Step-by-step generation: the autoregressive loop one token at a time, with the KV cache made visible."""

import streamlit as st

from core.generation import parse_stop_strings
from ui import state
from ui.backend import remote_page
from ui.controls import SEED_RANGE, limited_text, prompt_area, sampling_controls
from ui.inference import shared_step_runner
from ui.lessons import lesson_presets
from ui.model_picker import current_model
from ui.settings import limits, raise_hint
from views.generation import (
    CHAT,
    PLAIN,
    clamp,
    remember_settings,
    remote_view,
    replay_from_link,
    replay_uploaded,
    session_stepper,
    share_settings,
    step_fragment,
    step_panel,
)

NO_CACHE_FACTOR = 16  # without the KV cache a run may recompute 16 x max-new-tokens tokens (4,096 by default)

# Widget values survive a visit to another page (Streamlit forgets widgets that are not drawn).
for key, value in st.session_state.get(state.GEN_SETTINGS, {}).items():
    st.session_state.setdefault(key, value)
st.session_state.setdefault(state.GEN_TEMPERATURE, 0.7)  # seed 004's loop: temperature 0.7, top-p 0.9
st.session_state.setdefault(state.GEN_TOP_P, 0.9)

remote_page(remote_view)  # the operator's model server generates (views/generation.py)
st.title("Step-by-step generation")
st.caption(
    "A language model does not write a paragraph at once: it predicts one token, appends it to its input and "
    "runs again. Here you drive that loop, one step at a time, and watch the KV cache that makes it fast."
)
lesson_presets("generation", plain=PLAIN)
share_settings()
LIMITS = limits()
if (asked := st.session_state.get(state.GEN_MAX_NEW, 0)) > LIMITS.max_new_tokens:  # a link's or an older value
    st.info(f"Max new tokens was {asked:,}; this server generates at most {LIMITS.max_new_tokens:,} per run.")
clamp(state.GEN_MAX_NEW, LIMITS.max_new_tokens)
clamp(state.GEN_RUN_N, LIMITS.max_new_tokens)
lm = current_model()
chat = st.radio("Mode", [PLAIN, CHAT], horizontal=True, key=state.GEN_CHAT) == CHAT
prompt = prompt_area(state.GEN_PROMPT, label="Your message" if chat else "Prompt", height=90)
temperature, top_k, top_p = sampling_controls(state.GEN_TEMPERATURE, state.GEN_TOP_K, state.GEN_TOP_P)
a, b, c, d = st.columns(4)
st.session_state.setdefault(state.GEN_SEED, 0)
seed = a.number_input(
    "Seed", *SEED_RANGE, key=state.GEN_SEED, help="Step i draws with a generator seeded by (seed, i)."
)
st.session_state.setdefault(state.GEN_MAX_NEW, min(64, LIMITS.max_new_tokens))
max_new = b.number_input("Max new tokens", 1, LIMITS.max_new_tokens, key=state.GEN_MAX_NEW)
stops = limited_text(
    "Stop strings",
    state.GEN_STOP_STRINGS,
    300,
    area=False,
    where=c,
    placeholder="e.g. .|\\n\\nUser:",
    help="Separate several with |. Type \\n for a newline.",
)
no_cache = d.toggle(
    "Without KV cache",
    key=state.GEN_NO_CACHE,
    help="Recompute the whole sequence at every step, as a loop without a cache would.",
)
remember_settings()
no_cache_budget = NO_CACHE_FACTOR * LIMITS.max_new_tokens
st.caption(
    f"This server generates at most {LIMITS.max_new_tokens:,} tokens per run"
    + (f"; without the KV cache, one run recomputes at most {no_cache_budget:,} tokens." if no_cache else "."),
    help=raise_hint("max_new_tokens"),
)

stepper = session_stepper(lm, prompt, chat, no_cache)
stepper.configure(
    temperature=temperature,
    top_k=top_k,
    top_p=top_p,
    seed=int(seed),
    max_new_tokens=min(int(max_new), LIMITS.max_new_tokens),
    stop_strings=parse_stop_strings(stops),
    use_cache=not no_cache,
)
stepper.runner = shared_step_runner(lm)  # each decode step one queued job of this session on the shared worker
replay_from_link(stepper)
replay_uploaded(stepper)
if stepper.dropped_tokens:
    st.warning(
        f"The prompt was too long: the model reads only its last {stepper.prompt_len:,} tokens "
        f"({stepper.dropped_tokens:,} dropped from the start)."
    )
for note in stepper.notes:
    st.caption(note)
if st.session_state.get(state.GEN_RUN_PENDING):  # a run of several steps: the whole page, so Stop interrupts it
    with st.container():  # the block a fragment draws into: the panel's last view stays in place while it runs
        step_panel(lm.facts, chat, no_cache_budget)
else:
    step_fragment(lm.facts, chat, no_cache_budget)

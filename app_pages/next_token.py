"""Next-token probabilities: the model's full-vocabulary distribution after a prompt, and the sampler's view of it."""

import streamlit as st

from core.lessons import FIVE_WORD_VOCABULARY, NEXT_TOKEN_LESSON
from core.seed_examples import SUPPORT_BOT_LOGITS, SUPPORT_BOT_TOKENS
from core.text import PromptError
from core.toy import ToyError, parse_toy, toy_distribution
from ui import state
from ui.backend import remote_page
from ui.controls import prompt_area
from ui.lessons import lesson_presets
from ui.memo import session_distribution
from ui.model_picker import current_model
from ui.notice import notice
from ui.presenter import presenter_mode
from ui.share import share_inputs
from views.next_token import REAL, SHARED, TOY, compare_prompts, remote_view, sampler

remote_page(remote_view)  # the operator's model server: its top N (views/next_token.py)
st.title("Next-token probabilities")
st.caption(
    "The model reads the prompt and gives every token in its vocabulary a probability of coming next. "
    "The bars show the top candidates; the last bar holds the probability of all the others."
)
lesson_presets("next_token", toy=TOY)
share_inputs(SHARED, "next_token")
lm = current_model()
mode = st.radio("Where the logits come from", [REAL, TOY], horizontal=True, key=state.NT_MODE)
try:
    if mode == REAL:
        prompt = prompt_area(state.NT_PROMPT)
        dist = session_distribution(lm, prompt)
        if dist.dropped_tokens:
            st.warning(
                f"The prompt was too long: the model read only its last {len(dist.prompt_ids):,} tokens "
                f"({dist.dropped_tokens:,} dropped from the start)."
            )
    else:
        st.caption(
            "Type a few tokens and their logits (raw scores). The default is "
            f"{FIVE_WORD_VOCABULARY} of {NEXT_TOKEN_LESSON}: 'The support bot answered'."
        )
        left, right = st.columns(2)
        # Defaults in session state, not in the widgets: a lesson button or a shared link may have set them.
        st.session_state.setdefault(state.NT_TOY_TOKENS, ", ".join(SUPPORT_BOT_TOKENS))
        st.session_state.setdefault(state.NT_TOY_LOGITS, ", ".join(f"{v:g}" for v in SUPPORT_BOT_LOGITS))
        tokens_text = left.text_input("Tokens", key=state.NT_TOY_TOKENS)
        logits_text = right.text_input("Logits", key=state.NT_TOY_LOGITS)
        dist = toy_distribution(*parse_toy(tokens_text, logits_text))
except (PromptError, ToyError) as error:
    notice(error)
    st.stop()

sampler(dist, mode)
if presenter_mode():  # a projector: the chart and the numbers, not the extras
    st.stop()
if mode == REAL:
    compare_prompts(lm)

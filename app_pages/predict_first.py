"""Predict first: read a text word by word and guess each next token before it appears; each guess is scored
against the model (its rank and probability, a hit when it is the model's top-1 token)."""

import streamlit as st

from components.inert import inert_html, inert_markdown
from components.poll import prediction_table
from core.poll import MAX_PREDICT_CHARS, predict_steps, score_prediction, score_summary
from core.text import TextError
from ui import state
from ui.charts import show_table
from ui.controls import limited_text
from ui.memo import session_distribution
from ui.notice import notice
from ui.poll import poll_model
from views.predict_first import EXAMPLES, TEXT_CSS, fill_text, restart

st.title("Predict first")
st.caption(
    "Next-token prediction, your turn: the text appears one word at a time. Before each word, type the token you "
    "think comes next. You score a hit when your guess is the model's most likely token."
)
st.selectbox("A text from the lessons", list(EXAMPLES), key=state.PF_EXAMPLE, on_change=fill_text)
st.session_state.setdefault(state.PF_TEXT, EXAMPLES[next(iter(EXAMPLES))])
text = limited_text("The text (or type your own)", state.PF_TEXT, MAX_PREDICT_CHARS, height=80)
try:
    steps = predict_steps(text)
except TextError as error:
    notice(error)
    st.stop()

saved = st.session_state.get(state.PF_SCORES)
scores = list(saved[1]) if isinstance(saved, tuple) and saved[0] == text else []
position = len(scores)
shown = steps[position].prefix if position < len(steps) else text
st.html(TEXT_CSS + inert_html(shown + (" …" if position < len(steps) else ""), css_class="nte-predict-text"))

if position < len(steps):
    with st.form(state.PF_GUESS_FORM, clear_on_submit=True, border=False):
        guess = st.text_input(f"Your guess for word {position + 2}", key=state.PF_GUESS, placeholder="the next word")
        sent = st.form_submit_button("Guess", key=state.PF_SUBMIT, type="primary")
    if sent:
        step = steps[position]
        try:
            score = score_prediction(session_distribution(poll_model(), step.prefix), step, guess, position)
        except TextError as error:
            notice(error, "error")
        else:
            st.session_state[state.PF_SCORES] = (text, (*scores, score))
            st.rerun()
else:
    st.success("You have guessed every word of this text.")

if scores:
    last = scores[-1]
    verdict = "a hit: the model's top token!" if last.hit else f"rank {last.guess.rank:,} in the model's list."
    st.info(
        f"You guessed {inert_markdown(last.guess.guess)} (token {inert_markdown(last.guess.token)}, probability "
        f"{last.guess.probability:.2%}): {verdict} The model's top token was {inert_markdown(last.model_token)} "
        f"({last.model_probability:.1%}); the text says {inert_markdown(last.word)}."
    )
    summary = score_summary(scores)
    a, b, c, d = st.columns(4)
    a.metric("Hits (model's top-1)", f"{summary.hits} of {summary.guesses}")
    b.metric("You got the text", f"{summary.guessed_right} of {summary.guesses}")
    c.metric("The model got the text", f"{summary.model_right} of {summary.guesses}")
    d.metric("Median rank of your guesses", f"{summary.median_rank:,.0f}")
    show_table(prediction_table(scores), hide_index=True)
    st.button("Start again", key=state.PF_RESTART, on_click=restart)

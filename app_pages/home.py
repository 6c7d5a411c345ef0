"""Home: what Next-Token Explorer is, and a link to every page."""

import streamlit as st

from ui.navigation import ROOT, available_pages

st.title("Next-Token Explorer")
st.markdown(
    """
A large language model does one job over and over: **given the tokens so far, it gives a probability to
every possible next token**. Then a decoding rule picks one, appends it, and the model runs again.
This app lets you poke a real one, SmolLM2-135M-Instruct, running right here on the server's CPU:
see its next-token probabilities, change the temperature, generate one token at a time, look at its
attention, measure how surprised it is by your text, and work out how much memory its KV cache needs.
"""
)
for info in available_pages():
    if info.path == "app_pages/home.py":
        continue
    st.page_link(str(ROOT / info.path), label=f"**{info.title}**: {info.blurb}", icon=info.icon)
st.caption(
    "The model picker and the model's facts are in the sidebar. Examples follow the lessons' worked numbers: "
    "look for the Lesson examples buttons at the top of a page."
)

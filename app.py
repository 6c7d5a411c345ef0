"""Next-Token Explorer: the router and frame (page config, shared sidebar, navigation)."""
from __future__ import annotations

import logging

import streamlit as st

from components import state
from components.model_picker import model_sidebar, prepare_default_model
from components.navigation import ROOT, available_pages
from components.presenter import presenter_toggle
from components.settings import torch_threads
from core.models import ModelLoadError, set_torch_threads

st.set_page_config(page_title="Next-Token Explorer", page_icon=":material/bar_chart:", layout="wide")
state.init_state()
set_torch_threads(torch_threads())

pages = [st.Page(str(ROOT / p.path), title=p.title, icon=p.icon, default=(p.path == "pages/home.py")) for p in available_pages()]
page = st.navigation(pages)

prepare_default_model()
with st.sidebar:
    st.markdown("### Next-Token Explorer")
    try:
        model_sidebar()
    except ModelLoadError as error:
        st.error(str(error))
        st.stop()
    presenter_toggle()

try:
    page.run()
except Exception as error:  # the last line of defence: no traceback ever reaches the page
    logging.getLogger("next_token_explorer").exception("Unexpected error on %s", page.title)
    st.error(f"Unexpected error: {type(error).__name__}. The page could not finish; try another input.")

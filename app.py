"""Next-Token Explorer: the router and frame (page config, shared sidebar, navigation)."""

from __future__ import annotations

import streamlit as st

from core.models import ModelLoadError, set_torch_threads
from ui import state
from ui.errors import run_guarded
from ui.idle_release import note_script_run, script_run
from ui.model_defaults import fit_texts_to_model
from ui.model_picker import model_sidebar, model_unavailable, prepare_default_model
from ui.navigation import ROOT, available_pages
from ui.nodelay import enable_nodelay
from ui.notice import notice
from ui.presenter import presenter_toggle
from ui.settings import torch_threads

enable_nodelay()  # once per process: a rerun's messages leave at once, not ~40 ms late (see ui/nodelay.py)
note_script_run()  # memory comes back when the server goes idle (see ui/idle_release.py)
st.set_page_config(page_title="Next-Token Explorer", page_icon=":material/bar_chart:", layout="wide")
state.init_state()
set_torch_threads(torch_threads())

pages = [
    st.Page(str(ROOT / p.path), title=p.title, icon=p.icon, default=(p.path == "app_pages/home.py"))
    for p in available_pages()
]
page = st.navigation(pages, expanded=True)  # every page in the menu: a teacher looks for them by name

prepare_default_model()
with st.sidebar:
    st.markdown("### Next-Token Explorer")
    lm, model_error = None, None
    try:
        lm = model_sidebar()
    except ModelLoadError as error:  # said in the main area too, where a phone and a projector see it
        model_error = error
        notice(error, "error")
    presenter_toggle()


def run_page() -> None:
    if model_error is not None:
        model_unavailable(model_error, page.url_path)  # stops, except on the pages that need no pretrained model
    else:
        fit_texts_to_model(lm)  # a tiny trained model's prompts come from its own corpus (it reads them: guarded too)
    page.run()


with script_run():  # no idle release while a page runs
    run_guarded(run_page, page.title)  # the last line of defence: no traceback, not even a panic's, reaches the page

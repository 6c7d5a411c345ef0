"""AppTest: the last-line handler (ui.errors.run_guarded, app.py's last line) turns anything that escapes a
page, even a Rust panic that is no Exception, into a plain message, and lets Streamlit's rerun and stop through."""

from __future__ import annotations

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest

from tests.app.helpers import all_text, open_page
from ui import state
from ui.errors import UNEXPECTED_ERROR, is_control_flow
from ui.model_picker import TRAINED_LABEL

HOSTILE_REGEX = "(a|a)+$"
HOSTILE_INPUT = "a" * 30 + "b"


def _panic() -> BaseException:
    """The real thing: pyo3's PanicException from the tokenizers library (a BaseException, not an Exception)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    backend = Tokenizer(models.WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(HOSTILE_REGEX), behavior="isolated")
    try:
        backend.encode(HOSTILE_INPUT)
    except BaseException as error:  # noqa: BLE001 - that is the point
        return error
    raise AssertionError("the hostile regex did not panic")


def _panicking_page():
    import streamlit as st
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    from ui.errors import run_guarded

    def page():
        st.title("A page whose tokenizer panics")
        backend = Tokenizer(models.WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex("(a|a)+$"), behavior="isolated")
        st.write(backend.encode("a" * 30 + "b").ids)

    run_guarded(page, "a page whose tokenizer panics")
    st.caption("The frame goes on after the page.")


def _rerun_then_stop_page():
    import streamlit as st

    from ui.errors import run_guarded

    def page():
        st.session_state["runs"] = st.session_state.get("runs", 0) + 1
        if st.session_state["runs"] == 1:
            st.rerun()
        st.markdown(f"Run {st.session_state['runs']}")
        st.stop()
        st.markdown("after st.stop inside the page")

    run_guarded(page, "rerun then stop")
    st.markdown("after st.stop outside the page")


def test_the_panic_is_a_base_exception_that_is_not_control_flow():
    panic = _panic()
    assert type(panic).__name__ == "PanicException" and not isinstance(panic, Exception)
    assert not is_control_flow(panic)
    assert not is_control_flow(ValueError("x")) and not is_control_flow(BaseException("bare"))


@pytest.mark.parametrize(
    "exc", [RerunException(RerunData()), StopException(), KeyboardInterrupt(), SystemExit(0), GeneratorExit()]
)
def test_streamlit_rerun_and_stop_and_interpreter_exits_are_control_flow(exc):
    assert is_control_flow(exc)


def test_a_panic_in_a_page_becomes_a_plain_message():
    at = AppTest.from_function(_panicking_page, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [UNEXPECTED_ERROR]
    assert "The frame goes on after the page." in all_text(at)  # the run finished: the page is not left greyed
    assert "Panic" not in all_text(at) and "Traceback" not in all_text(at) and "Onig" not in all_text(at)


def test_rerun_and_stop_pass_through_the_handler():
    at = AppTest.from_function(_rerun_then_stop_page, default_timeout=30).run()
    assert not at.exception and not at.error
    assert at.session_state["runs"] == 2
    text = all_text(at)
    assert "Run 2" in text and "after st.stop" not in text


def test_app_py_shows_the_message_when_a_models_tokenizer_panics_on_a_page():
    """Through app.py: a model whose tokenizer panics (as an unchecked upload could) on the next-token page."""
    from tokenizers import Regex, pre_tokenizers

    from core.models import wrap_model
    from core.tiny_tokenizers import make_tokenizer, wrap_tokenizer
    from core.training import TOY_CORPUS, ModelSize, build_model

    backend = make_tokenizer(TOY_CORPUS, "char").backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(HOSTILE_REGEX), behavior="isolated")
    tokenizer = wrap_tokenizer(backend)
    lm = wrap_model(build_model(ModelSize(1, 1, 8, 8), tokenizer), tokenizer, "panicking model (test)", "test")
    at = open_page("app_pages/next_token.py")
    at.session_state[state.TRAINED_MODEL] = lm
    at.session_state[state.MODEL_NAME] = TRAINED_LABEL
    at.session_state[state.MODEL_REVERT] = True
    at.run()  # the model is in use: the page's prompts are now its own corpus's (a swap on the model change)
    at.text_area(key="next_token.prompt").set_value(HOSTILE_INPUT).run()  # typed while it is in use: kept
    assert not at.exception, [e.value for e in at.exception]
    assert UNEXPECTED_ERROR in [e.value for e in at.error]
    assert "Panic" not in all_text(at) and "Traceback" not in all_text(at)

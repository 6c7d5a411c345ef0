"""AppTest: a perplexity link or a generation replay is bounded by the tokens it feeds the model, not by characters or
steps alone; the page states each bound, says when it bit, and the operator can raise it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import core.perplexity
from core.perplexity_examples import EXAMPLES
from tests.app.helpers import ROOT, all_text, assert_clean
from ui import state

pytestmark = pytest.mark.slow  # make test only: long perplexity and replay runs at the token bounds

# 3,990 characters that the bundled tokenizer splits into 1,182 tokens (code, French, random symbols)
LONG_TEXT = ((" ".join(EXAMPLES.values()) + " ") * 20)[:3990]
OPERATOR_ENV = ("NTE_MAX_PERPLEXITY_TOKENS", "NTE_MAX_REPLAY_TOKENS", "NTE_MAX_LINK_STEPS", "NTE_MAX_NEW_TOKENS")


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for name in OPERATOR_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def windows_run(monkeypatch):
    """Every window list the calculator builds (it is built only once the run's cost fits)."""
    seen = []
    real = core.perplexity.sliding_windows
    monkeypatch.setattr(core.perplexity, "sliding_windows", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    return seen


def open_link(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at


def test_a_stride_one_link_is_raised_to_fit_the_token_bound_and_says_so(windows_run):
    at = open_link("app_pages/perplexity.py", {"text": LONG_TEXT, "window": "256", "stride": "1"})
    text = all_text(at).replace("\\", "")  # markdown escapes
    assert "One scoring feeds the model at most 2,048 tokens" in text  # the bound, stated
    assert windows_run and all(sum(w.end - w.begin for w in ws) <= 2_048 for ws in windows_run)
    note = next(i.value for i in at.info if "A stride of 1 would feed the model" in i.value).replace("\\", "")
    assert "237,568 tokens" in note and "at most 2,048 per scoring" in note
    assert "stride was raised to 133 (2,044 tokens)" in note and "NTE_MAX_PERPLEXITY_TOKENS" in note
    assert any(m.label == "Perplexity" for m in at.metric)
    assert "stride 133" in text  # the windows caption gives the stride used


def test_the_operator_raises_the_token_bound(monkeypatch, windows_run):
    monkeypatch.setenv("NTE_MAX_PERPLEXITY_TOKENS", "20000")
    at = open_link("app_pages/perplexity.py", {"text": LONG_TEXT, "window": "256", "stride": "64"})
    assert "One scoring feeds the model at most 20,000 tokens" in all_text(at)
    assert not any("would feed the model" in i.value for i in at.info)
    assert windows_run[-1][1].begin == 64  # the stride asked for


def test_a_text_longer_than_the_bound_is_refused_before_any_window(monkeypatch, windows_run):
    monkeypatch.setenv("NTE_MAX_PERPLEXITY_TOKENS", "500")
    at = open_link("app_pages/perplexity.py", {"text": LONG_TEXT})
    refusal = next(i.value for i in at.info if "at most 500 per scoring" in i.value).replace("\\", "")
    assert "1,183 tokens" in refusal and "NTE_MAX_PERPLEXITY_TOKENS" in refusal
    assert windows_run == [] and not any(m.label == "Perplexity" for m in at.metric)


def test_a_link_replays_only_the_steps_its_token_bound_allows(monkeypatch):
    monkeypatch.setenv("NTE_MAX_REPLAY_TOKENS", "40")  # the prompt's prefill plus one token per step
    at = open_link("app_pages/generation.py", {"prompt": "Once upon a time", "steps": "64", "t": "0"})
    stepper = at.session_state[state.GEN_STEPPER]
    allowed = 40 - stepper.prompt_len
    assert len(stepper.steps) == allowed < 64
    note = next(i.value for i in at.info if "This link asked for 64 steps" in i.value).replace("\\", "")
    assert f"after this prompt's {stepper.prompt_len} tokens this server replays {allowed}" in note
    assert "at most 40 tokens" in note and "Press Run to continue." in note and "NTE_MAX_REPLAY_TOKENS" in note


def test_a_short_prompts_link_still_replays_its_steps():
    at = open_link("app_pages/generation.py", {"prompt": "Once upon a time", "steps": "5", "t": "0"})
    assert len(at.session_state[state.GEN_STEPPER].steps) == 5
    assert not any("This link asked for" in i.value for i in at.info)


def test_a_run_files_replay_stops_at_the_token_bound(monkeypatch):
    """What the uploader's callback leaves (the file's prompt and record), then the page run that replays it."""
    monkeypatch.setenv("NTE_MAX_REPLAY_TOKENS", "30")
    at = open_link("app_pages/generation.py", {"prompt": "Once upon a time", "t": "0"})
    step = {"token_id": 13, "chosen_by": "greedy", "temperature": 0.0, "top_k": 0, "top_p": 1.0, "seed": 0}
    at.session_state[state.GEN_PENDING_RECORD] = {"prompt": "Once upon a time", "steps": [step] * 50}
    at.session_state[state.GEN_STEPPER] = None  # the callback drops the stepper: the page makes a fresh one
    at.run()
    assert_clean(at)
    stepper = at.session_state[state.GEN_STEPPER]
    allowed = 30 - stepper.prompt_len
    assert len(stepper.steps) == allowed < 50
    text = all_text(at).replace("\\", "")
    said = f"The file has 50 steps; after this prompt's {stepper.prompt_len} tokens this server replays {allowed}"
    assert said in text
    assert "NTE_MAX_REPLAY_TOKENS" in text

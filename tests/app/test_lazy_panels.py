"""AppTest: collapsed and hidden panels compute nothing until they are opened (rerun only what changed).

The model functions are wrapped with counters (AppTest runs the page in this process, and each run imports them
afresh from their modules), so each test sees exactly which model calls a first view makes.
"""

from __future__ import annotations

import pytest

import ui.memo
import views.perplexity
from core.perplexity_examples import FLUENT, RANDOM_CHARACTERS, SHUFFLED
from core.seed_examples import PACKAGE_PROMPTS
from tests.app.helpers import assert_clean, open_page, plotly_specs
from ui import state


def count_calls(monkeypatch, module, name: str) -> list[str]:
    """Wrap ``module.name(lm, text, ...)`` so every call records its text; returns the list of texts, in order."""
    seen: list[str] = []
    real = getattr(module, name)

    def counting(lm, text, *args, **kwargs):
        seen.append(text)
        return real(lm, text, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return seen


@pytest.fixture
def next_token_prompts(monkeypatch):
    """The prompts ``next_token_distribution`` is called with, in order (patched in ui.memo, its caller)."""
    return count_calls(monkeypatch, ui.memo, "next_token_distribution")


@pytest.fixture
def scored_texts(monkeypatch):
    """The texts ``core.perplexity.perplexity`` scores, in order (patched in views.perplexity, where it is called)."""
    return count_calls(monkeypatch, views.perplexity, "perplexity")


def test_next_token_candidates_table_is_sent_only_once_opened():
    at = open_page("app_pages/next_token.py")
    assert not at.dataframe  # a temperature step with the table closed sends no table
    at.session_state[state.NT_TABLE_OPEN] = True  # what opening the expander in the browser sets
    at.run()
    assert_clean(at)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 11  # the bars: 10 candidates + all other tokens


def test_next_token_compare_expander_runs_the_model_only_once_opened(next_token_prompts):
    at = open_page("app_pages/next_token.py")
    assert set(next_token_prompts) == {"The capital of France is"}  # the page's prompt only: nothing for the expander
    assert not plotly_specs(at)  # the page's own bars are drawn in the browser (ui/client_sampler.py)
    assert not at.text_input  # the compare boxes are not drawn while collapsed

    at.session_state[state.NT_COMPARE_OPEN] = True  # what opening the expander in the browser sets
    at.run()
    assert_clean(at)
    assert set(next_token_prompts) == {"The capital of France is", *PACKAGE_PROMPTS}
    assert [s["layout"]["title"]["text"] for s in plotly_specs(at)] == list(PACKAGE_PROMPTS)

    at.text_input(key=state.NT_COMPARE[0]).set_value("The parcel went to the").run()
    at.session_state[state.NT_COMPARE_OPEN] = False  # closed and opened again: the typed prompt is kept
    at.run()
    assert not plotly_specs(at)
    at.session_state[state.NT_COMPARE_OPEN] = True
    at.run()
    assert at.text_input(key=state.NT_COMPARE[0]).value == "The parcel went to the"
    assert plotly_specs(at)[0]["layout"]["title"]["text"] == "The parcel went to the"


def test_perplexity_compare_tab_scores_its_texts_only_once_opened(scored_texts):
    at = open_page("app_pages/perplexity.py")
    assert scored_texts == [FLUENT]  # the text to score only; the Compare tab's texts wait until it is opened
    assert not any(s["layout"]["title"]["text"] == "Comparison" for s in plotly_specs(at))

    at.session_state[state.PPL_TABS] = "Compare"  # what clicking the tab sets
    at.run()
    assert_clean(at)
    assert sorted(scored_texts) == sorted([FLUENT, SHUFFLED, RANDOM_CHARACTERS])  # FLUENT again: a memo hit
    assert any(s["layout"]["title"]["text"] == "Comparison" for s in plotly_specs(at))


def test_generation_earlier_step_expander_draws_only_once_opened():
    at = open_page("app_pages/generation.py")
    for _ in range(2):
        at.button(key=state.GEN_STEP_BUTTON).click().run()
    assert_clean(at)
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(at)]
    assert not any(t.startswith("Candidates at step") for t in titles)
    at.session_state[state.GEN_VIEW_OPEN] = True
    at.run()
    assert_clean(at)
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(at)]
    assert "Candidates at step 2" in titles
    assert at.number_input(key=state.GEN_VIEW_STEP).value == 2

"""AppTest: the generation-tree page through app.py: beam steps, expanding a node, the comparison, bad input."""

from __future__ import annotations

import pytest

from core.generation_tree import decoded_path
from core.next_token import next_token_distribution
from tests.app.helpers import all_text, assert_clean, open_page, plotly_specs, values
from ui import state

PAGE = "app_pages/generation_tree.py"
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def tree_spec(at) -> dict:
    return [s for s in plotly_specs(at) if s["data"][0].get("name") == "tokens"][0]


def test_page_starts_with_the_roots_children(at, bundled_lm):
    spec = tree_spec(at)
    dist = next_token_distribution(bundled_lm, PROMPT)
    k = at.session_state[state.TREE_CHILDREN]
    assert len(values(spec["data"][0]["x"])) == k
    edges = sorted((a["text"] for a in spec["layout"]["annotations"]), key=len)
    assert f"{dist.top_rows(1)[0].probability:.0%}" in edges  # 77% for ␣Paris
    assert "Take a beam step" in all_text(at)


def test_beam_steps_grow_the_tree_and_compare_with_greedy(at, bundled_lm):
    for _ in range(3):
        at.button(key=state.TREE_STEP_BUTTON).click().run()
        assert_clean(at)
    assert at.session_state[state.TREE_STEPS] == 3
    tree = at.session_state[state.TREE_STATE]
    assert tree.beam_steps == 3 and max(len(p) for p in tree.nodes) == 3
    table = [d.value for d in at.dataframe if "method" in d.value.columns][0]
    assert table["method"].tolist() == ["greedy", "beam", "sampled"]
    greedy = decoded_path(bundled_lm, PROMPT, 3)
    assert table["Σ ln p"].iloc[0] == pytest.approx(greedy.total_logprob, abs=1e-4)
    assert table["Σ ln p"].iloc[1] >= table["Σ ln p"].iloc[0] - 1e-4
    assert table["∏ p"].iloc[1] == pytest.approx(2.718281828 ** table["Σ ln p"].iloc[1], rel=1e-6)
    assert len(values(tree_spec(at)["data"][0]["x"])) == len(tree.nodes) - 1


def test_expand_a_frontier_node_goes_in_the_link(at):
    tree = at.session_state[state.TREE_STATE]
    target = tree.frontier(10)[-1].path
    pick = ".".join(map(str, target))
    at.selectbox(key=state.TREE_PICK).set_value(pick).run()
    at.button(key=state.TREE_EXPAND_BUTTON).click().run()
    assert_clean(at)
    tree = at.session_state[state.TREE_STATE]
    assert target in tree.expanded and pick in at.session_state[state.TREE_OPEN].split("_")
    assert at.query_params["open"] in (pick, [pick])
    at.button(key=state.TREE_RESET_BUTTON).click().run()
    assert at.session_state[state.TREE_STATE].beam_steps == 0 and at.session_state[state.TREE_OPEN] == ""


def test_bad_prompt_is_a_clear_message():
    at = open_page(PAGE)
    at.text_area(key=state.TREE_PROMPT).set_value("   ").run()
    assert_clean(at)
    assert "Type a prompt first" in all_text(at)
    assert not plotly_specs(at)

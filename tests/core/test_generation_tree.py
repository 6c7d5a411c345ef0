"""The generation tree on the real model: children are the next-token page's numbers, paths add their logs, the
beam beats greedy, greedy is the stepper's greedy, links round-trip; and it works on a trained tiny char model."""

from __future__ import annotations

import math

import pytest
import torch

from core.generation import Stepper
from core.generation_tree import (
    MAX_DEPTH,
    MAX_OPEN,
    GenerationTree,
    decoded_path,
    format_paths,
    parse_paths,
    score_path,
)
from core.next_token import next_token_distribution
from core.text import PromptError

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def tree(bundled_lm):
    """Children 4, width 3, four beam steps: built once for the module."""
    tree = GenerationTree(bundled_lm, PROMPT, children=4, beam_width=3)
    for _ in range(4):
        tree.beam_step()
    return tree


def test_root_children_are_the_next_token_pages_numbers(bundled_lm, tree):
    dist = next_token_distribution(bundled_lm, PROMPT)
    kids = tree.children(())
    assert [n.path[0] for n in kids] == dist.top_ids(4)
    assert kids[0].token == "␣Paris"
    for node, row in zip(kids, dist.top_rows(4)):
        assert node.probability == pytest.approx(row.probability, abs=1e-6)
        assert node.rank == row.rank
    assert tree.expanded[()] == pytest.approx(dist.other_mass(4), abs=1e-5)  # the mass not shown, never renormalised
    assert sum(n.probability for n in kids) < 1.0


def test_deep_children_equal_a_fresh_forward_on_the_prefix(bundled_lm, tree):
    """A node two tokens deep (batched, from the cached prompt) gives its children the probabilities the next-token
    core gives on the same token ids."""
    parent = tree.beam[0][:2]
    prefix = tree.prompt_ids + list(parent)
    dist = next_token_distribution(bundled_lm, bundled_lm.tokenizer.decode(prefix))
    assert dist.prompt_ids == prefix
    kids = tree.children(parent)
    assert len(kids) >= 4
    for node, row in zip(kids, dist.top_rows(len(kids))):
        assert node.path[-1] == row.token_id
        assert node.probability == pytest.approx(row.probability, abs=2e-5)


def test_cumulative_logprob_is_the_sum_of_the_steps(tree):
    for path, node in tree.nodes.items():
        steps = tree.path_nodes(path)
        assert node.cum_logprob == pytest.approx(sum(n.logprob for n in steps), abs=1e-9)
        assert node.cum_probability == pytest.approx(math.prod(n.probability for n in steps), rel=1e-9)
    assert len([p for p in tree.nodes if len(p) == 4]) >= 3


def test_beam_is_the_top_width_of_all_continuations(tree):
    """After each step the beam holds the likeliest paths of its length (the exact top-3 of every expanded one)."""
    assert tree.beam_steps == 4 and len(tree.beam) == 3
    same_length = sorted((n for p, n in tree.nodes.items() if len(p) == 4), key=lambda n: -n.cum_logprob)
    assert list(tree.beam) == [n.path for n in same_length[:3]]
    scores = [tree.nodes[p].cum_logprob for p in tree.beam]
    assert scores == sorted(scores, reverse=True)


def test_tree_scores_equal_teacher_forcing(bundled_lm, tree):
    beam = tree.best_beam_path()
    forced = score_path(bundled_lm, tree.prompt_ids, beam.token_ids, "beam")
    assert forced.logprobs == pytest.approx(beam.logprobs, abs=1e-4)


@pytest.mark.parametrize("prompt", [PROMPT, "Once upon a time, there was a little"])
def test_beam_path_is_at_least_as_likely_as_greedy(bundled_lm, prompt):
    tree = GenerationTree(bundled_lm, prompt, children=3, beam_width=3)
    for _ in range(5):
        tree.beam_step()
    greedy = decoded_path(bundled_lm, prompt, 5)
    beam = tree.best_beam_path()
    assert len(greedy.logprobs) == len(beam.logprobs) == 5
    assert beam.total_logprob >= greedy.total_logprob - 1e-4
    assert greedy.probability == pytest.approx(math.exp(sum(greedy.logprobs)))


def test_greedy_path_is_the_steppers_greedy_and_its_probabilities(bundled_lm):
    stepper = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=6)
    stepper.run(6)
    greedy = decoded_path(bundled_lm, PROMPT, 6)
    assert list(greedy.token_ids) == stepper.generated_ids
    assert [math.exp(lp) for lp in greedy.logprobs] == pytest.approx(
        [s.model_probability for s in stepper.steps], abs=1e-5
    )
    tree = GenerationTree(bundled_lm, PROMPT, children=2, beam_width=1)  # width 1 is greedy
    for _ in range(6):
        tree.beam_step()
    assert tree.beam[0] == greedy.token_ids


def test_sampled_path_is_seeded_and_is_the_steppers_sample(bundled_lm):
    settings = dict(temperature=1.0, top_k=50, top_p=0.95, seed=7)
    one = decoded_path(bundled_lm, PROMPT, 6, **settings)
    assert decoded_path(bundled_lm, PROMPT, 6, **settings) == one
    stepper = Stepper(bundled_lm, PROMPT, max_new_tokens=6, **settings)
    stepper.run(6)
    assert list(one.token_ids) == stepper.generated_ids
    assert one.method == "sampled"
    assert decoded_path(bundled_lm, PROMPT, 6, **{**settings, "seed": 8}).token_ids != one.token_ids


def test_expand_and_frontier(bundled_lm):
    tree = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    frontier = tree.frontier(3)
    assert [n.path for n in frontier] == [n.path for n in tree.children(())]
    target = frontier[1].path
    assert tree.open(target)
    assert target in tree.expanded and len(tree.children(target)) == 3
    after = tree.frontier(10)
    assert target not in [n.path for n in after]
    scores = [n.cum_logprob for n in after]
    assert scores == sorted(scores, reverse=True)
    assert not tree.open((target[0], 12345, 1))  # not a node of this tree


def test_links_round_trip_and_bad_links_are_ignored(bundled_lm):
    tree = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    tree.beam_step()
    tree.beam_step()
    first = tree.children(())[2].path
    tree.open(first)
    tree.open(tree.children(first)[0].path)
    text = format_paths(tree.open_paths)
    paths, notes = parse_paths(text, len(bundled_lm.tokenizer))
    assert paths == tree.open_paths and not notes
    copy = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    assert copy.catch_up(2, paths) == []
    assert set(copy.nodes) == set(tree.nodes) and copy.beam == tree.beam
    paths, notes = parse_paths("12.x_-4_99999999_" + "_".join(str(i) for i in range(MAX_OPEN + 5)), 49152)
    assert len(paths) == MAX_OPEN and len(notes) == 2
    assert parse_paths(".".join(["1"] * (MAX_DEPTH + 1)), 49152)[0] == []


def test_bad_prompt_and_settings_are_clear_errors(bundled_lm):
    with pytest.raises(PromptError):
        GenerationTree(bundled_lm, "   ")
    with pytest.raises(ValueError, match="beam_width"):
        GenerationTree(bundled_lm, PROMPT, beam_width=9)


def test_works_with_a_trained_tiny_char_model():
    from core.training import TOY_CORPUS, Trainer

    trainer = Trainer(TOY_CORPUS)
    while not trainer.finished:
        trainer.train_steps(50)
    lm = trainer.loaded_model("your trained model #1 (test)")
    prompt = TOY_CORPUS.splitlines()[0][:8]
    tree = GenerationTree(lm, prompt, children=3, beam_width=2)
    for _ in range(4):
        tree.beam_step()
    dist = next_token_distribution(lm, prompt)
    assert [n.probability for n in tree.children(())] == pytest.approx([r.probability for r in dist.top_rows(3)])
    greedy = decoded_path(lm, prompt, 4)
    assert tree.best_beam_path().total_logprob >= greedy.total_logprob - 1e-4
    assert torch.isfinite(torch.tensor(greedy.logprobs)).all()

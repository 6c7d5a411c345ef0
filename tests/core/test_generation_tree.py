"""The generation tree on the real model: children are the next-token page's numbers, paths add their logs, the
beam beats greedy, greedy is the stepper's greedy, links round-trip; and it works on a trained tiny char model."""

from __future__ import annotations

import math

import pytest
import torch

from core.generation import Stepper
from core.generation_tree import (
    MAX_BEAM_CACHE_BYTES,
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


def _fed_shapes(model):
    """Record the input_ids shape of every call of ``model``; returns (shapes, hook handle)."""
    shapes = []

    def record(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        shapes.append(tuple(ids.shape))

    return shapes, model.register_forward_pre_hook(record, with_kwargs=True)


def test_cached_beam_equals_the_recompute_and_feeds_one_token_per_path(bundled_lm):
    """The beam's own cache rows give the same beam, nodes and sums as feeding every path whole after the prompt's
    cache; and from the second step on each step feeds one token per beam path, whatever the depth."""
    cached = GenerationTree(bundled_lm, PROMPT, children=4, beam_width=3)
    recomputed = GenerationTree(bundled_lm, PROMPT, children=4, beam_width=3)
    recomputed.beam_cache_enabled = False
    shapes, handle = _fed_shapes(bundled_lm.model)
    try:
        fed = []
        for _ in range(6):
            shapes.clear()
            assert cached.beam_step() == recomputed.beam_step()
            fed.append(shapes[0] if shapes else None)  # the cached tree's call runs first
    finally:
        handle.remove()
    assert fed[0] is None  # the root's children come from the prefill
    assert fed[1:] == [(3, 1)] * 5  # three beam paths, one new token each, at depths 1 to 5
    assert set(cached.nodes) == set(recomputed.nodes)
    for path, node in cached.nodes.items():
        assert node.cum_logprob == pytest.approx(recomputed.nodes[path].cum_logprob, abs=1e-4)
        assert node.rank == recomputed.nodes[path].rank
    rows, cache = cached._beam_cache
    assert len(rows) == 3 and {p[:-1] for p in cached.beam} <= set(rows)  # rows: the last step's paths ...
    assert cache.get_seq_length() == len(cached.prompt_ids) + 5  # ... the prompt and their 5 tokens
    assert cache.layers[0].keys.shape[0] == 3
    assert cached.best_beam_path().logprobs == pytest.approx(
        score_path(bundled_lm, cached.prompt_ids, cached.best_beam_path().token_ids, "beam").logprobs, abs=1e-4
    )


def test_beam_after_a_hand_expansion_and_a_lost_step_stays_exact(bundled_lm):
    """A beam node opened by hand first, and a step whose result never reached the tree (the cache went on, the
    beam did not), both leave the beam equal to a tree that never cached."""
    cached = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    recomputed = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    recomputed.beam_cache_enabled = False
    for tree in (cached, recomputed):
        tree.beam_step()
        tree.beam_step()
        tree.open(tree.beam[0])  # shows its children before the beam gets there
    cached._beam_log_probs([p for p in cached.beam if not cached.nodes[p].eos])  # a step the page lost
    for _ in range(3):
        assert cached.beam_step() == recomputed.beam_step()
    for path in cached.beam:
        assert cached.nodes[path].cum_logprob == pytest.approx(recomputed.nodes[path].cum_logprob, abs=1e-4)
    cached.catch_up(MAX_DEPTH, [])
    assert cached.beam_steps == MAX_DEPTH and cached._beam_cache is None  # the last step frees the rows


def test_a_beam_cache_over_its_budget_is_not_kept_and_the_beam_stays_exact(bundled_lm):
    """Over the byte budget (a long prompt times the width) each step feeds the whole paths, as without the cache."""
    small = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    small.max_beam_cache_bytes = 0
    reference = GenerationTree(bundled_lm, PROMPT, children=3, beam_width=2)
    shapes, handle = _fed_shapes(bundled_lm.model)
    try:
        for _ in range(4):
            shapes.clear()
            assert small.beam_step() == reference.beam_step()
            assert small._beam_cache is None
    finally:
        handle.remove()
    assert shapes[0] == (2, 3)  # the last step fed both paths whole (3 tokens each)
    assert reference._beam_cache is not None and MAX_BEAM_CACHE_BYTES >= 16 * 2**20

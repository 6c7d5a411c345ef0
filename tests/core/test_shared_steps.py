"""Generation steps shared across sessions: the inference service's PrefixStore and the Stepper that uses it.

A second student generating the same prompt with the same settings gets every step from the store (no forward
pass) with the same numbers; different tokens share only their common prefix; the cache-off mode never uses it;
the store keeps its byte budget, never mixes models and never keeps a model alive; decode steps of different
students run as one batched forward with the same results as one by one.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
import torch

from core.generation import Stepper, cache_layers, shares_cache_tensors
from core.serving.inference import InferenceService
from core.serving.prefix_cache import Prefix, PrefixStore

PROMPT = "Once upon a time, there was a"
LOGIT_ATOL = 5e-4  # batched against one by one (tests/core/test_inference.py uses the same bound)


@pytest.fixture
def forwards(bundled_lm):
    """Forward passes of the bundled model while the test runs (any thread)."""
    seen = []
    handle = bundled_lm.model.register_forward_pre_hook(lambda module, args: seen.append(1))
    yield seen
    handle.remove()


def numbers(step):
    """Everything the page shows of a step, except its time."""
    return (
        step.index,
        step.token_id,
        step.chosen_by,
        step.model_probability,
        step.sampling_probability,
        step.rank,
        step.entropy_bits,
        step.top,
        step.cache_length,
        step.cache_bytes,
        step.stop_reason,
    )


def greedy_student(lm, svc: InferenceService, owner: str, *, steps: int, max_new_tokens: int) -> Stepper:
    """One student's greedy generation of PROMPT through ``svc``, ``steps`` steps taken."""
    student = Stepper(lm, PROMPT, temperature=0, max_new_tokens=max_new_tokens, runner=svc.runner(owner))
    student.run(steps)
    return student


def test_the_transformers_cache_here_hands_out_its_tensors_safely(bundled_lm, tiny_gpt2_lm, tiny_llama_lm):
    """The shared steps are on for every model the app runs (else the tests below would test nothing)."""
    for lm in (bundled_lm, tiny_gpt2_lm, tiny_llama_lm):
        assert shares_cache_tensors(Stepper(lm, PROMPT, max_new_tokens=1).cache)


def test_another_transformers_major_version_shares_nothing(tiny_llama_lm, monkeypatch):
    """The version guard: under a transformers whose cache behaviour was not checked, every step runs the model."""
    import core.generation

    monkeypatch.setattr(core.generation, "_TRANSFORMERS_MAJOR", 6)
    svc = InferenceService(tiny_llama_lm)
    try:
        first = greedy_student(tiny_llama_lm, svc, "a", steps=4, max_new_tokens=4)
        second = greedy_student(tiny_llama_lm, svc, "b", steps=4, max_new_tokens=4)
        stats = svc.stats()
    finally:
        svc.close()
    assert (stats.step_hits, stats.step_misses, stats.step_entries) == (0, 0, 0)
    assert [numbers(s) for s in second.steps] == [numbers(s) for s in first.steps]
    assert not second.prefill_reused and not any(s.reused for s in second.steps)


def test_a_second_identical_generation_runs_no_forward_and_shows_the_same_numbers(bundled_lm, forwards):
    direct = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=10)
    direct.run(10)
    svc = InferenceService(bundled_lm)
    try:
        first = greedy_student(bundled_lm, svc, "a", steps=10, max_new_tokens=10)
        forwards.clear()
        second = greedy_student(bundled_lm, svc, "b", steps=10, max_new_tokens=10)
        assert forwards == []  # the prefill and all nine decode steps came from the store
        stats = svc.stats()
    finally:
        svc.close()
    assert [numbers(s) for s in second.steps] == [numbers(s) for s in first.steps] == [numbers(s) for s in direct.steps]
    assert second.prefill_reused and not first.prefill_reused
    assert [s.reused for s in second.steps] == [True] * 9 + [False]  # the last step stops: it runs no forward
    assert not any(s.reused for s in first.steps)
    assert (stats.step_hits, stats.step_misses) == (10, 10)
    assert second.cache_length == direct.cache_length and second.cache_bytes == direct.cache_bytes


def test_students_queued_behind_the_first_find_its_steps_in_the_worker(bundled_lm, forwards):
    """Four students step the same prompt at the same moment: their jobs wait in the queue while the first one's
    runs, and the worker finds the stored result for each of them (one forward per step for the class)."""
    svc = InferenceService(bundled_lm, autostart=False)
    steppers = [Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=4) for _ in range(4)]
    for i, s in enumerate(steppers):
        s.runner = svc.runner(f"student{i}")
    forwards.clear()
    threads = [threading.Thread(target=s.step) for s in steppers]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(svc._pending_jobs()) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(svc._pending_jobs()) == 4
        svc.start()
        for t in threads:
            t.join(60)
        stats = svc.stats()
    finally:
        svc.close()
    assert len(forwards) == 1  # one forward for four students (one batch, equal ids computed once)
    assert (stats.step_misses, stats.step_hits) == (1, 3)
    assert len({numbers(s.steps[0]) for s in steppers}) == 1
    assert sum(s.steps[0].reused for s in steppers) == 3


def test_different_seeds_share_only_the_common_prefix(bundled_lm):
    kw = dict(temperature=1.5, top_k=50, max_new_tokens=8)
    svc = InferenceService(bundled_lm)
    try:
        one = Stepper(bundled_lm, PROMPT, seed=1, runner=svc.runner("a"), **kw)
        one.run(8)
        before = svc.stats()
        two = Stepper(bundled_lm, PROMPT, seed=2, runner=svc.runner("b"), **kw)
        two.run(8)
        after = svc.stats()
        same = Stepper(bundled_lm, PROMPT, seed=1, runner=svc.runner("c"), **kw)
        same.run(8)
        last = svc.stats()
    finally:
        svc.close()
    alone = Stepper(bundled_lm, PROMPT, seed=2, **kw)
    alone.run(8)
    assert [numbers(s) for s in two.steps] == [numbers(s) for s in alone.steps]
    assert one.generated_ids != two.generated_ids
    common = next(i for i, (a, b) in enumerate(zip(one.generated_ids, two.generated_ids)) if a != b)
    # the prefill, then one hit per step whose ids so far are still one's (steps 1..common)
    assert after.step_hits - before.step_hits == 1 + common
    assert [s.reused for s in two.steps[:7]] == [i < common for i in range(7)]
    # the same seed and settings reach the same ids: everything shared
    assert same.generated_ids == one.generated_ids
    assert last.step_hits - after.step_hits == 1 + 7


def test_the_cache_off_mode_never_uses_the_shared_steps(bundled_lm, forwards):
    svc = InferenceService(bundled_lm)
    try:
        Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=6, runner=svc.runner("a")).run(6)
        before = svc.stats()
        forwards.clear()
        off = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=6, use_cache=False, runner=svc.runner("b"))
        off.run(6)
        assert len(forwards) == 6  # its prefill and five steps each recomputed the whole sequence
        mixed = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=6, runner=svc.runner("c"))
        mixed.run(2)
        mixed.configure(use_cache=False)
        forwards.clear()
        mixed.run(2)
        assert len(forwards) == 2
        after = svc.stats()
    finally:
        svc.close()
    assert not off.prefill_reused and not any(s.reused for s in off.steps)
    assert not any(s.reused for s in mixed.steps[2:])
    assert after.step_hits - before.step_hits == 3  # mixed's prefill and its first two steps, with the cache on
    assert after.step_misses == before.step_misses


def test_rewind_restore_and_picks_after_shared_steps(bundled_lm):
    svc = InferenceService(bundled_lm)
    try:
        first = greedy_student(bundled_lm, svc, "a", steps=6, max_new_tokens=10)
        second = greedy_student(bundled_lm, svc, "b", steps=6, max_new_tokens=10)
        assert all(s.reused for s in second.steps)
        shown = [numbers(s) for s in second.steps]
        second.rewind(3)
        assert second.cache_length == second.prompt_len + 3 == len(second.all_ids)
        second.run(3)
        assert [numbers(s) for s in second.steps] == shown
        second.rewind(0)
        assert second.cache_length == second.prompt_len
        picked = second.step(choose=first.steps[0].top[3].token_id)  # a token nobody generated before
        assert not picked.reused
        second.run(2)
        second.restore_branch(next(i for i, b in enumerate(second.branches) if b.after_step == 0))  # the greedy six
        assert [numbers(s) for s in second.steps] == shown
        assert second.cache_length == len(second.all_ids)
        second.run(1)
    finally:
        svc.close()
    direct = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=10)
    direct.run(7)
    assert [numbers(s) for s in second.steps] == [numbers(s) for s in direct.steps]
    twin = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=10)
    assert numbers(twin.step(choose=picked.token_id)) == numbers(picked)


def test_chat_prompts_share_steps(bundled_lm):
    svc = InferenceService(bundled_lm)
    try:
        first = Stepper(
            bundled_lm, "Name a colour.", chat=True, temperature=0, max_new_tokens=5, runner=svc.runner("a")
        )
        first.run(5)
        second = Stepper(
            bundled_lm, "Name a colour.", chat=True, temperature=0, max_new_tokens=5, runner=svc.runner("b")
        )
        second.run(5)
    finally:
        svc.close()
    direct = Stepper(bundled_lm, "Name a colour.", chat=True, temperature=0, max_new_tokens=5)
    direct.run(5)
    assert second.prefill_reused and all(s.reused for s in second.steps[:4])
    assert [numbers(s) for s in second.steps] == [numbers(s) for s in direct.steps]


def test_a_stored_step_is_never_written_into(bundled_lm):
    """Copy-on-write: a stepper that adopted a stored cache and grows, rewinds and grows again leaves the stored
    tensors bit-identical and never shares storage with its grown cache. Fails if transformers' DynamicLayer starts
    writing into its tensors (a preallocated buffer, an in-place update)."""
    svc = InferenceService(bundled_lm)
    try:
        first = greedy_student(bundled_lm, svc, "a", steps=4, max_new_tokens=4)
        shared = svc.shared_steps(bundled_lm)
        paths = [first.all_ids[: first.prompt_len + n] for n in range(4)]  # the prefill and three steps' ids
        stored = [shared.get(ids) for ids in paths]
        before = [[t.clone() for pair in p.layers for t in pair] + [p.logits.clone()] for p in stored]
        pointers = {t.untyped_storage().data_ptr() for p in stored for pair in p.layers for t in pair}

        adopter = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=8, runner=svc.runner("b"))
        adopter.run(2)  # adopted: the prefill and two steps
        assert adopter.prefill_reused and all(s.reused for s in adopter.steps)
        adopter.rewind(1)  # crops an adopted cache
        adopter.step(choose=stored[1].logits.argsort()[-5].item())  # writes another token where the path has its own
        adopter.run(2)
        adopter.rewind(0)
        adopter.step(choose=stored[0].logits.argsort()[-7].item())
        for p, old in zip(stored, before):
            assert all(torch.equal(a, b) for a, b in zip(old, [t for pair in p.layers for t in pair] + [p.logits]))
        grown = {t.untyped_storage().data_ptr() for pair in cache_layers(adopter.cache) for t in pair}
        assert not grown & pointers
        for ids, old in zip(paths, before):  # looked up again: the same bits
            again = shared.get(ids)
            assert all(torch.equal(a, b) for a, b in zip(old, [t for pair in again.layers for t in pair]))
    finally:
        svc.close()


# ---------------------------------------------------------------------------------------------- the store


def test_a_tiny_budget_evicts_and_the_results_stay_right(tiny_llama_lm):
    vocab_bytes = len(tiny_llama_lm.tokenizer) * 4
    budget = 3 * vocab_bytes + 20_000  # about three entries
    svc = InferenceService(tiny_llama_lm, step_bytes=budget)
    try:
        Stepper(tiny_llama_lm, PROMPT, temperature=0, max_new_tokens=12, runner=svc.runner("a")).run(12)
        stats = svc.stats()
        assert stats.step_evictions > 0 and stats.step_bytes <= budget and 1 <= stats.step_entries <= 3
        second = greedy_student(tiny_llama_lm, svc, "b", steps=12, max_new_tokens=12)
        sampled = Stepper(tiny_llama_lm, PROMPT, seed=3, max_new_tokens=12, runner=svc.runner("c"))
        sampled.run(12)
        assert svc.stats().step_bytes <= budget
    finally:
        svc.close()
    direct = Stepper(tiny_llama_lm, PROMPT, temperature=0, max_new_tokens=12)
    direct.run(12)
    alone = Stepper(tiny_llama_lm, PROMPT, seed=3, max_new_tokens=12)
    alone.run(12)
    assert [numbers(s) for s in second.steps] == [numbers(s) for s in direct.steps]
    assert [numbers(s) for s in sampled.steps] == [numbers(s) for s in alone.steps]


def test_one_generation_path_holds_one_copy_of_its_keys_and_values(bundled_lm):
    svc = InferenceService(bundled_lm)
    try:
        s = Stepper(bundled_lm, PROMPT, temperature=0, max_new_tokens=9, runner=svc.runner("a"))
        s.run(9)
        stats = svc.stats()
    finally:
        svc.close()
    logits = 9 * len(bundled_lm.tokenizer) * 4  # the prefill's and eight steps' (V,) float32 logits
    assert stats.step_entries == 9
    assert stats.step_bytes == logits + s.steps[-2].cache_bytes  # the longest cache, once


def test_bytes_count_each_storage_once_and_the_budget_is_kept():
    store = PrefixStore(10_000)
    k = torch.zeros(1, 1, 4, 8)  # 128 B
    shared_logits = torch.zeros(100)  # 400 B
    assert store.put("m", [1, 2, 3, 4], Prefix(shared_logits, ((k, k),)))
    assert store.counts().bytes == 400 + 128  # keys and values are one tensor here: counted once
    assert store.put("m", [9, 9, 9, 9], Prefix(shared_logits, ((k, k),)))
    assert store.counts().bytes == 400 + 128
    assert not store.put("m", [1], Prefix(torch.zeros(5000), ((k[..., :1, :], k[..., :1, :]),)))  # over the budget
    assert store.counts().entries == 2
    store.clear()
    assert store.counts() == store.counts().__class__(0, 0, 0, 0, 0)


def test_two_models_never_share(tiny_llama_lm, tiny_gpt2_lm, bundled_lm):
    from transformers import LlamaForCausalLM

    from core.models import wrap_model

    torch.manual_seed(1)
    twin = wrap_model(  # same architecture and name as tiny_llama_lm, other weights
        LlamaForCausalLM(tiny_llama_lm.model.config), bundled_lm.tokenizer, tiny_llama_lm.name, "other weights"
    )
    svc = InferenceService(tiny_llama_lm)
    try:
        Stepper(tiny_llama_lm, PROMPT, temperature=0, max_new_tokens=5, runner=svc.runner("a")).run(5)
        assert svc.shared_steps(twin) is None and svc.shared_steps(tiny_gpt2_lm) is None
        other = Stepper(twin, PROMPT, temperature=0, max_new_tokens=5, runner=svc.runner("b"))
        other.run(5)
        assert svc.stats().step_hits == 0
    finally:
        svc.close()
    alone = Stepper(twin, PROMPT, temperature=0, max_new_tokens=5)
    alone.run(5)
    assert [numbers(s) for s in other.steps] == [numbers(s) for s in alone.steps]
    assert not other.prefill_reused and not any(s.reused for s in other.steps)
    a, b = PrefixStore(10**6), torch.zeros(1, 1, 2, 4)
    a.put(("one", 1), [5, 6], Prefix(torch.zeros(3), ((b, b),)))
    assert a.get(("two", 2), [5, 6]) is None and a.get(("one", 1), [5, 6]) is not None


def test_entries_of_an_unloaded_model_do_not_keep_it_alive(bundled_lm):
    from transformers import LlamaConfig, LlamaForCausalLM

    from core.models import wrap_model

    config = LlamaConfig(
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        hidden_size=16,
        intermediate_size=32,
        vocab_size=len(bundled_lm.tokenizer),
    )
    lm = wrap_model(LlamaForCausalLM(config), bundled_lm.tokenizer, "short-lived", "random weights (test)")
    alive = weakref.ref(lm.model)
    svc = InferenceService(lm, idle_seconds=0.05)
    Stepper(lm, PROMPT, temperature=0, max_new_tokens=3, runner=svc.runner("a")).run(3)
    store = svc.prefix_store
    worker = svc._thread
    worker.join(10)  # an idle worker exits and lets go of the service
    del lm, svc, worker
    gc.collect()
    assert alive() is None
    assert store.counts().entries == 3


# ---------------------------------------------------------------------------------------------- batched steps


def same_length_prompts(lm, n: int, length: int = 8) -> list[list[int]]:
    texts = [
        "The quick brown fox jumps over the lazy dog and",
        "In the beginning the universe was created, which",
        "My favourite recipe for a rainy afternoon is a",
        "The train to the coast leaves every morning at",
        "Photosynthesis turns light, water and carbon into",
        "A good teacher asks questions that make students",
        "The old lighthouse keeper wrote in his diary that",
        "Once the market opened, the first traders rushed",
    ]
    return [lm.tokenizer.encode(t)[:length] for t in texts[:n]]


@pytest.mark.parametrize("n", [2, 4])
def test_batched_decode_steps_equal_one_by_one(bundled_lm, forwards, n):
    prompts = same_length_prompts(bundled_lm, n)
    prompts.append(list(prompts[0]))  # a student on the same prompt as the first: computed once
    svc = InferenceService(bundled_lm, autostart=False)
    batched = [Stepper(bundled_lm, "", prompt_ids=p, temperature=0, max_new_tokens=4) for p in prompts]
    twins = [Stepper(bundled_lm, "", prompt_ids=p, temperature=0, max_new_tokens=4) for p in prompts]
    for i, s in enumerate(batched):
        s.runner = svc.runner(f"student{i}")
    threads = [threading.Thread(target=s.step) for s in batched]
    forwards.clear()
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(svc._pending_jobs()) < len(batched) and time.monotonic() < deadline:
            time.sleep(0.01)
        svc.start()
        for t in threads:
            t.join(60)
        stats = svc.stats()
    finally:
        svc.close()
    assert len(forwards) == 1  # n different steps stacked into one forward; the repeated one found the store
    for t in twins:
        t.step()
    assert (stats.batches, stats.batched_rows) == (1, n + 1)
    assert (stats.step_misses, stats.step_hits) == (n, 1)
    for s, twin in zip(batched, twins):
        assert s.steps[0].token_id == twin.steps[0].token_id
        # one forward of B rows runs other matmul shapes than B forwards of one: the last bits of the logits differ
        # (measured up to 7e-5 on logits of magnitude ~20, as the next-token batching's LOGIT_ATOL says)
        torch.testing.assert_close(s._logits, twin._logits, atol=LOGIT_ATOL, rtol=0)
        assert torch.allclose(torch.softmax(s._logits, -1), torch.softmax(twin._logits, -1), atol=1e-5, rtol=0)
        assert torch.equal(torch.topk(s._logits, 10).indices, torch.topk(twin._logits, 10).indices)
        assert (s.cache_length, s.cache_bytes) == (twin.cache_length, twin.cache_bytes)
        for (k, v), (k2, v2) in zip(cache_layers(s.cache), cache_layers(twin.cache)):
            assert k.shape == k2.shape == v.shape == v2.shape
            torch.testing.assert_close(k, k2, atol=LOGIT_ATOL, rtol=0)
            torch.testing.assert_close(v, v2, atol=LOGIT_ATOL, rtol=0)
    # the steppers go on from their split caches exactly as their twins
    for s, twin in zip(batched, twins):
        s.runner = None
        s.run(3)
        twin.run(3)
        assert s.generated_ids == twin.generated_ids

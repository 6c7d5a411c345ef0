"""core.serving.inference: batched answers equal one-by-one answers, turns are fair, identical work is shared, and a
failing or cancelled job never stops the worker."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from core.forward import Need, forward_record
from core.generation import Stepper
from core.perplexity import perplexity
from core.perplexity_examples import EXAMPLES, FLUENT
from core.serving.inference import InferenceCancelled, InferenceService, ServiceClosed, next_token_logits

PROMPTS = [  # 5 to 8 tokens each: different lengths, little padding, so the service batches them
    "The capital of France is",
    "Once upon a time, there was a",
    "The package left the warehouse and",
    "The first person on the moon was",
]
LOGIT_ATOL = 5e-4  # float32 logits of magnitude ~20: padding changes matmul shapes, so the last bits differ
LONG_TEXT = " ".join([FLUENT, EXAMPLES["Code snippet"], EXAMPLES["Non-English sentence (French)"]])


def token_ids(lm, text):
    return lm.tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.fixture
def service(bundled_lm):
    """A service that runs nothing until the test calls start(), so jobs can be queued together first."""
    svc = InferenceService(bundled_lm, autostart=False)
    yield svc
    svc.close()


def until(condition, seconds=60.0):
    """Wait for ``condition()`` (a state the worker reaches), failing after a generous deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker never reached the expected state"
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------- batching


def test_batched_next_token_equals_one_by_one(bundled_lm, service):
    prompts = [token_ids(bundled_lm, p) for p in PROMPTS]
    assert len({len(p) for p in prompts}) >= 3  # really different lengths: right padding is exercised
    tickets = [service.forward(ids, Need(), owner=f"student-{i}") for i, ids in enumerate(prompts)]
    service.start()
    records = [t.result(timeout=120) for t in tickets]
    stats = service.stats()
    assert stats.model_calls == 1 and stats.batches == 1 and stats.batched_rows == len(prompts)
    for ids, record in zip(prompts, records):
        alone = forward_record(bundled_lm, ids, Need())
        assert record.ids == alone.ids and record.need == alone.need
        assert record.logits.shape == alone.logits.shape == (1, bundled_lm.facts.vocab_size)
        torch.testing.assert_close(record.logits, alone.logits, atol=LOGIT_ATOL, rtol=0)
        assert torch.equal(torch.topk(record.logits[0], 10).indices, torch.topk(alone.logits[0], 10).indices)
        # a record holds its own row, not a view of the whole batch
        assert record.logits.untyped_storage().nbytes() == record.logits.numel() * 4


def test_right_padding_is_exact_for_very_different_lengths(bundled_lm):
    """The padded call itself (no batching policy): lengths 1 to 12 in one call, pads never reach a real token."""
    text = token_ids(bundled_lm, "Students open the teacher's link and read the bars of the next token")
    prompts = [text[:n] for n in (1, 3, 12, 7, 2)]
    batched = next_token_logits(bundled_lm, prompts, pad_id=5)
    for row, ids in zip(batched, prompts):
        alone = forward_record(bundled_lm, ids).logits[0]
        torch.testing.assert_close(row, alone, atol=LOGIT_ATOL, rtol=0)
        assert torch.equal(torch.topk(row, 10).indices, torch.topk(alone, 10).indices)


def test_perplexity_through_the_service_equals_direct(bundled_lm):
    direct = perplexity(bundled_lm, LONG_TEXT, max_length=48, stride=24, top_predictions=3)
    assert direct.windows >= 4
    svc = InferenceService(bundled_lm)
    try:
        shared = perplexity(
            bundled_lm, LONG_TEXT, max_length=48, stride=24, top_predictions=3, score_windows=svc.score_windows("s")
        )
        stats = svc.stats()
    finally:
        svc.close()
    assert shared.windows == direct.windows
    np.testing.assert_allclose(shared.nll, direct.nll, rtol=0, atol=1e-4)
    assert np.array_equal(shared.ranks, direct.ranks)
    assert np.array_equal(shared.top_ids, direct.top_ids)
    assert shared.perplexity == pytest.approx(direct.perplexity, rel=1e-6)
    assert stats.batches >= 1 and stats.batched_rows >= 2  # equal-length windows shared model calls
    assert stats.jobs == direct.windows and stats.model_calls < direct.windows


def test_a_long_text_leaves_room_for_another_student(bundled_lm, service):
    """Student A's text of 5 windows, then student B's one decode step: B's step runs after A's first window,
    and A's own windows are batched only once nobody else waits."""
    from core.perplexity import WindowRequest

    ids = torch.tensor(token_ids(bundled_lm, LONG_TEXT))
    a = service.submit_windows([WindowRequest(ids[i : i + 100], 50) for i in range(0, 40, 8)], owner="A")
    b = service.run(lambda: sum(t.done() for t in a), owner="B")  # counts A's finished windows when B runs
    assert b.position() == 1 and [t.position() for t in a] == [0, 2, 3, 4, 5]
    service.start()
    assert b.result(timeout=120) == 1
    for t in a:
        t.result(timeout=120)
    stats = service.stats()
    assert stats.batches == 1 and stats.batched_rows == 4 and stats.model_calls == 3  # A0 | B | A1..A4


# ---------------------------------------------------------------------------------------------- fairness


def test_round_robin_one_student_cannot_starve_another(service):
    order = []
    a = [service.run(lambda i=i: order.append(("A", i)), owner="A") for i in range(10)]
    b = service.run(lambda: order.append(("B", 0)), owner="B")
    assert [t.position() for t in a[:3]] == [0, 2, 3] and b.position() == 1
    service.start()
    b.result(timeout=30)
    for t in a:
        t.result(timeout=30)
    assert order.index(("B", 0)) == 1  # after A's first slice, not after A's tenth
    assert [i for who, i in order if who == "A"] == list(range(10))  # each owner's own jobs stay in order


def test_position_counts_down(service):
    release = threading.Event()
    first = service.run(lambda: release.wait(30), owner="A")
    rest = [service.run(lambda i=i: i, owner="A") for i in range(3)]
    assert [t.position() for t in [first, *rest]] == [0, 1, 2, 3]
    service.start()
    until(first.running)
    assert [t.position() for t in rest] == [0, 1, 2]
    release.set()
    assert [t.result(timeout=30) for t in rest] == [0, 1, 2]
    assert [t.position() for t in rest] == [0, 0, 0]


# ---------------------------------------------------------------------------------------------- sharing


def test_identical_requests_coalesce_then_hit_the_cache(bundled_lm, service):
    ids = token_ids(bundled_lm, PROMPTS[0])
    tickets = [service.forward(ids, Need(), owner=f"student-{i}") for i in range(5)]
    service.start()
    records = [t.result(timeout=60) for t in tickets]
    assert all(r is records[0] for r in records)
    stats = service.stats()
    assert stats.model_calls == 1 and stats.coalesced == 4 and stats.cache_entries == 1
    assert stats.jobs == 1 and stats.batched_rows == 0  # one row, not five copies of it in a batch
    later = service.forward(ids, Need(), owner="student-9")
    assert later.done() and later.result() is records[0]
    assert service.stats().cache_hits == 1 and service.stats().model_calls == 1


def test_a_class_scoring_the_same_text_costs_one_scoring(bundled_lm, service):
    """Three students score the teacher's paragraph at once (their windows coalesce), a fourth later (the shared
    window scores answer); every result equals the direct loop's."""
    direct = perplexity(bundled_lm, LONG_TEXT, max_length=48, stride=24, top_predictions=3)
    results = [None] * 3

    def student(i):
        results[i] = perplexity(
            bundled_lm, LONG_TEXT, max_length=48, stride=24, top_predictions=3,
            score_windows=service.score_windows(f"student-{i}"),
        )  # fmt: skip

    threads = [threading.Thread(target=student, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    until(lambda: len(service._pending_jobs()) == direct.windows and service.stats().coalesced == 2 * direct.windows)
    service.start()
    for t in threads:
        t.join(timeout=300)
    stats = service.stats()
    assert stats.jobs == direct.windows and stats.cache_entries == direct.windows
    later = perplexity(
        bundled_lm, LONG_TEXT, max_length=48, stride=24, top_predictions=3, score_windows=service.score_windows("late")
    )
    assert service.stats().jobs == direct.windows and service.stats().cache_hits == direct.windows
    for shared in [*results, later]:
        np.testing.assert_allclose(shared.nll, direct.nll, rtol=0, atol=1e-4)
        assert np.array_equal(shared.ranks, direct.ranks) and np.array_equal(shared.top_ids, direct.top_ids)


def test_a_wider_record_serves_a_narrower_request(bundled_lm, service):
    ids = token_ids(bundled_lm, PROMPTS[1])
    service.start()
    wide = service.forward(ids, Need(positions=3, hidden_states=True), owner="A").result(timeout=60)
    narrow = service.forward(ids, Need(), owner="B")
    assert narrow.done() and narrow.result() is wide
    # a request the record does not cover runs one pass for the union, which replaces it
    union = service.forward(ids, Need(positions=2, attentions=True), owner="C").result(timeout=60)
    assert union.need == Need(3, True, True) and service.cached(ids) is union


def test_the_cache_keeps_to_its_byte_budget(bundled_lm):
    one_record = bundled_lm.facts.vocab_size * 4  # (1, V) float32 logits
    svc = InferenceService(bundled_lm, cache_bytes=int(2.5 * one_record), max_batch=1)
    try:
        prompts = [token_ids(bundled_lm, p) for p in PROMPTS[:3]]
        for ids in prompts:
            svc.forward(ids, Need(), owner="A").result(timeout=60)
        stats = svc.stats()
        assert stats.cache_entries == 2 and stats.cache_bytes == 2 * one_record <= svc.cache_budget
        assert svc.cached(prompts[0]) is None and svc.cached(prompts[2]) is not None
        svc.forward(prompts[0], Need(), owner="A").result(timeout=60)  # evicted: runs again
        assert svc.stats().model_calls == 4 and svc.stats().cache_hits == 0
    finally:
        svc.close()


# ---------------------------------------------------------------------------------------------- failures


def test_an_error_reaches_its_caller_and_the_worker_goes_on(service):
    service.start()
    failing = service.run(lambda: 1 / 0, owner="A")
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=30)
    assert service.run(lambda: "still here", owner="A").result(timeout=30) == "still here"
    assert service.stats().errors == 1


def test_cancel_drops_a_queued_job(service):
    ran = []
    kept = service.run(lambda: ran.append("kept"), owner="A")
    dropped = service.run(lambda: ran.append("dropped"), owner="A")
    assert dropped.cancel() and dropped.done() and dropped.cancelled()
    service.start()
    kept.result(timeout=30)
    service.run(lambda: None, owner="A").result(timeout=30)  # everything queued before has been handled
    assert ran == ["kept"]
    with pytest.raises(InferenceCancelled):
        dropped.result()
    assert service.stats().cancelled == 1
    assert not kept.cancel()  # done: too late to cancel


def test_cancelling_one_coalesced_request_keeps_the_job_for_the_other(bundled_lm, service):
    ids = token_ids(bundled_lm, PROMPTS[2])
    leaving = service.forward(ids, Need(), owner="A")
    staying = service.forward(ids, Need(), owner="B")
    assert leaving.cancel()
    service.start()
    record = staying.result(timeout=60)
    assert record.ids == tuple(ids) and service.stats().model_calls == 1
    with pytest.raises(InferenceCancelled):
        leaving.result()


def test_close_cancels_waiting_jobs_and_joins_the_worker(bundled_lm):
    svc = InferenceService(bundled_lm, autostart=False)
    waiting = svc.run(lambda: "never", owner="A")
    svc.start()
    release = threading.Event()
    svc2 = InferenceService(bundled_lm)
    blocker = svc2.run(lambda: release.wait(30), owner="A")
    queued = svc2.run(lambda: "never", owner="B")
    until(blocker.running)
    closer = threading.Thread(target=svc2.close)
    closer.start()
    with pytest.raises(ServiceClosed):
        queued.result(timeout=30)
    release.set()
    closer.join(30)
    assert blocker.result(timeout=1) is True  # the running job finished
    assert not svc2.worker_alive
    with pytest.raises(ServiceClosed):
        svc2.run(lambda: None, owner="A")
    assert waiting.result(timeout=30) == "never"
    svc.close()


def test_an_idle_worker_exits_and_restarts(bundled_lm):
    svc = InferenceService(bundled_lm, idle_seconds=0.05)
    try:
        assert svc.run(lambda: 1, owner="A").result(timeout=30) == 1
        until(lambda: not svc.worker_alive)
        assert svc.run(lambda: 2, owner="A").result(timeout=30) == 2
    finally:
        svc.close()


# ---------------------------------------------------------------------------------------------- generation


def test_generation_through_the_runner_gives_the_same_tokens(bundled_lm):
    prompt = "Once upon a time, there was a"
    direct = Stepper(bundled_lm, prompt, temperature=0, max_new_tokens=10)
    direct.run(10)
    svc = InferenceService(bundled_lm)
    threads = []
    runner = svc.runner("student")

    def recording_runner(fn):
        return runner(lambda: (threads.append(threading.current_thread().name), fn())[1])

    try:
        shared = Stepper(bundled_lm, prompt, temperature=0, max_new_tokens=10, runner=recording_runner)
        shared.run(10)
        stats = svc.stats()
    finally:
        svc.close()
    assert len(direct.generated_ids) == 10
    assert shared.generated_ids == direct.generated_ids
    assert [s.cache_length for s in shared.steps] == [s.cache_length for s in direct.steps]
    # one job per model call: the prefill and a decode step after each token but the last
    assert stats.model_calls == 10 and len(threads) == 10
    assert set(threads) == {f"inference-{bundled_lm.name}"}

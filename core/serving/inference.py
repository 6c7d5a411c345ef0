"""One inference service per loaded model: every session's model work goes into one queue, one worker runs it.

A class of 30 students on one small server would otherwise be 30 script threads fighting over 2 cores. The
``InferenceService`` takes jobs (a forward pass, a perplexity window, one generation decode step, any callable)
tagged with an ``owner`` (a session id) and runs them one at a time in a single worker thread:

- **fair turns**: round-robin across owners, each owner's jobs first-in first-out, so a student with 20 queued
  perplexity windows cannot starve another student's one next-token request;
- **shared results**: a process-wide LRU of ``ForwardRecord`` and of perplexity ``WindowScore`` with a byte budget
  (30 students on the teacher's prompt cost one forward pass, on the teacher's paragraph one scoring), and
  identical requests waiting at the same time share one job;
- **batching**: plain next-token requests of different prompts waiting together run as one right-padded model
  call; perplexity windows of equal length run as one stacked call; generation decode steps of different students
  at the same cache length run as one forward over their stacked caches;
- **shared generation steps**: a ``PrefixStore`` (core/serving/prefix_cache.py) keeps the logits and KV cache after
  the token ids a generation reached, so 30 students stepping the same prompt greedily cost one decode each step.

Each submission returns a ``Ticket`` (``result``, ``done``, ``cancel``, ``position`` in the queue).
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from core.forward import ForwardFn, ForwardRecord, Need, forward_record
from core.models import LoadedModel, accepts_argument
from core.perplexity import (
    ScoreWindows,
    WindowRequest,
    WindowScore,
    direct_score_windows,
    final_states,
    score_positions,
)
from core.serving.prefix_cache import PrefixStore, SharedSteps

DEFAULT_MAX_BATCH = 8  # rows per batched model call
DEFAULT_MAX_BATCH_TOKENS = 1024  # rows x padded length per batched call: bounds one call's time and memory
# (a stacked perplexity call holds (rows x length, V) float32 logits: 1,024 x 49,152 x 4 B = 200 MB)
DEFAULT_CACHE_BYTES = 64 * 2**20  # shared ForwardRecords: ~300 next-token records, or a few attention records
DEFAULT_STEP_BYTES = 64 * 2**20  # shared generation steps: a 40-token path of the bundled model is ~4 MB
DEFAULT_IDLE_SECONDS = 30.0  # an idle worker exits (and restarts on the next job), so it keeps no model alive

PENDING, RUNNING, DONE, CANCELLED = "pending", "running", "done", "cancelled"
NEXT_TOKEN = Need()  # the request that batches: last position's logits, no attentions, no hidden states

Wait = Callable[["Ticket"], Any]
"""Blocks until a ticket's result and returns it (``Ticket.result``, or a page's waiter that shows the queue)."""


class InferenceCancelled(ValueError):
    """The request was cancelled before the model ran it."""


class ServiceClosed(InferenceCancelled):
    """The model's inference service has shut down (the model was unloaded); running the page again reloads it."""


@dataclass(frozen=True)
class ServiceStats:
    """Counters since the service was made (for benchmarks and tests).

    Attributes:
        jobs: jobs run (a batch of n rows counts n).
        model_calls: calls made by the worker (a batch is one call; a ``run`` job counts one).
        batches: model calls that served two rows or more.
        batched_rows: rows served by those calls.
        cache_hits: requests answered from the shared record cache without queueing.
        coalesced: requests that joined an identical job already waiting or running.
        cancelled: jobs dropped before they ran.
        errors: jobs that raised.
        cache_bytes / cache_entries: what the shared caches (forward records and window scores) hold now.
        step_hits: generation steps served from the shared steps (no forward ran).
        step_misses: generation steps computed while the shared steps were on (and then stored).
        step_evictions: shared steps dropped to keep the byte budget.
        step_bytes / step_entries: what the shared steps hold now (each tensor storage counted once).
    """

    jobs: int = 0
    model_calls: int = 0
    batches: int = 0
    batched_rows: int = 0
    cache_hits: int = 0
    coalesced: int = 0
    cancelled: int = 0
    errors: int = 0
    cache_bytes: int = 0
    cache_entries: int = 0
    step_hits: int = 0
    step_misses: int = 0
    step_evictions: int = 0
    step_bytes: int = 0
    step_entries: int = 0


@dataclass(eq=False)
class _Job:
    """One unit of work in the queue; several tickets (owners) may wait on it."""

    kind: str  # "forward", "window" or "run"
    payload: Any  # (ids, Need), a WindowRequest, or a zero-argument callable
    batch_key: Hashable | None  # jobs with equal keys may share one model call
    tokens: int  # rows x tokens this job adds to a batch
    key: Hashable | None = None  # coalescing key (forward jobs: the ids)
    tickets: list[Ticket] = field(default_factory=list)
    state: str = PENDING
    value: Any = None
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class Ticket:
    """A request's handle: wait for its result, ask its place in the queue, or cancel it."""

    def __init__(self, service: InferenceService, job: _Job) -> None:
        self._service = service
        self._job = job
        self._cancelled = False

    def result(self, timeout: float | None = None) -> Any:
        """The job's result; re-raises the job's exception in the caller.

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the ticket still waits; call again or cancel).
            InferenceCancelled: the ticket was cancelled (ServiceClosed: the service shut down).
        """
        if self._cancelled:
            raise InferenceCancelled("The request was cancelled before the model ran it.")
        if not self._job.finished.wait(timeout):
            raise TimeoutError("The model has not finished this request yet.")
        if self._cancelled:
            raise InferenceCancelled("The request was cancelled before the model ran it.")
        if self._job.error is not None:
            raise self._job.error
        return self._job.value

    def done(self) -> bool:
        """Whether ``result`` would return (or raise) at once."""
        return self._cancelled or self._job.finished.is_set()

    def running(self) -> bool:
        return self._job.state == RUNNING

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> bool:
        """Stop waiting: a job not started yet is dropped unless another ticket (a coalesced request) still wants it.

        Returns:
            True when the ticket is cancelled; False when its job is already running or done (like
            ``concurrent.futures.Future.cancel``: the caller may still wait for it).
        """
        return self._service._cancel(self)

    def position(self) -> int:
        """How many jobs will start before this one under the fair schedule (0 when running, next, or done)."""
        return self._service._position(self._job)


class StepRunner:
    """A ``core.generation.Runner`` of one owner: each model call one queued job of ``service``, waited for with
    ``wait``; ``shared_steps`` offers a stepper the service's shared generation steps (for its own model only)."""

    def __init__(self, service: InferenceService, owner: str, wait: Wait) -> None:
        self.service, self.owner, self._wait = service, owner, wait

    def __call__(self, fn: Callable[[], Any]) -> Any:
        return self._wait(self.service.run(fn, self.owner))

    def shared_steps(self, lm: LoadedModel) -> SharedSteps | None:
        return self.service.shared_steps(lm)


class InferenceService:
    """Runs model work for every session of a process through one queue and one worker thread.

    The worker starts on ``start()`` (or on the first submission when ``autostart``), exits after
    ``idle_seconds`` with nothing to do and starts again on the next job: an idle service holds no thread, so
    a model nobody uses any more can be freed. Every job runs under ``torch.inference_mode()``; torch's
    intra-op thread count is whatever the process set (``core.models.set_torch_threads``).

    Args:
        lm: the loaded model this service runs (shared read-only).
        max_batch: most rows in one batched call (1 switches batching off).
        max_batch_tokens: most rows x padded length in one batched call (a single job may exceed it alone).
        cache_bytes: byte budget of the shared ForwardRecord cache (0 switches it off).
        step_bytes: byte budget of the shared generation steps (0 switches them off).
        batch_steps: run decode steps of different generations at one cache length as one forward.
        autostart: start the worker on the first submission (False: only ``start()`` starts it; tests use
            this to queue several jobs before any runs).
        idle_seconds: how long an idle worker waits for work before it exits.
    """

    def __init__(
        self,
        lm: LoadedModel,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        autostart: bool = True,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        step_bytes: int = DEFAULT_STEP_BYTES,
        batch_steps: bool = True,
    ) -> None:
        self.lm = lm
        self.prefix_store = PrefixStore(step_bytes)
        self.model_key = (lm.name, id(lm))  # this service's model (it holds lm, so the id stays this model's)
        self.batch_steps = bool(batch_steps)
        self.max_batch = max(1, int(max_batch))
        self.max_batch_tokens = max(1, int(max_batch_tokens))
        self.cache_budget = max(0, int(cache_bytes))
        self.idle_seconds = float(idle_seconds)
        self._started = bool(autostart)
        self._closed = False
        self._drain = False
        self._lock = threading.Condition()
        self._queues: OrderedDict[str, deque[_Job]] = OrderedDict()  # owner -> jobs, in round-robin order
        self._inflight: dict[Hashable, _Job] = {}  # coalescing key -> forward or window job waiting or running
        self._cache: OrderedDict[tuple[int, ...], ForwardRecord] = OrderedDict()  # LRU, oldest first
        self._windows: OrderedDict[tuple, WindowScore] = OrderedDict()  # WindowRequest.key -> score, LRU
        self._cache_bytes = 0  # both caches together
        self._counts = dict.fromkeys(
            ("jobs", "model_calls", "batches", "batched_rows", "cache_hits", "coalesced", "cancelled", "errors"), 0
        )
        self._thread: threading.Thread | None = None
        self._pad_id = int(getattr(lm.tokenizer, "pad_token_id", None) or 0)  # any id: pads are masked out
        self._keep_last = accepts_argument(lm.model, "logits_to_keep")
        self._per_row_keep = self._keep_last and _slices_logits_per_row(lm.model)
        self._position_ids = accepts_argument(lm.model, "position_ids")

    # ----- lifecycle ------------------------------------------------------------------------------
    def start(self) -> InferenceService:
        """Start the worker (idempotent); later submissions restart it after an idle exit."""
        with self._lock:
            if self._closed:
                raise ServiceClosed("The model's inference service has shut down.")
            self._started = True
            self._ensure_worker()
            self._lock.notify_all()
        return self

    def close(self, *, drain: bool = False, timeout: float | None = None) -> None:
        """Stop the service and join its worker (the job running now finishes first).

        Args:
            drain: run every job already queued before stopping (False: cancel them; their callers get
                ServiceClosed).
            timeout: most seconds to wait for the worker.
        """
        with self._lock:
            self._closed = True
            self._drain = drain
            if drain:
                self._started = True
                self._ensure_worker()
            else:
                for job in self._pending_jobs():
                    self._drop(job, ServiceClosed("The model's inference service has shut down."))
                self._queues.clear()
            thread = self._thread
            self._lock.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.prefix_store.clear()  # steppers that adopted a shared step keep their own references

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def worker_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    # ----- submitting -----------------------------------------------------------------------------
    def forward(self, ids: Sequence[int], need: Need | None, owner: str) -> Ticket:
        """Queue one forward pass over ``ids``; the Ticket's result is the ForwardRecord ``forward_record`` gives.

        A cached record that covers ``need`` answers at once; a waiting or running job that covers it is
        shared; otherwise one job runs for the union of ``need`` and the cached record's need (as the
        per-session memo does), and its record replaces the cached one.

        Args:
            ids: T token ids, T >= 1.
            need: what to keep (None: the next token's logits only).
            owner: the session asking.
        """
        ids = tuple(int(i) for i in ids)
        if not ids:
            raise ValueError("There are no tokens to run the model on.")
        need = _normalised(need or Need(), len(ids))
        with self._lock:
            self._check_open()
            record = self._cache.get(ids)
            if record is not None and record.covers(need):
                self._cache.move_to_end(ids)
                self._counts["cache_hits"] += 1
                return self._finished_ticket(record)
            job = self._inflight.get(ids)
            if job is not None and _covers(job.payload[1], need):
                self._counts["coalesced"] += 1
                return self._attach(job, owner)
            if record is not None:
                need = record.need.union(need)
            if job is not None:
                need = job.payload[1].union(need)
            batch_key = "next-token" if need == NEXT_TOKEN and self.max_batch > 1 else None
            job = _Job("forward", (ids, need), batch_key, len(ids), key=ids)
            self._inflight[ids] = job
            return self._enqueue(job, owner)

    def score_window(self, request: WindowRequest, owner: str) -> Ticket:
        """Queue one perplexity window; the Ticket's result is its ``core.perplexity.WindowScore``."""
        return self.submit_windows([request], owner)[0]

    def submit_windows(self, requests: Sequence[WindowRequest], owner: str) -> list[Ticket]:
        """Queue every window of a text at once (one job each, so equal-length windows can share a call); a
        window scored before answers from the shared cache, one being scored for someone else is shared."""
        with self._lock:
            self._check_open()
            return [self._submit_window(r, owner) for r in requests]

    def _submit_window(self, request: WindowRequest, owner: str) -> Ticket:
        key = request.key
        score = self._windows.get(key)
        if score is not None:
            self._windows.move_to_end(key)
            self._counts["cache_hits"] += 1
            return self._finished_ticket(score)
        job = self._inflight.get(key)
        if job is not None:
            self._counts["coalesced"] += 1
            return self._attach(job, owner)
        job = _Job("window", request, ("window", len(request.ids), request.top_k), len(request.ids), key=key)
        self._inflight[key] = job
        return self._enqueue(job, owner)

    def run(self, fn: Callable[[], Any], owner: str) -> Ticket:
        """Queue ``fn()`` (model work, e.g. one generation decode step) to run in the worker thread.

        A callable with a ``batch_key`` (a ``core.generation.ModelCall`` one token past its cache) may share one
        forward with other owners' callables of the same key: its class's ``run_together`` runs them.
        """
        key = getattr(fn, "batch_key", None) if self.batch_steps and self.max_batch > 1 else None
        with self._lock:
            self._check_open()
            return self._enqueue(_Job("run", fn, key, int(getattr(fn, "tokens", 0)) if key else 0), owner)

    # ----- hooks for core calls -------------------------------------------------------------------
    def forward_fn(self, owner: str, wait: Wait | None = None) -> ForwardFn:
        """A ``core.forward.ForwardFn`` whose passes go through this service (pass as ``forward=``)."""
        wait = wait or Ticket.result

        def forward(lm: LoadedModel, ids: list[int], need: Need | None = None) -> ForwardRecord:
            self._check_model(lm)
            return wait(self.forward(ids, need, owner))

        return forward

    def score_windows(self, owner: str, wait: Wait | None = None) -> ScoreWindows:
        """A ``core.perplexity.ScoreWindows`` that queues every window at once, one job each, and yields the
        scores in order (pass as ``perplexity(..., score_windows=...)``). Abandoning it cancels the rest."""
        wait = wait or Ticket.result

        def score_windows(lm: LoadedModel, requests: Sequence[WindowRequest]) -> Iterator[WindowScore]:
            self._check_model(lm)
            tickets = self.submit_windows(requests, owner)
            try:
                for ticket in tickets:
                    yield wait(ticket)
            finally:
                for ticket in tickets:
                    ticket.cancel()

        return score_windows

    def runner(self, owner: str, wait: Wait | None = None) -> StepRunner:
        """A ``core.generation.Runner``: runs each call as one job (pass as ``Stepper(..., runner=...)``), and offers
        the stepper this service's shared generation steps."""
        return StepRunner(self, owner, wait or Ticket.result)

    def shared_steps(self, lm: LoadedModel) -> SharedSteps | None:
        """This model's part of the shared generation steps, or None (another model, or the steps switched off)."""
        if lm is not self.lm or not self.prefix_store.enabled or self._closed:
            return None
        return SharedSteps(self.prefix_store, self.model_key)

    def forget_results(self) -> int:
        """Empty the shared caches (forward records, window scores and generation steps), e.g. when the server goes
        idle; jobs waiting or running are not touched. Returns the bytes the caches held."""
        with self._lock:
            freed = self._cache_bytes
            self._cache.clear()
            self._windows.clear()
            self._cache_bytes = 0
        return freed + self.prefix_store.clear()

    # ----- reading ------------------------------------------------------------------------------------
    def stats(self) -> ServiceStats:
        with self._lock:
            entries = len(self._cache) + len(self._windows)
            steps = self.prefix_store.counts()
            return ServiceStats(
                **self._counts,
                cache_bytes=self._cache_bytes,
                cache_entries=entries,
                step_hits=steps.hits,
                step_misses=steps.misses,
                step_evictions=steps.evictions,
                step_bytes=steps.bytes,
                step_entries=steps.entries,
            )

    def cached(self, ids: Sequence[int]) -> ForwardRecord | None:
        """The shared record for ``ids``, or None (does not count as a hit or refresh its place)."""
        with self._lock:
            return self._cache.get(tuple(int(i) for i in ids))

    # ----- queue internals (called with the lock held) ---------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ServiceClosed("The model's inference service has shut down.")

    def _check_model(self, lm: LoadedModel) -> None:
        if lm is not self.lm:
            raise ValueError(f"This inference service runs '{self.lm.name}', not '{lm.name}'.")

    def _finished_ticket(self, value: Any) -> Ticket:
        job = _Job("cached", None, None, 0, state=DONE, value=value)
        job.finished.set()
        return Ticket(self, job)

    def _enqueue(self, job: _Job, owner: str) -> Ticket:
        ticket = Ticket(self, job)
        job.tickets.append(ticket)
        self._queues.setdefault(owner, deque()).append(job)
        self._ensure_worker()
        self._lock.notify_all()
        return ticket

    def _attach(self, job: _Job, owner: str) -> Ticket:
        """A new ticket on an existing job; a waiting job also joins the new owner's queue, so it starts at
        whichever of its owners' turns comes first."""
        ticket = Ticket(self, job)
        job.tickets.append(ticket)
        if job.state == PENDING and job not in self._queues.get(owner, ()):
            self._queues.setdefault(owner, deque()).append(job)
            self._lock.notify_all()
        return ticket

    def _ensure_worker(self) -> None:
        if self._started and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._work, name=f"inference-{self.lm.name}", daemon=True)
            self._thread.start()

    def _pending_jobs(self) -> list[_Job]:
        seen: dict[int, _Job] = {}
        for queue in self._queues.values():
            for job in queue:
                if job.state == PENDING:
                    seen.setdefault(id(job), job)
        return list(seen.values())

    def _schedule(self) -> list[_Job]:
        """Waiting jobs in the order the fair schedule starts them: take the first owner's oldest job, send that
        owner to the back of the line, repeat (batching only lets later jobs start sooner)."""
        line = deque((owner, deque(queue)) for owner, queue in self._queues.items())
        order: list[_Job] = []
        seen: set[int] = set()
        while line:
            owner, queue = line.popleft()
            while queue and (queue[0].state != PENDING or id(queue[0]) in seen):
                queue.popleft()
            if not queue:
                continue
            job = queue.popleft()
            seen.add(id(job))
            order.append(job)
            line.append((owner, queue))
        return order

    def _position(self, job: _Job) -> int:
        with self._lock:
            if job.state != PENDING:
                return 0
            order = self._schedule()
            return order.index(job) if job in order else 0

    def _pop_head(self, owner: str) -> _Job | None:
        """Remove and return ``owner``'s oldest waiting job, dropping stale entries; None when there is none."""
        queue = self._queues.get(owner)
        while queue and queue[0].state != PENDING:
            queue.popleft()
        if not queue:
            self._queues.pop(owner, None)
            return None
        return queue.popleft()

    def _peek_head(self, owner: str) -> _Job | None:
        queue = self._queues.get(owner)
        while queue and queue[0].state != PENDING:
            queue.popleft()
        return queue[0] if queue else None

    def _take_batch(self) -> list[_Job]:
        """The next job under the fair schedule, plus the jobs that can share its model call.

        Companions are the heads of the other owners' queues that share the first job's ``batch_key``, in
        round-robin order, while they fit ``max_batch`` rows and ``max_batch_tokens`` padded tokens and padding
        wastes at most a third of the call. An owner's second and later jobs join only while no other owner is
        waiting with work that does not fit the batch: extra rows never delay someone else's turn.
        """
        first, first_owner = None, None
        for owner in list(self._queues):
            first = self._pop_head(owner)
            if first is not None:
                first.state = RUNNING  # taken: a coalesced copy in another owner's queue is now stale
                first_owner = owner
                self._queues.move_to_end(owner)
                break
        if first is None:
            return []
        batch = [first]
        contributed, fresh = {first_owner}, False  # one job per owner per pass
        while first.batch_key is not None and len(batch) < self.max_batch:
            added, skipped = False, False
            for owner in list(self._queues):
                head = None if owner in contributed else self._peek_head(owner)
                if head is None:
                    continue
                if head.batch_key != first.batch_key or not self._fits(batch, head):
                    skipped = True  # this owner waits for its turn: take no one's second job before it
                    continue
                taken = self._pop_head(owner)  # the head just peeked
                taken.state = RUNNING
                batch.append(taken)
                self._queues.move_to_end(owner)
                contributed.add(owner)
                added = True
                if len(batch) >= self.max_batch:
                    break
            if skipped or (fresh and not added):
                break
            contributed, fresh = set(), True
        for owner in [o for o, q in self._queues.items() if not any(j.state == PENDING for j in q)]:
            del self._queues[owner]
        return batch

    def _fits(self, batch: list[_Job], job: _Job) -> bool:
        rows = len(batch) + 1
        longest = max(job.tokens, *(j.tokens for j in batch))
        padded = rows * longest
        real = job.tokens + sum(j.tokens for j in batch)
        return padded <= self.max_batch_tokens and (padded - real) * 3 <= padded

    def _drop(self, job: _Job, error: BaseException) -> None:
        job.state = CANCELLED
        job.error = error
        if job.key is not None and self._inflight.get(job.key) is job:
            del self._inflight[job.key]
        self._counts["cancelled"] += 1
        job.finished.set()

    def _cancel(self, ticket: Ticket) -> bool:
        with self._lock:
            job = ticket._job
            if ticket._cancelled:
                return True
            if job.state != PENDING:
                return False
            ticket._cancelled = True
            job.tickets = [t for t in job.tickets if t is not ticket]
            if not job.tickets:  # nobody else wants it: it never runs
                self._drop(job, InferenceCancelled("The request was cancelled before the model ran it."))
            return True

    # ----- the worker -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                batch = self._take_batch()
                while not batch:
                    if self._closed or not self._lock.wait(self.idle_seconds):
                        batch = self._take_batch()
                        if not batch:  # closed, or idle: exit holding nothing; the next submission restarts it
                            self._thread = None
                            return
                    else:
                        batch = self._take_batch()
            outcomes = self._execute(batch)
            with self._lock:
                for job, (value, error) in zip(batch, outcomes):
                    self._finish(job, value, error)
                self._lock.notify_all()
            del batch, outcomes  # release results and callables before waiting again

    def _execute(self, batch: list[_Job]) -> list[tuple[Any, BaseException | None]]:
        """Run a batch (one model call when it holds several rows); each job gets (value, error).

        A batched call that fails is retried row by row, so one bad request cannot fail its companions.
        """
        if len(batch) > 1:
            try:
                with torch.inference_mode():
                    values = self._run_batch(batch)
                self._count(model_calls=1, batches=1, batched_rows=len(batch), jobs=len(batch))
                return [(v, None) for v in values]
            except Exception:
                pass
        outcomes = []
        for job in batch:
            try:
                with torch.inference_mode():
                    value = self._run_one(job)
                outcomes.append((value, None))
            except BaseException as error:  # a job's failure is its caller's, never the worker's
                outcomes.append((None, error))
            self._count(model_calls=1, jobs=1)
        return outcomes

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, n in increments.items():
                self._counts[name] += n

    def _run_one(self, job: _Job) -> Any:
        if job.kind == "forward":
            ids, need = job.payload
            return forward_record(self.lm, list(ids), need)
        if job.kind == "window":
            return next(iter(direct_score_windows(self.lm, [job.payload])))
        return job.payload()

    def _run_batch(self, batch: list[_Job]) -> list[Any]:
        if batch[0].kind == "forward":
            rows = next_token_logits(self.lm, [job.payload[0] for job in batch], pad_id=self._pad_id)
            return [
                ForwardRecord(self.lm.name, job.payload[0], NEXT_TOKEN, row[None, :].clone(), None, None)  # (1, V)
                for job, row in zip(batch, rows)
            ]
        if batch[0].kind == "run":
            return type(batch[0].payload).run_together([job.payload for job in batch])
        return window_scores(self.lm, [job.payload for job in batch])

    def _finish(self, job: _Job, value: Any, error: BaseException | None) -> None:
        job.value, job.error, job.state = value, error, DONE
        if error is not None:
            self._counts["errors"] += 1
        if job.key is not None and self._inflight.get(job.key) is job:
            del self._inflight[job.key]
        if job.kind == "forward" and error is None:
            self._remember(value)
        if job.kind == "window" and error is None:
            self._remember_window(job.key, value)
        job.finished.set()

    def _remember(self, record: ForwardRecord) -> None:
        """Put a record in the shared LRU, evicting the oldest until the byte budget holds."""
        key = record.ids
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= old.nbytes
            if old.covers(record.need) and not record.covers(old.need):
                record = old  # a narrower pass finished after a wider one: keep the wider
        size = record.nbytes
        if size > self.cache_budget:
            return
        self._cache[key] = record
        self._cache_bytes += size
        self._evict()

    def _remember_window(self, key: tuple, score: WindowScore) -> None:
        """Put a window's score in the shared LRU (scores are small: a few KB per window)."""
        if key in self._windows or score.nbytes > self.cache_budget:
            return
        self._windows[key] = score
        self._cache_bytes += score.nbytes
        self._evict()

    def _evict(self) -> None:
        """Drop the oldest records, then the oldest window scores, until the byte budget holds."""
        while self._cache_bytes > self.cache_budget and self._cache:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= evicted.nbytes
        while self._cache_bytes > self.cache_budget and self._windows:
            _, dropped = self._windows.popitem(last=False)
            self._cache_bytes -= dropped.nbytes


# ----------------------------------------------------------------------------------------------------------
# Batched model calls.


def next_token_logits(lm: LoadedModel, prompts: Sequence[Sequence[int]], *, pad_id: int = 0) -> torch.Tensor:
    """Next-token logits of several prompts in one right-padded model call.

    Right padding keeps every real token where it is alone: position ids are 0..T_b-1 in every row, and under the
    causal mask a real position only attends to earlier positions, which are all real; the attention mask hides
    the pads from nothing but the pads themselves. Each row's logits are read at its own last real position.

    Args:
        lm: a loaded causal LM.
        prompts: B prompts of T_b >= 1 token ids each.
        pad_id: the id written into padding (any id: the mask hides it).
    Returns:
        (B, V) float32 logits of the token after each prompt.
    """
    lengths = torch.tensor([len(p) for p in prompts])  # (B,)
    if int(lengths.min()) < 1:
        raise ValueError("There are no tokens to run the model on.")
    width = int(lengths.max())
    input_ids = torch.full((len(prompts), width), int(pad_id), dtype=torch.long)  # (B, T)
    for row, ids in enumerate(prompts):
        input_ids[row, : len(ids)] = torch.tensor(list(ids))
    mask = (torch.arange(width)[None, :] < lengths[:, None]).long()  # (B, T) 1 = real token
    last = lengths - 1  # (B,)
    kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask, "use_cache": False}
    if accepts_argument(lm.model, "position_ids"):
        kwargs["position_ids"] = torch.arange(width)[None, :].expand(len(prompts), -1)  # (B, T)
    if accepts_argument(lm.model, "logits_to_keep"):
        if _slices_logits_per_row(lm.model):
            kwargs["logits_to_keep"] = last[:, None]  # (B, 1) each row's own last position
            with torch.inference_mode():
                return lm.model(**kwargs).logits[:, 0, :].float()  # (B, V)
        positions = torch.unique(last)  # (K,) sorted; one shared slice for every row
        kwargs["logits_to_keep"] = positions
        with torch.inference_mode():
            logits = lm.model(**kwargs).logits  # (B, K, V)
        column = torch.searchsorted(positions, last)  # (B,)
        return logits[torch.arange(len(prompts)), column].float()  # (B, V)
    with torch.inference_mode():
        logits = lm.model(**kwargs).logits  # (B, T, V)
    return logits[torch.arange(len(prompts)), last].float()  # (B, V)


def window_scores(lm: LoadedModel, requests: Sequence[WindowRequest]) -> list[WindowScore]:
    """Score several perplexity windows of equal length L in one stacked model call (no padding needed).

    Args:
        lm: a loaded causal LM.
        requests: windows whose ``ids`` all have the same length L.
    Returns:
        One WindowScore per request, equal to ``core.perplexity.direct_score_windows``'s within float rounding.
    """
    lengths = {len(r.ids) for r in requests}
    if len(lengths) != 1:
        raise ValueError(f"Windows batched together must have one length, not {sorted(lengths)}.")
    x = torch.stack([r.ids for r in requests])  # (B, L)
    keep = max(r.keep for r in requests)
    with torch.inference_mode():
        states, project = final_states(lm, x, keep)  # (B, keep, D): logits are built a chunk of positions at a time
        return [
            score_positions(states[i, -r.keep : -1, :], project, r.targets, r.top_k) for i, r in enumerate(requests)
        ]


# ----------------------------------------------------------------------------------------------------------
# Small helpers.


def _normalised(need: Need, length: int) -> Need:
    """``need`` as ``forward_record`` records it: positions clipped to 1..T."""
    return Need(max(1, min(int(need.positions), length)), bool(need.attentions), bool(need.hidden_states))


def _covers(have: Need, want: Need) -> bool:
    return (
        have.positions >= want.positions
        and (have.attentions or not want.attentions)
        and (have.hidden_states or not want.hidden_states)
    )


def _slices_logits_per_row(model: Any) -> bool:
    """Whether the model's forward takes a (B, n) tensor ``logits_to_keep`` of per-row positions (transformers 5's
    ``slice_logits_to_keep``); older forwards index one shared slice, so the caller falls back to that."""
    module = inspect.getmodule(type(model))
    return module is not None and "slice_logits_to_keep" in vars(module)

"""The Streamlit side of core.serving.inference: one shared InferenceService per cached model, this session's owner id,
and a wait that shows the student's place in the queue while the model works for others.

Lifetime: the service lives in its model's ``LoadedModel.extras`` (never in a module global or a second cache),
so it is freed with the model; its worker thread exits after ``core.serving.inference.DEFAULT_IDLE_SECONDS`` idle and so
holds nothing alive. ``release_service`` closes it at once (fit for the model cache's ``on_release`` callback).
A session's own trained model (``state.TRAINED_MODEL``) is tiny and never shared: it keeps calling the model
directly in the script thread, and never gets a service.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from core.forward import ForwardRecord, Need, forward_record
from core.generation import Runner
from core.models import LoadedModel
from core.perplexity import ScoreWindows
from core.serving.inference import InferenceService, Ticket
from ui import state
from ui.notice import notice
from ui.settings import limits

SERVICE = "inference_service"  # the key of a model's service in its LoadedModel.extras
SHOW_AFTER = 0.3  # seconds a wait stays silent: most answers come sooner
POLL = 0.25  # seconds between updates of the queue message
ABANDON_WAIT = 10.0  # seconds an interrupted run waits for its already-running job (one window or decode step)
NO_SESSION = "no-session"  # owner of calls made outside a script run (a bare-mode script, a test)

_CREATING = threading.Lock()  # two sessions' first calls on one model make one service, not two
_SERVICES: weakref.WeakSet[InferenceService] = weakref.WeakSet()  # every live service (a model's goes with it)


def service_for(lm: LoadedModel) -> InferenceService:
    """The shared inference service of ``lm`` (made on first use, kept in ``lm.extras``)."""
    service = lm.extras.get(SERVICE)
    if service is None or service.closed:
        with _CREATING:
            service = lm.extras.get(SERVICE)
            if service is None or service.closed:
                limit = limits()
                service = InferenceService(
                    lm, cache_bytes=limit.shared_cache_mb * 2**20, step_bytes=limit.shared_steps_mb * 2**20
                )
                lm.extras[SERVICE] = service
                _SERVICES.add(service)
    return service


def forget_shared_results() -> int:
    """Empty every live service's shared caches (ui.idle_release, when the server goes idle); returns bytes freed."""
    with _CREATING:
        services = list(_SERVICES)
    return sum(service.forget_results() for service in services)


def release_service(lm: LoadedModel) -> None:
    """Close ``lm``'s service (its waiting jobs fail with ServiceClosed) and forget it; a no-op without one."""
    extras = getattr(lm, "extras", None)
    service = extras.pop(SERVICE, None) if isinstance(extras, dict) else None
    if service is not None:
        service.close()


def owner_id() -> str:
    """This session's id (the owner its jobs are queued under), or NO_SESSION outside a script run."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else NO_SESSION


def waiting_message(ahead: int, what: str) -> str:
    """The line shown while a request waits: its place in the queue, in words."""
    if ahead <= 0:
        return f"The model is working on your {what}…"
    plural = "s" if ahead != 1 else ""
    return f"Waiting for the model: {ahead} request{plural} ahead of yours ({what})."


def wait(ticket: Ticket, what: str = "request") -> Any:
    """Block this script run until ``ticket``'s result; re-raises the job's error.

    An answer within SHOW_AFTER seconds shows nothing. A longer wait shows ``waiting_message`` in an ``st.empty``
    slot, redrawn only when its text changes (a class waiting in line would otherwise send a message each POLL
    seconds per student) and removed at the end. Every POLL seconds a rerun or a stop may interrupt the script
    (``interruption_point``): the ticket is then cancelled (a job already running is waited for, at most
    ABANDON_WAIT seconds, so the next run never races it on a shared object such as a generation's KV cache)
    and the interruption is re-raised.
    """
    try:
        return ticket.result(timeout=SHOW_AFTER)
    except TimeoutError:
        pass
    slot = st.empty()
    shown = None
    try:
        while True:
            message = waiting_message(ticket.position(), what)
            if message != shown:
                notice(message, "caption", where=slot)
                shown = message
            else:
                interruption_point()
            try:
                return ticket.result(timeout=POLL)
            except TimeoutError:
                continue
    except ScriptControlException:
        abandon(ticket)
        raise
    finally:
        slot.empty()


def interruption_point() -> None:
    """Let a pending rerun or stop interrupt this run without drawing anything: each read of session state is one
    of Streamlit's yield points, where it raises the request as a ScriptControlException."""
    _ = SERVICE in st.session_state


def abandon(ticket: Ticket, timeout: float = ABANDON_WAIT) -> None:
    """Cancel ``ticket``; when its job is already running, wait for it to end (ignoring its result)."""
    if ticket.cancel():
        return
    try:
        ticket.result(timeout=timeout)
    except Exception:  # the interrupted run no longer wants the result or its error
        pass


def _session_model(lm: LoadedModel) -> bool:
    """Whether ``lm`` is this session's own trained model (called directly, never through a service)."""
    try:
        return st.session_state.get(state.TRAINED_MODEL) is lm
    except Exception:  # no session (bare mode)
        return False


def shared_forward(lm: LoadedModel, ids: Sequence[int], need: Need | None = None) -> ForwardRecord:
    """A ``core.forward.ForwardFn`` through the shared service (cache, coalescing, batching, fair turns)."""
    if _session_model(lm):
        return forward_record(lm, list(ids), need)
    return wait(service_for(lm).forward(ids, need, owner_id()), what="forward pass")


def shared_perplexity_hook(lm: LoadedModel) -> ScoreWindows | None:
    """``perplexity(..., score_windows=...)``: each window one queued job; None (the direct loop) for the
    session's own model."""
    if _session_model(lm):
        return None
    return service_for(lm).score_windows(owner_id(), wait=partial(wait, what="perplexity window"))


def shared_step_runner(lm: LoadedModel) -> Runner | None:
    """``Stepper(..., runner=...)`` (or ``stepper.runner = ...`` each run): one decode step per queued job; None
    (direct calls) for the session's own model."""
    if _session_model(lm):
        return None
    return service_for(lm).runner(owner_id(), wait=partial(wait, what="generation step"))


def shared_run(lm: LoadedModel, fn: Callable[[], Any], what: str = "request") -> Any:
    """Run ``fn()`` (model work on ``lm``) as one queued job and return its result."""
    if _session_model(lm):
        return fn()
    return wait(service_for(lm).run(fn, owner_id()), what=what)

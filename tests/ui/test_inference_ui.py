"""ui.inference: one service per model object, the session's owner id, and a wait that shows the queue and
gives up its place when Streamlit interrupts the run."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

import ui.inference as inference
from core.serving.inference import InferenceService


def fake_model(name="fake"):
    """A LoadedModel stand-in: ``run`` jobs never touch the model, so no weights are needed."""
    model = SimpleNamespace(forward=lambda input_ids: None)
    return SimpleNamespace(model=model, tokenizer=object(), name=name, extras={})


@pytest.fixture
def lm():
    model = fake_model()
    yield model
    inference.release_service(model)


def test_one_service_per_model_object_freed_with_it(lm):
    other = fake_model("other")
    service = inference.service_for(lm)
    assert inference.service_for(lm) is service and lm.extras[inference.SERVICE] is service
    assert inference.service_for(other) is not service
    inference.release_service(other)
    inference.release_service(lm)
    assert service.closed and inference.SERVICE not in lm.extras
    assert inference.service_for(lm) is not service  # a released model gets a fresh service


def test_owner_is_the_session_id_inside_a_run_and_a_fixed_name_outside():
    assert inference.owner_id() == inference.NO_SESSION

    def script():
        import streamlit as st

        from ui.inference import owner_id

        st.text(owner_id())

    at = AppTest.from_function(script).run()
    assert not at.exception
    session = at.text[0].value
    assert session and session != inference.NO_SESSION


def test_waiting_message_names_the_place_in_the_queue():
    assert inference.waiting_message(3, "forward pass") == (
        "Waiting for the model: 3 requests ahead of yours (forward pass)."
    )
    assert "1 request ahead" in inference.waiting_message(1, "x")
    assert "working on your" in inference.waiting_message(0, "generation step")


def test_wait_shows_the_queue_then_returns_the_result(lm, monkeypatch):
    service = inference.service_for(lm)
    release = threading.Event()
    blocker = service.run(lambda: release.wait(30), owner="other")
    deadline = time.monotonic() + 60
    while not blocker.running():  # the other student's first job has started; their second now queues first
        assert time.monotonic() < deadline
        time.sleep(0.01)
    service.run(lambda: "theirs", owner="other")
    mine = service.run(lambda: "mine", owner=inference.owner_id())
    shown = []

    def fake_notice(message, kind=None, where=None):
        shown.append(message)
        release.set()  # the student ahead finishes once the first message is up

    monkeypatch.setattr(inference, "notice", fake_notice)
    assert inference.wait(mine, what="test") == "mine"
    assert blocker.done()
    assert shown[0] == "Waiting for the model: 1 request ahead of yours (test)."


def test_an_interrupted_wait_cancels_a_queued_job(monkeypatch):
    lm = fake_model()
    service = InferenceService(lm, autostart=False)
    ran = []
    ticket = service.run(lambda: ran.append("ran"), owner="me")

    def interrupted(*args, **kwargs):
        raise StopException()

    monkeypatch.setattr(inference, "notice", interrupted)
    with pytest.raises(StopException):
        inference.wait(ticket)
    assert ticket.cancelled()
    service.start()
    service.run(lambda: None, owner="me").result(timeout=30)
    assert ran == []
    service.close()


def test_an_interrupted_wait_lets_a_running_job_finish_first(lm, monkeypatch):
    service = inference.service_for(lm)
    release = threading.Event()
    finished = []
    ticket = service.run(lambda: (release.wait(30), finished.append("step"))[1], owner="me")

    def interrupted(*args, **kwargs):
        release.set()
        raise StopException()

    monkeypatch.setattr(inference, "notice", interrupted)
    with pytest.raises(StopException):
        inference.wait(ticket)
    assert finished == ["step"]  # the next run will not race a job still using the session's objects
    assert ticket.done() and not ticket.cancelled()


def test_a_wait_redraws_its_line_only_when_the_place_changes(lm, monkeypatch):
    """A student waiting behind a long job gets one message, not one every POLL seconds, and the run can still be
    interrupted between redraws."""
    service = inference.service_for(lm)
    release = threading.Event()
    blocker = service.run(lambda: release.wait(30), owner="other")
    deadline = time.monotonic() + 60
    while not blocker.running():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    mine = service.run(lambda: "mine", owner=inference.owner_id())
    shown, checks = [], []

    def checked():
        checks.append(1)
        if len(checks) == 4:  # four polls with the same place in the queue, then the job ahead ends
            release.set()

    monkeypatch.setattr(inference, "notice", lambda message, kind=None, where=None: shown.append(message))
    monkeypatch.setattr(inference, "interruption_point", checked)
    assert inference.wait(mine, what="test") == "mine"
    assert shown == ["The model is working on your test…"] and len(checks) >= 4


def test_a_wait_interrupted_between_redraws_gives_up_its_place(monkeypatch):
    lm = fake_model()
    service = InferenceService(lm, autostart=False)
    ticket = service.run(lambda: "never", owner="me")
    shown = []
    monkeypatch.setattr(inference, "notice", lambda message, kind=None, where=None: shown.append(message))

    def interrupted():
        raise StopException()

    monkeypatch.setattr(inference, "interruption_point", interrupted)
    with pytest.raises(StopException):
        inference.wait(ticket)
    assert len(shown) == 1 and ticket.cancelled()
    service.close()


def test_the_interruption_point_is_harmless_outside_a_run():
    inference.interruption_point()  # bare mode: no script run to interrupt, nothing raised

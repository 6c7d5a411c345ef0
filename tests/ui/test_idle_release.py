"""What the server gives back when it goes idle: the memos of sessions that have left (their tab is closed, their
state still kept by Streamlit for a reconnect), never an active session's; nothing without a runtime."""

from __future__ import annotations

import numpy as np

import ui.idle_release
from ui.memo import SessionMemo, _Budget


def memo_with(budget: _Budget, session_id: str, n_bytes: int) -> SessionMemo:
    memo = SessionMemo(session_id)
    budget.track(memo)
    for i in range(2):
        value = np.ones(n_bytes // 4, dtype=np.float32)  # (n_bytes / 4,)
        memo.setdefault("forward", {})[i] = value
        memo.sizes[("forward", i)] = value.nbytes
        budget.add(memo, "forward", i, value.nbytes)
    return memo


def test_the_memos_of_sessions_that_left_are_forgotten_and_the_others_kept():
    budget = _Budget()
    gone = memo_with(budget, "left", 1_000_000)
    here = memo_with(budget, "here", 1_000_000)
    freed = budget.forget_sessions(lambda session_id: session_id == "left")
    assert freed == 2_000_000
    assert gone.nbytes == 0 and not gone["forward"]
    assert here.nbytes == 2_000_000 and len(here["forward"]) == 2
    assert budget.total == 2_000_000
    assert budget.forget_sessions(lambda session_id: session_id == "left") == 0


def test_a_memo_without_a_session_is_never_forgotten():
    budget = _Budget()
    memo = memo_with(budget, "", 400)
    assert budget.forget_sessions(lambda session_id: True) == 0
    assert memo.nbytes == 800


def test_without_a_runtime_no_session_counts_as_gone(monkeypatch):
    assert ui.idle_release.session_gone("any") is False
    budget = _Budget()
    memo = memo_with(budget, "some-session", 400)
    monkeypatch.setattr(ui.idle_release, "BUDGET", budget)
    monkeypatch.setattr(ui.idle_release, "forget_shared_results", lambda: 0)
    done = ui.idle_release.release_idle_memory()
    assert done["memo_bytes_forgotten"] == 0 and memo.nbytes == 800
    assert done["collected"] >= 0


def test_the_release_forgets_the_sessions_the_runtime_no_longer_has(monkeypatch):
    budget = _Budget()
    gone, here = memo_with(budget, "left", 4000), memo_with(budget, "here", 4000)
    monkeypatch.setattr(ui.idle_release, "BUDGET", budget)
    monkeypatch.setattr(ui.idle_release, "session_gone", lambda session_id: session_id == "left")
    monkeypatch.setattr(ui.idle_release, "forget_shared_results", lambda: 123)
    done = ui.idle_release.release_idle_memory()
    assert done["memo_bytes_forgotten"] == 8000 and done["shared_bytes_forgotten"] == 123
    assert gone.nbytes == 0 and here.nbytes == 8000


def test_every_live_service_forgets_its_shared_results(monkeypatch):
    import weakref

    import ui.inference

    class Service:
        def __init__(self, held: int) -> None:
            self.held = held

        def forget_results(self) -> int:
            held, self.held = self.held, 0
            return held

    services = [Service(100), Service(20)]
    registry = weakref.WeakSet(services)
    monkeypatch.setattr(ui.inference, "_SERVICES", registry)
    assert ui.inference.forget_shared_results() == 120
    assert [s.held for s in services] == [0, 0]
    assert ui.inference.forget_shared_results() == 0


# -- sessions Streamlit keeps for a reconnect -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeptState:
    """Stands in for a session's SessionState: a widget's ``format_func`` closure over the page's maps, as a real
    session's widget metadata holds them."""

    def __init__(self, held: np.ndarray) -> None:
        self.widget_format_funcs = [lambda i: f"{held.shape[0]} {i}"]

    def clear(self) -> None:
        self.widget_format_funcs.clear()


class KeptSession:
    """Stands in for an AppSession: the parts Streamlit's session manager calls, its state and its fragments."""

    def __init__(self, session_id: str, held: np.ndarray) -> None:
        from streamlit.runtime.fragment import MemoryFragmentStorage

        self.id = session_id
        self.session_state = KeptState(held)
        self._fragment_storage = MemoryFragmentStorage()
        self._fragment_storage.register("explore", lambda: held.sum())  # a fragment with its call's maps
        self.shut_down = False

    def request_script_stop(self) -> None:
        pass

    def disconnect_file_watchers(self) -> None:
        pass

    def clear_session_caches(self) -> None:
        pass

    def is_resumable(self) -> bool:
        return True

    def shutdown(self) -> None:  # as AppSession.shutdown: stops its runner, keeps its state
        self.shut_down = True

    def matches_user_info(self, user_info: dict) -> bool:
        return True

    def register_file_watchers(self) -> None:
        pass


def session_manager(clock: FakeClock, ttl: float):
    """Streamlit's own session manager and store (a TTLCache of ``ttl`` seconds read from ``clock``)."""
    from streamlit.runtime.caching.ttl_cache import TTLCache
    from streamlit.runtime.memory_session_storage import MemorySessionStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    storage = MemorySessionStorage(ttl_seconds=int(ttl))
    storage._cache = TTLCache(maxsize=128, ttl=ttl, timer=clock)
    return WebsocketSessionManager(
        storage, uploaded_file_manager=None, script_cache=ScriptCache(), message_enqueued_callback=None
    )


def connect_and_leave(manager, session: KeptSession) -> None:
    """A tab opens a session and closes: Streamlit moves the session to its store for a reconnect."""
    from streamlit.runtime.session_manager import ActiveSessionInfo

    manager._active_session_info_by_id[session.id] = ActiveSessionInfo(client=object(), session=session)
    manager.disconnect_session(session.id)


def test_a_session_kept_for_a_reconnect_is_shut_down_and_freed_once_its_reconnect_time_has_passed():
    import gc
    import weakref

    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    maps = np.ones(1_000_000, dtype=np.float32)  # (1_000_000,): a page's attention maps, 4 MB
    freed = weakref.finalize(maps, lambda: None)
    early, late = KeptSession("early", maps), KeptSession("late", np.ones(4, dtype=np.float32))
    del maps
    connect_and_leave(manager, early)
    clock.now += 20.0
    connect_and_leave(manager, late)
    done = ui.idle_release.release_departed_sessions(manager)
    assert done == {"sessions_closed": 0, "next_expiry_in": 10.0}  # both still within their 30 s
    assert not early.shut_down and freed.alive

    clock.now += 10.0  # the first one's reconnect time is over, the second one's is not
    done = ui.idle_release.release_departed_sessions(manager)
    assert done == {"sessions_closed": 1, "next_expiry_in": 20.0}
    assert early.shut_down and not late.shut_down
    assert [info.session.id for info in manager.list_sessions()] == ["late"]
    gc.disable()  # as postScriptGC = false: a dropped session's cycles wait long for a full collection
    try:
        assert not freed.alive  # freed by reference count while the session object itself still lingers
    finally:
        gc.enable()
    assert early.shut_down


def test_an_idle_server_with_no_further_disconnect_still_shuts_the_kept_sessions_down():
    """Streamlit's store drops an expired session only when another one is saved: with nobody arriving, only the
    release ends it."""
    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    session = KeptSession("last of the class", np.ones(4, dtype=np.float32))
    connect_and_leave(manager, session)
    clock.now += 3600.0
    assert manager._session_storage._cache._data  # Streamlit alone still holds it an hour later
    assert ui.idle_release.release_departed_sessions(manager) == {"sessions_closed": 1, "next_expiry_in": None}
    assert session.shut_down and not manager._session_storage._cache._data


def test_another_session_store_is_left_to_manage_its_own_sessions():
    class Storage:
        pass

    class Manager:
        _session_storage = Storage()

    assert ui.idle_release.release_departed_sessions(Manager()) == {"sessions_closed": 0, "next_expiry_in": None}


def test_the_release_closes_kept_sessions_on_the_runtimes_event_loop_and_asks_to_run_again_when_the_next_expires(
    monkeypatch,
):
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    on_loop: list[bool] = []
    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    connect_and_leave(manager, KeptSession("old", np.ones(4, dtype=np.float32)))
    clock.now += 25.0
    connect_and_leave(manager, KeptSession("recent", np.ones(4, dtype=np.float32)))
    clock.now += 5.0

    class FakeRuntime:
        _session_mgr = manager

        @staticmethod
        def exists() -> bool:
            return True

        @staticmethod
        def instance():
            return FakeRuntime

        @staticmethod
        def _get_async_objs():
            return type("AsyncObjects", (), {"eventloop": loop})

        @staticmethod
        def is_active_session(session_id: str) -> bool:
            return False

    real = ui.idle_release.release_departed_sessions

    def watched(m):
        on_loop.append(asyncio.get_running_loop() is loop)
        return real(m)

    monkeypatch.setattr(ui.idle_release, "Runtime", FakeRuntime)
    monkeypatch.setattr(ui.idle_release, "release_departed_sessions", watched)
    monkeypatch.setattr(ui.idle_release, "forget_shared_results", lambda: 0)
    try:
        done = ui.idle_release.release_idle_memory()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
    assert on_loop == [True]
    assert done["sessions_closed"] == 1
    assert done["again_in"] == 26.0  # "recent" ends 25 s later; one second after that


def test_the_configured_reconnect_time_ends_within_the_minute_the_memory_bench_waits():
    import tomllib
    from pathlib import Path

    from benchmarks.bench_memory import IDLE_SECONDS
    from ui.settings import idle_release_seconds

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    ttl = config["server"].get("disconnectedSessionTTL", 120)  # Streamlit's default: 120 s
    assert ttl + idle_release_seconds() <= IDLE_SECONDS


def test_a_shut_down_session_lets_go_of_what_its_fragments_hold():
    import weakref

    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    maps = np.ones(1000, dtype=np.float32)  # (1000,)
    freed = weakref.finalize(maps, lambda: None)
    session = KeptSession("gone", maps)
    session.session_state.widget_format_funcs.clear()  # only the fragment holds the maps now
    del maps
    connect_and_leave(manager, session)
    clock.now += 31.0
    assert freed.alive
    ui.idle_release.release_departed_sessions(manager)
    assert not freed.alive and not session._fragment_storage.contains("explore")


def test_a_busy_server_sweeps_the_sessions_that_left_at_most_every_few_seconds():
    clock = FakeClock()
    swept: list[float] = []
    sweep = ui.idle_release.DepartedSweep(lambda: swept.append(clock.now), every=5.0, clock=clock)
    for t in range(12):  # a script run every second
        clock.now = 1000.0 + t
        sweep.maybe()
    assert swept == [1000.0, 1005.0, 1010.0]


def test_the_sweep_forgets_departed_memos_without_waiting_for_an_idle_moment(monkeypatch):
    budget = _Budget()
    gone, here = memo_with(budget, "left", 4000), memo_with(budget, "here", 4000)
    monkeypatch.setattr(ui.idle_release, "BUDGET", budget)
    monkeypatch.setattr(ui.idle_release, "session_gone", lambda session_id: session_id == "left")
    assert ui.idle_release.sweep_departed() == 8000  # no runtime: nothing to shut down, nothing raised
    assert gone.nbytes == 0 and here.nbytes == 8000


def test_a_session_streamlit_reaps_when_another_leaves_is_ended_too():
    """Streamlit's store drops an expired session when the next one is saved, without shutting it down; once the
    release has hooked the store, that removal ends it and frees its maps without a full collection."""
    import gc
    import weakref

    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    ui.idle_release.release_departed_sessions(manager)  # the first sweep hooks the store
    maps = np.ones(1000, dtype=np.float32)  # (1000,)
    freed = weakref.finalize(maps, lambda: None)
    first = KeptSession("first", maps)
    del maps
    connect_and_leave(manager, first)
    clock.now += 31.0
    gc.disable()
    try:
        connect_and_leave(manager, KeptSession("second", np.ones(4, dtype=np.float32)))  # Streamlit reaps "first"
        assert first.shut_down and not freed.alive
    finally:
        gc.enable()


def test_a_reconnect_takes_its_session_back_whole():
    clock = FakeClock()
    manager = session_manager(clock, ttl=30.0)
    ui.idle_release.release_departed_sessions(manager)
    session = KeptSession("blip", np.ones(4, dtype=np.float32))
    connect_and_leave(manager, session)
    clock.now += 10.0
    assert manager._resume_stored_session("blip", client=object(), user_info={}) == "blip"
    assert not session.shut_down and session.session_state.widget_format_funcs
    assert ui.idle_release.release_departed_sessions(manager)["sessions_closed"] == 0


def test_the_installed_streamlit_is_the_one_the_kept_session_release_was_written_for():
    import streamlit

    assert ui.idle_release.streamlit_version_supported(), (
        f"Streamlit {streamlit.__version__} is installed; ui/idle_release.py was written for "
        f"{ui.idle_release.STREAMLIT_WRITTEN_FOR}: kept sessions are no longer released. Re-check the private details "
        "its STREAMLIT_WRITTEN_FOR comment lists and the memory bench, then update STREAMLIT_WRITTEN_FOR."
    )
    assert not ui.idle_release.streamlit_version_supported("1.68.0")


def test_the_private_details_the_release_relies_on_are_still_there():
    """What ui/idle_release.py reaches into, on Streamlit's real classes: a change fails here, not silently."""
    import inspect

    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession

    manager = session_manager(FakeClock(), ttl=30)
    cache = manager._session_storage._cache
    assert callable(cache.expire) and callable(cache.timer)
    assert cache._on_remove is None and isinstance(cache._expirations, dict)
    assert "_session_mgr" in inspect.getsource(Runtime.__init__) and callable(Runtime._get_async_objs)
    assert "_fragment_storage" in inspect.getsource(AppSession.__init__)


def test_another_streamlit_leaves_the_kept_sessions_alone(monkeypatch):
    clock = FakeClock()
    manager = session_manager(clock, ttl=30)
    session = KeptSession("s-other", np.zeros(4))
    connect_and_leave(manager, session)
    clock.now += 3600
    monkeypatch.setattr(ui.idle_release, "STREAMLIT_WRITTEN_FOR", "0.1")
    assert ui.idle_release.release_departed_sessions(manager) == {"sessions_closed": 0, "next_expiry_in": None}
    assert not session.shut_down

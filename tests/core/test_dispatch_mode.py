"""core.dispatch_mode: torch's private TorchDispatchMode still does what core/training.py (a seeded model
initialisation) and tests/core/vocab_blocks.py (the shapes a computation builds) rely on, and a mode is refused,
with a message naming what changed, on a torch it was not written for.

When one of these fails, torch changed: check each behaviour below on the new version (and core/training.py's seeded
weights, tests/core/test_training.py), then update core.dispatch_mode.WRITTEN_FOR."""

from __future__ import annotations

import threading

import pytest
import torch

import core.dispatch_mode
from core.dispatch_mode import DispatchMode, DispatchModeChanged, modes_disabled, torch_version_supported
from core.training import _DrawFrom


class _Calls(DispatchMode):
    """Records (op name, whether it is a view, its schema's argument names, args, kwargs) of every op it sees."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        names = [argument.name for argument in func._schema.arguments]
        self.calls.append((str(func), func.is_view, names, args, dict(kwargs or {})))
        return func(*args, **(kwargs or {}))

    def ops(self) -> list[str]:
        return [call[0] for call in self.calls]


def test_the_installed_torch_is_the_one_the_modes_were_written_for():
    assert torch_version_supported(), (
        f"torch {torch.__version__} is installed; core/dispatch_mode.py was written for "
        f"{core.dispatch_mode.WRITTEN_FOR}: making a dispatch mode now raises. Re-check the tests below, then update "
        "WRITTEN_FOR."
    )
    assert torch_version_supported("2.13.0+cpu") and torch_version_supported("2.13.1")
    assert not torch_version_supported("2.14.0") and not torch_version_supported("3.13.0")


def test_on_another_torch_making_a_mode_raises_naming_the_version(monkeypatch):
    monkeypatch.setattr(torch, "__version__", "2.14.0")
    with pytest.raises(DispatchModeChanged, match=r"torch 2\.14\.0 is installed; .* torch 2\.13\.x"):
        _Calls()
    with pytest.raises(DispatchModeChanged, match="2.14.0"):
        _DrawFrom(torch.Generator())
    with pytest.raises(DispatchModeChanged), modes_disabled():
        pass


def test_when_the_private_module_moved_making_a_mode_raises_saying_so(monkeypatch):
    monkeypatch.setattr(core.dispatch_mode, "_MISSING", "torch.utils._python_dispatch no longer provides what it did")
    with pytest.raises(DispatchModeChanged, match="no longer provides.*TorchDispatchMode"):
        _Calls()


# What the modes rely on.


def test_a_mode_sees_each_aten_op_run_inside_its_block_and_none_after():
    a = torch.ones(2, 3)
    with _Calls() as mode:
        b = a + 1
        c = b.t()
        (c @ b).sum()
    assert mode.ops() == ["aten.add.Tensor", "aten.t.default", "aten.mm.default", "aten.sum.default"]
    torch.ones(2) * 2
    assert len(mode.calls) == 4  # the block ended: nothing more is seen


def test_an_op_says_whether_it_is_a_view():
    with _Calls() as mode:
        x = torch.zeros(4, 6)
        x.t()
        x[1:3]
        x.view(6, 4)
        x * 2
    views = {name: is_view for name, is_view, *_ in mode.calls}
    assert views["aten.t.default"] and views["aten.slice.Tensor"] and views["aten.view.default"]
    assert not views["aten.mul.Tensor"] and not views["aten.zeros.default"]


def test_a_random_op_names_its_generator_argument_and_gets_none_when_given_none():
    """_DrawFrom finds ``generator`` in the op's schema and replaces it only where the caller gave none."""
    with _Calls() as mode:
        torch.empty(3).normal_()
        torch.nn.init.uniform_(torch.empty(3))
        torch.empty(3).normal_(generator=torch.Generator().manual_seed(4321))
    random = [call for call in mode.calls if call[0] in ("aten.normal_.default", "aten.uniform_.default")]
    assert len(random) == 3
    given = []
    for _, _, names, args, kwargs in random:
        assert "generator" in names
        at = names.index("generator")
        given.append(args[at] if at < len(args) else kwargs.get("generator"))
    assert given[0] is None and given[1] is None
    # a caller's own generator arrives as given (the same generator, in a new Python wrapper)
    assert isinstance(given[2], torch.Generator) and given[2].initial_seed() == 4321


def test_replacing_the_generator_makes_the_op_draw_from_it_and_leaves_the_global_rng_alone():
    """What build_model relies on: normal_ and uniform_ (GPT-2's initialisation) draw from the mode's generator."""
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with _DrawFrom(torch.Generator().manual_seed(7)):
        inside = (torch.empty(5).normal_(), torch.nn.init.uniform_(torch.empty(5)))
    assert torch.equal(torch.get_rng_state(), state)  # the process-wide RNG was not read
    reference = torch.Generator().manual_seed(7)
    expected = (torch.empty(5).normal_(generator=reference), torch.empty(5).uniform_(generator=reference))
    assert torch.equal(inside[0], expected[0]) and torch.equal(inside[1], expected[1])


def test_a_mode_is_thread_local():
    """Another session's thread, running ops while this thread is inside a mode, is not seen by it."""
    started, release = threading.Event(), threading.Event()
    seen_elsewhere = []

    def other():
        started.wait(10)
        seen_elsewhere.append(torch.ones(3) + 1)
        release.set()

    thread = threading.Thread(target=other)
    thread.start()
    with _Calls() as mode:
        started.set()
        assert release.wait(10)
        torch.zeros(2) - 1
    thread.join(10)
    assert seen_elsewhere and mode.ops() == ["aten.zeros.default", "aten.sub.Tensor"]


def test_modes_disabled_hides_the_ops_inside_it_from_the_mode():
    with _Calls() as mode:
        torch.ones(2) + 1
        with modes_disabled():
            torch.ones(2) * 3
        torch.ones(2) - 1
    assert mode.ops() == ["aten.ones.default", "aten.add.Tensor", "aten.ones.default", "aten.sub.Tensor"]

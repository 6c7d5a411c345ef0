"""torch's private dispatch mode (``torch.utils._python_dispatch``): the one place the app reaches it, behind a guard.

A dispatch mode sees every aten op its thread runs inside its ``with`` block, and may change the op's arguments.
core/training.py uses one to hand its own ``torch.Generator`` to the random ops of a model's initialisation;
tests/core/vocab_blocks.py uses one to record the shapes of the tensors a computation builds. torch has no public
equivalent, and a private API may change in any release, so a mode is made only on the torch it was written for
(``WRITTEN_FOR``): on another version, or when the API is gone, making one raises ``DispatchModeChanged`` naming
what changed, and tests/core/test_dispatch_mode.py fails until someone re-checks what the modes rely on (listed
there) and then updates ``WRITTEN_FOR``.
"""

from __future__ import annotations

import contextlib

import torch

WRITTEN_FOR = "2.13"  # torch major.minor whose TorchDispatchMode the modes were written and tested against

try:
    from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
except ImportError as error:  # moved or renamed: the modes cannot be made, and say so when asked for
    _MISSING: str | None = f"torch.utils._python_dispatch no longer provides what it did ({error})"
    TorchDispatchMode = object  # a base for the class statements below; DispatchMode.__init__ raises first
    _disable_current_modes = None
else:
    _MISSING = None


class DispatchModeChanged(RuntimeError):
    """The installed torch is not the one the dispatch modes were written for, or its private API moved."""


def torch_version_supported(version: str | None = None) -> bool:
    """Whether the running torch (or ``version``, e.g. "2.13.0+cpu") is the major.minor the modes were written for."""
    return ".".join(str(version or torch.__version__).split(".")[:2]) == WRITTEN_FOR


def require_dispatch_mode() -> None:
    """Raise ``DispatchModeChanged`` (what changed, and what to re-check) unless the private API is the known one."""
    if _MISSING is not None:
        raise DispatchModeChanged(
            f"{_MISSING}, in torch {torch.__version__}. core/dispatch_mode.py was written for torch {WRITTEN_FOR}.x: "
            "find the new home of TorchDispatchMode and _disable_current_modes, then run "
            "tests/core/test_dispatch_mode.py."
        )
    if not torch_version_supported():
        raise DispatchModeChanged(
            f"torch {torch.__version__} is installed; core/dispatch_mode.py uses torch's private TorchDispatchMode "
            f"as torch {WRITTEN_FOR}.x provides it. Run tests/core/test_dispatch_mode.py (it lists what the modes "
            "rely on); when it passes, update WRITTEN_FOR."
        )


class DispatchMode(TorchDispatchMode):
    """``TorchDispatchMode``, made only on the torch it was written for: subclass it and define
    ``__torch_dispatch__(self, func, types, args=(), kwargs=None)``; enter it with ``with``."""

    def __init__(self) -> None:
        require_dispatch_mode()
        super().__init__()


@contextlib.contextmanager
def modes_disabled():
    """Inside the block, the ops of this thread bypass every dispatch mode entered around it."""
    require_dispatch_mode()
    with _disable_current_modes():
        yield

"""Test helper: record the shape of every tensor an aten op produces whose last dimension is the vocabulary, so a
test can bound the largest (positions x vocabulary) block a computation builds (CPU torch has no memory profiler)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch

from core.dispatch_mode import DispatchMode


def _tensors(out) -> Iterator[torch.Tensor]:
    """The tensors an aten op returned: one tensor, or a tuple or list of them (and of other values)."""
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for item in out:
            yield from _tensors(item)


class _Recorder(DispatchMode):
    def __init__(self, vocab: int, shapes: list[tuple[int, ...]]):
        super().__init__()
        self.vocab, self.shapes = vocab, shapes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view:  # a view (a transposed head weight, a slice) builds nothing
            return out
        for t in _tensors(out):
            if t.dim() >= 2 and t.shape[-1] == self.vocab:
                self.shapes.append(tuple(t.shape))
        return out


@contextlib.contextmanager
def vocab_blocks(vocab: int) -> Iterator[list[tuple[int, ...]]]:
    """Yields a list that fills with the shapes of (..., vocab) tensors built inside the block."""
    shapes: list[tuple[int, ...]] = []
    with _Recorder(vocab, shapes):
        yield shapes


def positions(shape: tuple[int, ...]) -> int:
    """Positions in one (..., V) block: the product of every dimension but the last."""
    return math.prod(shape[:-1])

"""Bytes a value holds in memory (its tensors, arrays, strings and tables), for the per-session memo's budgets."""

from __future__ import annotations

import dataclasses
import gc
import sys
from typing import Any

import numpy as np
import torch

_OWN_MODULES = ("core.", "components.", "ui.")  # objects of ours whose attributes are counted


def nbytes_of(value: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes held by ``value``'s tensors, arrays, strings and tables (each buffer counted once).

    Walks dataclasses, lists, tuples, dicts and this project's own objects (4 levels deep); a shared object that is
    not ours (a tokenizer, a model) is not counted: it is not held by the memo alone.
    """
    seen = set() if _seen is None else _seen
    if id(value) in seen or _depth > 4:
        return 0
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        if storage.data_ptr() in seen:
            return 0
        seen.add(storage.data_ptr())
        return int(storage.nbytes())
    if isinstance(value, np.ndarray):
        base = value.base if isinstance(value.base, np.ndarray) else value
        if value is not base and id(base) in seen:
            return 0
        seen.add(id(base))
        return int(base.nbytes)
    if isinstance(value, (str, bytes, bytearray)):
        return sys.getsizeof(value)
    if hasattr(value, "memory_usage") and hasattr(value, "columns"):  # a pandas DataFrame
        return int(value.memory_usage(index=True, deep=True).sum())
    if isinstance(value, dict):
        return sum(nbytes_of(k, seen, _depth + 1) + nbytes_of(v, seen, _depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(nbytes_of(v, seen, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        own = type(value).__module__.startswith(_OWN_MODULES)
        fields = dataclasses.fields(value)
        return sum(nbytes_of(getattr(value, f.name, None), seen, _depth + 1) for f in fields if own or f.repr)
    if type(value).__module__.startswith(_OWN_MODULES) and hasattr(value, "__dict__"):
        return sum(nbytes_of(v, seen, _depth + 1) for v in vars(value).values())
    return sys.getsizeof(value) if _depth == 0 else 0


def tensors_held(largest: int = 12) -> dict[str, Any]:
    """Every torch tensor the collector can see, counted once per storage (for the memory bench's report): how many
    buffers, their MB, and the ``largest`` of them as "shape dtype: MB"."""
    storages: dict[int, int] = {}
    shapes: dict[int, str] = {}
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor):
            try:
                storage = obj.untyped_storage()
                storages[storage.data_ptr()] = int(storage.nbytes())
                shapes[storage.data_ptr()] = f"{tuple(obj.shape)} {obj.dtype}"
            except Exception:  # a meta or sparse tensor
                continue
    top = sorted(storages, key=storages.__getitem__, reverse=True)[:largest]
    return {
        "tensor_buffers": len(storages),
        "tensor_mb": round(sum(storages.values()) / 2**20, 1),
        "largest_tensors": [f"{shapes[p]}: {storages[p] / 2**20:.1f} MB" for p in top],
    }

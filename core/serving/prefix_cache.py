"""Generation steps shared across sessions: after a run of token ids, the next-token logits and the KV cache of
exactly those ids, kept once per process (within a byte budget) and handed to every stepper that reaches them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch

Layers = tuple[tuple[torch.Tensor, torch.Tensor], ...]
"""Per layer (keys, values), each (1, kv_heads, T, head_dim)."""


@dataclass(frozen=True)
class Prefix:
    """What a generation holds after its ids: the distribution of the next token and the cache of those ids.

    Attributes:
        logits: (V,) float32 logits of the token after the ids.
        layers: per layer (keys, values), each (1, kv_heads, T, head_dim) with T = the number of ids. References,
            never copies: a stepper that adopts them grows its cache with ``torch.cat`` (new tensors) and rewinds
            by slicing (views), so nothing it does writes into them.
    """

    logits: torch.Tensor
    layers: Layers

    @property
    def length(self) -> int:
        return int(self.layers[0][0].shape[-2]) if self.layers else 0


@dataclass(frozen=True)
class PrefixCounts:
    """The store's counters: lookups answered, lookups that found nothing, entries dropped for the budget, and
    what it holds now (bytes of distinct tensor storage, entries)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    bytes: int = 0
    entries: int = 0


class _Path:
    """The keys and values one generation path holds: entries along the path read the first T positions of them."""

    __slots__ = ("layers", "entries")

    def __init__(self, layers: Layers) -> None:
        self.layers = layers
        self.entries = 0

    @property
    def length(self) -> int:
        return int(self.layers[0][0].shape[-2]) if self.layers else 0


@dataclass(frozen=True)
class _Entry:
    logits: torch.Tensor  # (V,) float32
    path: _Path
    length: int  # the entry's ids are the first ``length`` positions of ``path.layers``


class PrefixStore:
    """A process-wide LRU of ``Prefix`` keyed by (model identity, token ids so far), within a byte budget.

    The key holds no sampler setting, and needs none: the logits and cache after a run of ids depend only on the
    model and the ids. Greedy steps, and sampled steps with the same seed and settings, choose the same tokens, so
    they reach the same ids and share every entry on the way; two students whose tokens differ share only their
    common prefix. Each stepper still chooses its own token from the shared logits with its own settings.

    A generation path holds one copy of its keys and values: the entry of ids one token longer than an entry at the
    tip of a path, whose first positions equal that path's bit for bit, takes the path over (the path now reads the
    longer tensors, its entries the first positions of them). Bytes are those of the distinct tensor storages held
    (logits and paths), so several entries and steppers sharing one tensor count it once. The least recently used
    entries go first. The store holds tensors only, never the model: a model that is unloaded is freed with its
    entries still here. Thread-safe (the service's worker and script threads use it).

    Args:
        budget_bytes: most bytes the store holds (0 switches it off: nothing is kept).
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = max(0, int(budget_bytes))
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Hashable, tuple[int, ...]], _Entry] = OrderedDict()  # oldest first
        self._storages: dict[int, list[int]] = {}  # storage data pointer -> [bytes, holders]
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0

    @property
    def enabled(self) -> bool:
        return self.budget > 0

    def get(self, model: Hashable, ids: Sequence[int]) -> Prefix | None:
        """The entry for ``ids`` of ``model`` (refreshed as most recently used), or None. Counts nothing: the caller
        says with ``tally`` what a step turned out to be (a look before queueing and one in the worker are one step).
        """
        key = (model, tuple(int(i) for i in ids))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            n = entry.length
            layers = entry.path.layers
            if entry.path.length != n:
                layers = tuple((k[..., :n, :], v[..., :n, :]) for k, v in layers)  # views: (1, H, n, D)
            return Prefix(entry.logits, layers)

    def tally(self, *, hits: int = 0, misses: int = 0) -> None:
        """Count steps served from the store (hits) and steps computed while it was on (misses)."""
        with self._lock:
            self._hits += hits
            self._misses += misses

    def put(self, model: Hashable, ids: Sequence[int], prefix: Prefix) -> bool:
        """Keep ``prefix`` as the entry of ``ids`` (T ids, a cache of T tokens); returns whether it was kept."""
        ids = tuple(int(i) for i in ids)
        if not self.enabled or prefix.length != len(ids):
            return False
        logits = prefix.logits
        if logits.untyped_storage().nbytes() > logits.numel() * logits.element_size():  # a view of (1, T, V) logits
            logits = logits.clone()
        if _nbytes([logits, *(t for pair in prefix.layers for t in pair)]) > self.budget:
            return False  # alone it would flush everything else
        key = (model, ids)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True
            parent = self._entries.get((model, ids[:-1]))
            path = parent.path if parent is not None else None
            if path is not None and path.length == len(ids) - 1 and _leads(path.layers, prefix.layers):
                self._unhold([t for pair in path.layers for t in pair])
                path.layers = prefix.layers  # the path grows by one token: its shorter entries read views of it
                self._hold([t for pair in path.layers for t in pair])
            else:
                path = _Path(prefix.layers)
                self._hold([t for pair in path.layers for t in pair])
            path.entries += 1
            self._hold([logits])
            self._entries[key] = _Entry(logits, path, len(ids))
            self._evict()
            return key in self._entries

    def clear(self) -> int:
        """Drop every entry (steppers that adopted one keep their own references); returns the bytes held."""
        with self._lock:
            freed = self._bytes
            self._entries.clear()
            self._storages.clear()
            self._bytes = 0
            return freed

    def counts(self) -> PrefixCounts:
        with self._lock:
            return PrefixCounts(self._hits, self._misses, self._evictions, self._bytes, len(self._entries))

    # ----- internals (called with the lock held) --------------------------------------------------
    def _hold(self, tensors: Sequence[torch.Tensor]) -> None:
        for tensor in tensors:
            storage = tensor.untyped_storage()
            held = self._storages.setdefault(storage.data_ptr(), [int(storage.nbytes()), 0])
            if held[1] == 0:
                self._bytes += held[0]
            held[1] += 1

    def _unhold(self, tensors: Sequence[torch.Tensor]) -> None:
        for tensor in tensors:
            pointer = tensor.untyped_storage().data_ptr()
            held = self._storages[pointer]
            held[1] -= 1
            if held[1] == 0:
                self._bytes -= held[0]
                del self._storages[pointer]

    def _evict(self) -> None:
        while self._bytes > self.budget and self._entries:
            _, entry = self._entries.popitem(last=False)
            self._unhold([entry.logits])
            entry.path.entries -= 1
            if entry.path.entries == 0:  # the path's last entry: its keys and values go too
                self._unhold([t for pair in entry.path.layers for t in pair])
            self._evictions += 1


@dataclass(frozen=True)
class SharedSteps:
    """One model's part of a ``PrefixStore``: what a ``core.generation.Stepper`` looks up, stores and counts."""

    store: PrefixStore
    model: Hashable  # the model's identity in the store's keys: two models never share an entry

    def get(self, ids: Sequence[int]) -> Prefix | None:
        return self.store.get(self.model, ids)

    def put(self, ids: Sequence[int], prefix: Prefix) -> bool:
        return self.store.put(self.model, ids, prefix)

    def tally(self, *, hits: int = 0, misses: int = 0) -> None:
        self.store.tally(hits=hits, misses=misses)


def _nbytes(tensors: Sequence[torch.Tensor]) -> int:
    """Bytes of the distinct storages ``tensors`` hold."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return int(sum(storages.values()))


def _leads(shorter: Layers, longer: Layers) -> bool:
    """Whether every layer of ``shorter`` equals the first positions of ``longer``'s, bit for bit."""
    if len(shorter) != len(longer):
        return False
    for (k, v), (k2, v2) in zip(shorter, longer):
        n = k.shape[-2]
        if k.shape[:-2] != k2.shape[:-2] or not (torch.equal(k, k2[..., :n, :]) and torch.equal(v, v2[..., :n, :])):
            return False
    return True

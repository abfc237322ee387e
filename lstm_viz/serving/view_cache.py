"""One server-wide cache of what the analysis pages compute for models every session shares read-only.

Thirty students on the built-in teaching models (loaded once per server) or on the tutorial run (trained once
per server, identical weights) ask for the same traces, gate views, truth tables and figures of the same
sentence; `ViewCache` computes each once and hands every session the same read-only result.

- Keys start with a model identity that cannot collide: a name the server gives a shared model
  ("builtin:ewt-pos-lstm", "shared-run:<digest of configs, seed and data>"), never `id()` of an object that
  may be collected and its id reused. A session's own trained or uploaded model has no such name and is never
  cached here (the pages keep its results in the session).
- Bounded by entry count and by bytes (least recently used first out); a value larger than the byte bound is
  returned without being kept.
- Thread-safe, and one computation per key: sessions that ask for a key being computed wait for that result
  instead of computing it again (30 students opening Gates at once cost one trace and one figure). When the
  computation raises, each waiter computes for itself (and sees the error itself).

Values are shared by every session: never change one after `get` returned it.
"""
from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Callable, Hashable, Optional, TypeVar

import numpy as np
import torch

T = TypeVar("T")
DEFAULT_MAX_ITEMS = 2_000  # env LSTM_VIZ_VIEW_CACHE_ITEMS
DEFAULT_MAX_MB = 256  # env LSTM_VIZ_VIEW_CACHE_MB: a few thousand gate views of teaching models


def approx_bytes(value: Any, _seen: Optional[set] = None, _depth: int = 0) -> int:
    """Memory held by a value, about: tensor and array buffers, strings, containers, dataclasses and plain
    objects walked (each object once, 12 levels deep at most)."""
    seen = set() if _seen is None else _seen
    if id(value) in seen or _depth > 12:
        return 0
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) + 50
    walk = lambda v: approx_bytes(v, seen, _depth + 1)  # noqa: E731
    if isinstance(value, dict):
        return 64 + sum(walk(k) + walk(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 56 + sum(walk(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(walk(getattr(value, f.name, None)) for f in fields(value))
    to_dict = getattr(value, "to_dict", None)  # a plotly figure: its JSON, and its objects about as much again
    if callable(to_dict) and type(value).__module__.startswith(("plotly", "lstm_viz.figures")):
        import plotly.io  # only here: this module serves traces too

        return 2 * len(plotly.io.to_json(to_dict(), validate=False))  # orjson: far cheaper than walking it
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return 64 + walk(vars(value))
    return sys.getsizeof(value)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    waits: int  # asked while another session computed the same key, and got its result
    items: int
    bytes: int
    max_items: int
    max_bytes: int


class ViewCache:
    """A thread-safe LRU map key -> value, bounded by `max_items` entries and `max_bytes` (approx_bytes)."""

    def __init__(self, max_items: int = DEFAULT_MAX_ITEMS, max_bytes: int = DEFAULT_MAX_MB * 2**20):
        if max_items < 1 or max_bytes < 1:
            raise ValueError(f"a view cache needs room for something: max_items={max_items}, max_bytes={max_bytes}")
        self.max_items, self.max_bytes = int(max_items), int(max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # key -> (value, bytes), LRU first
        self._pending: dict[Hashable, threading.Event] = {}  # keys being computed now
        self._bytes = 0
        self._hits = self._misses = self._waits = 0

    @classmethod
    def from_env(cls) -> "ViewCache":
        """Bounds from LSTM_VIZ_VIEW_CACHE_ITEMS and LSTM_VIZ_VIEW_CACHE_MB (a clear error when not numbers)."""
        values = {}
        for name, default in (("LSTM_VIZ_VIEW_CACHE_ITEMS", DEFAULT_MAX_ITEMS),
                              ("LSTM_VIZ_VIEW_CACHE_MB", DEFAULT_MAX_MB)):
            raw = os.environ.get(name, "").strip()
            try:
                values[name] = int(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
        return cls(values["LSTM_VIZ_VIEW_CACHE_ITEMS"], values["LSTM_VIZ_VIEW_CACHE_MB"] * 2**20)

    def get(self, key: Hashable, make: Callable[[], T], size: Callable[[Any], int] = approx_bytes) -> T:
        """The value kept for `key`, else make() once (other callers of the same key wait for it), kept."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return self._entries[key][0]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    self._misses += 1
                    break
                self._waits += 1
            pending.wait()  # another thread computes it; then look again (it may have failed or been too big)
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
            return make()  # its computation failed or was not kept: compute for ourselves, without waiting again
        try:
            value = make()
            self._put(key, value, int(size(value)))
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()

    def _put(self, key: Hashable, value: Any, nbytes: int) -> None:
        with self._lock:
            if nbytes > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            while len(self._entries) > self.max_items or self._bytes > self.max_bytes:
                _, (_, freed) = self._entries.popitem(last=False)
                self._bytes -= freed

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._waits, len(self._entries), self._bytes,
                              self.max_items, self.max_bytes)

    def keys(self) -> list:
        """The keys kept now, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

"""The server-wide view cache: bounded by entries and bytes (least recently used out first), one computation
per key however many threads ask at once, a failed computation never cached, and sizes counted from the real
buffers of traces and figures."""
from __future__ import annotations

import threading
import time

import pytest
import torch

from lstm_viz import figures, trace
from lstm_viz.figures.frozen import freeze
from lstm_viz.serving.view_cache import ViewCache, approx_bytes

pytestmark = pytest.mark.timeout(60)


def test_bounded_by_entries_least_recently_used_out_first():
    cache = ViewCache(max_items=3, max_bytes=10**9)
    made = []
    for k in "abc":
        cache.get(k, lambda k=k: made.append(k) or k.upper())
    assert cache.get("a", lambda: "never") == "A"  # a hit makes "a" the most recent
    cache.get("d", lambda: "D")  # the fourth entry pushes out the least recently used: "b"
    assert cache.stats().items == 3
    assert cache.get("b", lambda: "B again") == "B again"  # it was gone; now "c" is the least recent
    assert cache.get("d", lambda: "never") == "D" and cache.get("a", lambda: "never") == "A"
    assert cache.get("c", lambda: "C again") == "C again"
    assert cache.stats().items == 3 and made == ["a", "b", "c"]


def test_bounded_by_bytes_and_too_big_values_are_not_kept():
    cache = ViewCache(max_items=100, max_bytes=1000)
    for k in range(5):
        cache.get(k, lambda: b"x" * 300, size=len)
    stats = cache.stats()
    assert stats.bytes <= 1000 and stats.items == 3  # 3 x 300 fit in 1000, not 4
    big = cache.get("big", lambda: b"y" * 5000, size=len)
    assert len(big) == 5000 and cache.stats().items == 3  # returned, never kept
    assert cache.get("big", lambda: "again", size=len) == "again"


def test_one_computation_per_key_however_many_threads_ask():
    cache = ViewCache()
    calls = []
    gate = threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("m", "x"), slow))) for _ in range(12)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(results) == 12 and len({id(r) for r in results}) == 1
    stats = cache.stats()
    assert stats.misses == 1 and stats.waits == 11


def test_a_failed_computation_is_not_kept_and_waiters_see_their_own_error():
    cache = ViewCache()
    with pytest.raises(ValueError, match="no such layer"):
        cache.get("k", lambda: (_ for _ in ()).throw(ValueError("no such layer")))
    assert cache.stats().items == 0
    assert cache.get("k", lambda: 42) == 42


def test_bounds_from_the_environment_are_checked(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_VIEW_CACHE_ITEMS", "7")
    monkeypatch.setenv("LSTM_VIZ_VIEW_CACHE_MB", "3")
    cache = ViewCache.from_env()
    assert (cache.max_items, cache.max_bytes) == (7, 3 * 2**20)
    monkeypatch.setenv("LSTM_VIZ_VIEW_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="LSTM_VIZ_VIEW_CACHE_MB must be a whole number"):
        ViewCache.from_env()
    with pytest.raises(ValueError, match="room for something"):
        ViewCache(max_items=0)


def test_sizes_count_the_real_buffers_of_traces_and_figures():
    torch.manual_seed(0)
    tr = trace(torch.nn.LSTM(8, 32, num_layers=2), torch.randn(40, 3, 8))
    tensors = sum(t.numel() * t.element_size() for t in (*tr.gates.values(), tr.hidden, tr.cell))
    assert tensors <= approx_bytes(tr) <= 2 * tensors
    fig = freeze(figures.gate_heatmaps(tr, tokens=[str(k) for k in range(40)]))
    size = approx_bytes(fig)
    assert 32 * 40 * 4 * 6 < size < 10 * 2**20  # six panels of 32 units x 40 steps as float32 or more

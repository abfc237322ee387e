"""Keep big inputs readable and fast: a page of tokens, and at most N units (top-k by a ranking)."""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..record.results import Trace
from .trace_access import canonical_name, check_index, check_trace
from .ranking import rank_units


@dataclass(frozen=True)
class TokenWindow:
    start: int  # first token shown
    stop: int  # one past the last token shown
    page: int  # 0-based page actually shown (the request clamped into range)
    n_pages: int
    total: int  # tokens available
    note: str  # "" when every token is shown

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


def _int(what: str, value: Any) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}") from None


def _positive_int(what: str, value: Any) -> int:
    v = _int(what, value)
    if v < 1:
        raise ValueError(f"{what} must be at least 1, got {v}")
    return v


def window_tokens(n_tokens: int, max_tokens: int = 100, page: int = 0) -> TokenWindow:
    """Page `page` of `n_tokens` in pages of `max_tokens`; an out-of-range page is clamped (a stale widget
    value must not crash a page)."""
    n = _int("n_tokens", n_tokens)
    if n < 0:
        raise ValueError(f"n_tokens must be >= 0, got {n}")
    size = _positive_int("max_tokens", max_tokens)
    n_pages = max(1, -(-n // size))
    page = min(max(_int("page", page), 0), n_pages - 1)
    start, stop = page * size, min(n, (page + 1) * size)
    note = "" if n_pages == 1 else (
        f"showing tokens {start + 1}-{stop} of {n} (page {page + 1} of {n_pages})")
    return TokenWindow(start, stop, page, n_pages, n, note)


@dataclass(frozen=True, eq=False)
class UnitSelection:
    indices: np.ndarray  # int64 unit ids to draw
    total: int  # units available
    note: str  # "" when nothing was cut


def select_units(trace: Trace, gate_or_state: str = "hidden", layer: int = 0, direction: int = 0,
                 max_units: int = 64, by: str = "variance", units: Optional[Sequence[int]] = None,
                 order: str = "index", **rank_kwargs: Any) -> UnitSelection:
    """At most `max_units` units: the given `units`, or all of them when few enough, else the top-k by
    `rank_units(trace, gate_or_state, layer, direction, by, **rank_kwargs)`.

    order="index" sorts the chosen ids ascending (a stable heatmap layout); order="rank" keeps best first.
    """
    check_trace(trace)
    name = canonical_name(trace, gate_or_state)
    if order not in ("index", "rank"):
        raise ValueError(f"order must be 'index' or 'rank', got {order!r}")
    k = _positive_int("max_units", max_units)
    total = trace.gates[name].shape[-1] if name in trace.gate_names else (
        trace.cell.shape[-1] if name == "cell" else trace.hidden.shape[-1])
    if units is not None:
        ids = np.array([check_index("unit", u, total) for u in units], dtype=np.int64)
        if ids.size == 0:
            raise ValueError("units is empty; pass None for all units or at least one unit id")
        if ids.size > k:
            return UnitSelection(ids[:k], total, f"showing the first {k} of the {ids.size} units asked for")
        return UnitSelection(ids, total, "")
    if total <= k:
        return UnitSelection(np.arange(total, dtype=np.int64), total, "")
    ranking = rank_units(trace, name, layer, direction, by=by, **rank_kwargs)
    ids = ranking.top(k)
    if order == "index":
        ids = np.sort(ids)
    return UnitSelection(ids.astype(np.int64), total, f"showing {k} of {total} units, the top {k} by {by}")

"""Rank the units of one gate or state: by variance, by saturation, or by correlation with a tag."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from ..record.results import Trace
from .trace_access import (
    canonical_name,
    check_index,
    check_thresholds,
    check_trace,
    layer_slice,
    saturation_bounds,
    to_numpy,
    value_range,
)

RANK_BY = ("variance", "saturation", "correlation")


@dataclass(frozen=True, eq=False)
class UnitRanking:
    name: str  # gate, "cell" or "hidden"
    layer: int
    direction: int
    by: str  # "variance" | "saturation" | "correlation"
    indices: np.ndarray  # int64 [U], best first
    scores: np.ndarray  # float64 [U], score of indices[k]; correlation: signed Pearson r, ranked by |r|
    n_tokens: int  # valid tokens the scores were computed over

    def top(self, k: int) -> np.ndarray:
        return self.indices[:max(int(k), 0)]


def tag_indicator(tags: Any, tag: Any, mask: np.ndarray) -> np.ndarray:
    """bool [B, T] indicator of `tag` at valid positions.

    `tags` is either an array [B, T] (labels, compared with `tag`; or already an indicator when tag is None)
    or one label sequence per batch element (e.g. `TaggedSentence.tags`), at least as long as that sequence.
    """
    b_size, t_size = mask.shape
    lengths = mask.sum(axis=1)
    if isinstance(tags, (np.ndarray, torch.Tensor)):
        arr = to_numpy(tags)
        if arr.shape != (b_size, t_size):
            raise ValueError(f"tags array must have shape [batch, time] = {(b_size, t_size)}, got {arr.shape}")
        ind = (arr == tag) if tag is not None else arr.astype(bool)
        return ind & mask
    rows = list(tags)
    if len(rows) != b_size:
        raise ValueError(f"tags must hold one label sequence per batch element ({b_size}), got {len(rows)}")
    ind = np.zeros((b_size, t_size), dtype=bool)
    for b, row in enumerate(rows):
        row = list(row)
        n = int(lengths[b])
        if len(row) < n:
            raise ValueError(f"tags[{b}] has {len(row)} labels but sequence {b} has {n} valid tokens")
        ind[b, :n] = [bool(x) if tag is None else x == tag for x in row[:n]]
    return ind


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r between each column of x [N, U] and y [N]; 0 for a constant column."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    denom = np.sqrt((xc * xc).sum(axis=0) * (yc * yc).sum())
    num = (xc * yc[:, None]).sum(axis=0)
    return np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)


def rank_units(trace: Trace, gate_or_state: str, layer: int = 0, direction: int = 0, by: str = "variance",
               tags: Any = None, tag: Any = None, batch_index: Optional[int] = None,
               low: float = 0.1, high: float = 0.9) -> UnitRanking:
    """Units ordered best first.

    by="variance": variance over valid tokens. by="saturation": fraction of valid tokens beyond the
    low/high thresholds (as in `saturation`; needs a bounded value). by="correlation": Pearson r between the
    unit's value and the 0/1 indicator of `tag` in `tags` (point-biserial), ranked by |r|.
    `batch_index=None` uses every sequence of the batch.
    """
    check_trace(trace)
    if by not in RANK_BY:
        raise ValueError(f"by must be one of {RANK_BY}, got {by!r}")
    name = canonical_name(trace, gate_or_state)
    vals, mask, layer, direction = layer_slice(trace, name, layer, direction)  # [B, T, U], [B, T]
    if batch_index is not None:
        b = check_index("batch_index", batch_index, trace.batch_size)
        keep = np.zeros_like(mask)
        keep[b] = mask[b]
        mask = keep
    x = vals[mask]  # [N, U]
    if x.shape[0] == 0:
        raise ValueError("no valid tokens to rank units on (all selected sequences have length 0)")
    if by == "variance":
        scores = x.var(axis=0)
        order = np.argsort(-scores, kind="stable")
    elif by == "saturation":
        check_thresholds(low, high)
        rng = value_range(trace, name)
        if rng is None:
            raise ValueError(f"{name!r} is unbounded in this {trace.kind} trace, so it has no saturation; "
                             "rank it by 'variance' or 'correlation'")
        lo, hi = saturation_bounds(rng, low, high)
        scores = ((x < lo) | (x > hi)).mean(axis=0)
        order = np.argsort(-scores, kind="stable")
    else:
        if tags is None:
            raise ValueError("by='correlation' needs tags (labels per token) and the tag to correlate with")
        ind = tag_indicator(tags, tag, mask)[mask].astype(np.float64)  # [N]
        if ind.min() == ind.max():
            what = "never occurs" if ind.max() == 0 else "is at every token"
            raise ValueError(f"tag {tag!r} {what} in the selected valid tokens, so correlation is undefined; "
                             "pick a tag that occurs at some but not all tokens")
        scores = _pearson(x, ind)
        order = np.argsort(-np.abs(scores), kind="stable")
    return UnitRanking(name, layer, direction, by, order.astype(np.int64), scores[order].astype(np.float64),
                       int(x.shape[0]))

"""How much memory survives: cumulative products of the keep-gates along the processing direction.

For an LSTM, c_t = f_t * c_{t-1} + ..., so the share of c_s that reaches c_t along the cell path is
prod_{k=s+1..t} f_k (the "constant error carousel" is open while f ~ 1). For a GRU, h_t = z_t * h_{t-1} + ...,
so z plays that role. The backward direction processes t = len-1 .. 0, so its products run the other way.
"""
from __future__ import annotations

import numpy as np

from ..record.results import Trace
from .trace_access import check_trace, layer_slice

ANCHORS = ("end", "start")


def forget_product(trace: Trace, layer: int = 0, direction: int = 0, anchor: str = "end") -> np.ndarray:
    """float64 [B, T], averaged over units (mean of the per-unit products); NaN at padding.

    anchor="end": at step t, the share of the state at t that survives to the last processed step
    (prod of the gates of all steps processed after t; 1 at the last step): what reaches back from a loss
    at the end. anchor="start": the share of the initial state that survives to t (prod of the gates of
    all steps processed up to and including t).
    """
    check_trace(trace)
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    if trace.kind not in ("lstm", "gru"):
        raise ValueError(f"a {trace.kind!r} trace has no forget/update gate; forget_product needs an LSTM or GRU")
    gate = "f" if trace.kind == "lstm" else "z"
    g, mask, layer, direction = layer_slice(trace, gate, layer, direction)  # [B, T, H], [B, T]
    g = np.where(mask[..., None], g, 1.0)  # padding keeps everything, so it never changes a product
    backward = direction == 1
    if backward:
        g = g[:, ::-1]  # processing order; padding (now first) multiplies by 1
    if anchor == "start":
        prod = np.cumprod(g, axis=1)
    else:
        # product over the steps processed strictly after t: reverse cumprod, shifted by one
        after = np.cumprod(g[:, ::-1], axis=1)[:, ::-1]
        prod = np.concatenate([after[:, 1:], np.ones_like(after[:, :1])], axis=1)
    if backward:
        prod = prod[:, ::-1]
    out = prod.mean(axis=-1)
    out[~mask] = np.nan
    return np.ascontiguousarray(out)

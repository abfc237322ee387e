"""The forget/input "truth table": what each unit does to its memory at each step.

LSTM, from input gate i and forget gate f (c_t = f * c_{t-1} + i * g):
    remember  i < low,  f > high   c_t ~ c_{t-1}
    add       i > high, f > high   c_t ~ c_{t-1} + g_t
    erase     i < low,  f < low    c_t ~ 0
    overwrite i > high, f < low    c_t ~ g_t
    in between                      anything else
GRU, from update gate z and reset gate r (h_t = (1 - z) * n + z * h_{t-1}):
    keep             z > high            h_t ~ h_{t-1} (r does not matter then)
    overwrite        z < low, r > high   h_t ~ n_t, a candidate that sees all of h_{t-1}
    reset+overwrite  z < low, r < low    h_t ~ n_t ~ tanh(W_in x + b_in): h_{t-1} is ignored
    in between                           anything else
Comparisons are strict, so a value exactly at a threshold counts as in between.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..record.results import Trace
from .trace_access import check_index, check_thresholds, check_trace, to_numpy

LSTM_CATEGORIES = ("remember", "add", "erase", "overwrite", "in between")
GRU_CATEGORIES = ("keep", "overwrite", "reset+overwrite", "in between")
CATEGORY_DESCRIPTIONS = {
    "remember": "i low, f high: c keeps its value",
    "add": "i high, f high: c adds the new candidate g",
    "erase": "i low, f low: c is cleared",
    "overwrite": "new candidate replaces the state",
    "in between": "some gate is neither open nor closed",
    "keep": "z high: h keeps its value",
    "reset+overwrite": "z low, r low: h becomes a candidate built from the input alone",
}
PADDING = -1  # code at padding positions


@dataclass(frozen=True, eq=False)
class TruthTable:
    """Category codes per (layer, direction, batch, token, unit) and their shares."""

    kind: str  # "lstm" or "gru"
    names: tuple[str, ...]  # category names; a code is an index into this tuple
    codes: np.ndarray  # int8 [L, D, B, T, H]; PADDING (-1) where mask is False
    mask: np.ndarray  # bool [B, T]
    counts_per_token: np.ndarray  # int64 [L, D, B, T, K]: units in each category (0 at padding)
    shares_per_token: np.ndarray  # float64 [L, D, B, T, K]: fraction of units; NaN at padding
    shares_per_layer: np.ndarray  # float64 [L, D, K]: fraction of all valid (batch, token, unit) cells
    low: float
    high: float

    @property
    def num_layers(self) -> int:
        return self.codes.shape[0]

    @property
    def num_directions(self) -> int:
        return self.codes.shape[1]

    def code(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"unknown category {name!r}; this {self.kind} table has {self.names}")
        return self.names.index(name)

    def share(self, name: str, layer: int | None = None, direction: int | None = None) -> float:
        """Fraction of valid cells in one category, over one layer/direction or all of them."""
        k = self.code(name)
        counts = self.counts_per_token
        if layer is not None:
            counts = counts[check_index("layer", layer, self.num_layers)][None]
        if direction is not None:
            counts = counts[:, check_index("direction", direction, self.num_directions)][:, None]
        total = counts.sum()
        return float(counts[..., k].sum() / total) if total else float("nan")


def _classify_lstm(i: np.ndarray, f: np.ndarray, low: float, high: float) -> np.ndarray:
    conditions = [(i < low) & (f > high), (i > high) & (f > high), (i < low) & (f < low), (i > high) & (f < low)]
    return np.select(conditions, np.arange(4, dtype=np.int8), default=np.int8(4)).astype(np.int8)


def _classify_gru(r: np.ndarray, z: np.ndarray, low: float, high: float) -> np.ndarray:
    conditions = [z > high, (z < low) & (r > high), (z < low) & (r < low)]
    return np.select(conditions, np.arange(3, dtype=np.int8), default=np.int8(3)).astype(np.int8)


def truth_table(trace: Trace, low: float = 0.1, high: float = 0.9) -> TruthTable:
    """Classify every valid (layer, direction, batch, token, unit) of an LSTM or GRU trace."""
    check_trace(trace)
    check_thresholds(low, high)
    if trace.kind == "lstm":
        names = LSTM_CATEGORIES
        codes = _classify_lstm(to_numpy(trace.gates["i"]), to_numpy(trace.gates["f"]), low, high)
    elif trace.kind == "gru":
        names = GRU_CATEGORIES
        codes = _classify_gru(to_numpy(trace.gates["r"]), to_numpy(trace.gates["z"]), low, high)
    else:
        raise ValueError(f"a truth table needs gates, and a plain {trace.kind!r} RNN has none; "
                         "trace an nn.LSTM or nn.GRU instead")
    mask = to_numpy(trace.mask, bool)  # [B, T]
    codes[:, :, ~mask] = PADDING
    k = len(names)
    # one-hot over categories, summed over units: [L, D, B, T, K]; padding (-1) matches no category
    counts = (codes[..., None] == np.arange(k, dtype=np.int8)).sum(axis=-2, dtype=np.int64)
    units = codes.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares_tok = counts / float(units) if units else np.zeros(counts.shape)
    shares_tok[:, :, ~mask] = np.nan
    per_layer = counts.sum(axis=(2, 3))  # [L, D, K]
    totals = per_layer.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares_layer = np.where(totals > 0, per_layer / np.maximum(totals, 1), np.nan)
    return TruthTable(trace.kind, names, codes, mask, counts, shares_tok, shares_layer, float(low), float(high))

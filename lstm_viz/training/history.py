"""Rebuild what a training run recorded at one step: a ProbeSnapshot (float16 numpy, published by the
Trainer) back into a `Trace`, so the analysis functions and figures work on it unchanged.

No model is needed: the snapshot holds every gate, c_t and h_t of the probe sentences at that step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..analysis.truth_table import truth_table
from ..record.results import Trace
from .events import ProbeSnapshot


def _tensor(a: Optional[np.ndarray], sel: tuple) -> Optional[torch.Tensor]:
    # float16 -> float32: analysis compares against thresholds and sums, which want full precision
    if a is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a)[sel], dtype=np.float32))


def _final(seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[L, D, B, T, U] -> [L*D, B, U]: forward direction at t = len-1, reverse direction at t = 0 (nn layout)."""
    L, D, B = seq.shape[:3]
    rows = torch.arange(B)
    out = []
    for layer in range(L):
        for d in range(D):
            out.append(seq[layer, d, :, 0] if d else seq[layer, d, rows, lengths - 1])
    return torch.stack(out)


def probe_to_trace(probe, index: Optional[int] = None, nonlinearity: str = "tanh") -> Trace:
    """A Trace of a `ProbeSnapshot` (training.events), of all probe sentences or only sentence `index`.

    probe: arrays `[L, D, B, T, H]` (float16, zero at padding); the trace's tensors are float32 on the CPU,
        batch_first like our models' `rnn`. With `index`, B = 1 and T = that sentence's length.
    nonlinearity: a plain RNN's activation ("tanh" or "relu"; the snapshot does not record it).
    """
    if not isinstance(probe, ProbeSnapshot):
        raise TypeError(f"expected a ProbeSnapshot (trainer.snapshot().probes), got {type(probe).__name__}")
    n = len(probe.lengths)
    if index is None:
        sel = (slice(None), slice(None), slice(None), slice(0, max(probe.lengths)))
        lengths = torch.tensor(probe.lengths, dtype=torch.int64)
    else:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int (a probe sentence), got {type(index).__name__}")
        if not 0 <= index < n:
            raise ValueError(f"index={index} is out of range; this probe has {n} sentences (0..{n - 1})")
        length = int(probe.lengths[index])
        sel = (slice(None), slice(None), slice(index, index + 1), slice(0, length))
        lengths = torch.tensor([length], dtype=torch.int64)
    hidden = _tensor(probe.hidden, sel)  # [L, D, B, T, U]
    cell = _tensor(probe.cell, sel)
    gates = {g: _tensor(probe.gates[g], sel) for g in probe.gate_names}
    L, D, B, T, U = hidden.shape
    mask = torch.arange(T)[None, :] < lengths[:, None]  # [B, T]
    output = hidden[-1].permute(1, 2, 0, 3).reshape(B, T, D * U)  # last layer, directions concatenated
    return Trace(kind=probe.kind, gate_names=tuple(probe.gate_names), output=output,
                 h_n=_final(hidden, lengths), c_n=_final(cell, lengths) if cell is not None else None,
                 gates=gates, hidden=hidden, cell=cell, mask=mask, lengths=lengths,
                 nonlinearity=nonlinearity, batch_first=True,
                 meta={"engine": "probe-snapshot", "step": int(probe.step), "precision": "float16"})


@dataclass(frozen=True)
class ShareHistory:
    """Truth-table shares of one layer/direction over the probe snapshots of a run."""

    steps: tuple[int, ...]  # training step of each snapshot
    names: tuple[str, ...]  # truth-table categories
    shares: np.ndarray  # float64 [S, K]: fraction of (sentence, token, unit) cells per category


def truth_share_history(probes: Sequence, layer: int = 0, direction: int = 0, low: float = 0.1,
                        high: float = 0.9) -> ShareHistory:
    """How the forget/input (or GRU update/reset) categories shift as training goes on."""
    probes = list(probes)
    if not probes:
        raise ValueError("no probe snapshots given; the run has not recorded any yet")
    rows, names = [], ()
    for p in probes:
        table = truth_table(probe_to_trace(p), low, high)
        names = table.names
        rows.append(table.shares_per_layer[layer, direction])
    return ShareHistory(tuple(int(p.step) for p in probes), tuple(names), np.stack(rows))


def prediction_rows(probe, index: int) -> list[dict]:
    """Predictions against gold for one probe sentence: a row per token (pos) or one row (sentiment)."""
    trace_len = len(probe.tokens)
    if not 0 <= index < trace_len:
        raise ValueError(f"index={index} is out of range; this probe has {trace_len} sentences")
    tokens, pred, gold = probe.tokens[index], probe.predictions[index], probe.targets[index]
    if isinstance(gold, (tuple, list)):
        return [{"token": t, "gold": g, "predicted": p, "correct": g == p}
                for t, g, p in zip(tokens, gold, pred)]
    return [{"text": " ".join(tokens), "gold": gold, "predicted": pred, "correct": gold == pred}]

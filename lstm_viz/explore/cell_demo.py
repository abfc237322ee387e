"""Helpers for the cell-anatomy page: the truth-table region of one gate point, an input list typed by a
person, and a preset's steps (lstm_viz.explore.cell_step.run_preset) as a Trace the figures can draw.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import torch

from ..analysis.trace_access import check_thresholds
from ..record.results import GATES_BY_KIND, Trace

MAX_INPUTS = 200  # a typed sequence longer than this is refused (a line chart of it would be unreadable)


def gate_region(kind: str, first: float, second: float, low: float = 0.1, high: float = 0.9) -> str:
    """The truth-table category of one unit at one step, by the rules of `lstm_viz.analysis.truth_table`.

    LSTM: first = input gate i, second = forget gate f -> remember / add / erase / overwrite / in between.
    GRU: first = reset gate r, second = update gate z -> keep / overwrite / reset+overwrite / in between.
    Comparisons are strict, so a value exactly at a threshold is in between.
    """
    check_thresholds(low, high)
    a, b = float(first), float(second)
    if kind == "lstm":
        i, f = a, b
        if i < low and f > high:
            return "remember"
        if i > high and f > high:
            return "add"
        if i < low and f < low:
            return "erase"
        if i > high and f < low:
            return "overwrite"
        return "in between"
    if kind == "gru":
        r, z = a, b
        if z > high:
            return "keep"
        if z < low and r > high:
            return "overwrite"
        if z < low and r < low:
            return "reset+overwrite"
        return "in between"
    raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")


_SEP = re.compile(r"[\s,;]+")


def parse_numbers(text: str, max_count: int = MAX_INPUTS) -> tuple[float, ...]:
    """'1, -0.5 0.8' -> (1.0, -0.5, 0.8). Raises ValueError naming the first entry that is not a number."""
    if not isinstance(text, str):
        raise TypeError(f"expected text, got {type(text).__name__}")
    parts = [p for p in _SEP.split(text.strip()) if p]
    if not parts:
        raise ValueError("type at least one number, e.g. 1, -0.5, 0.8")
    if len(parts) > max_count:
        raise ValueError(f"at most {max_count} inputs, got {len(parts)}")
    values = []
    for k, p in enumerate(parts, 1):
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"entry {k} ({p!r}) is not a number; separate numbers with commas or spaces") from None
        if not math.isfinite(v):
            raise ValueError(f"entry {k} ({p!r}) is not a finite number")
        values.append(v)
    return tuple(values)


def steps_to_trace(steps: Sequence[dict]) -> Trace:
    """The step dicts of `lstm_step`/`gru_step` over a sequence (`run_preset`) as a one-sequence Trace:
    arrays `[1, 1, 1, T, H]` (one layer, one direction, one sequence)."""
    steps = list(steps)
    if not steps:
        raise ValueError("no steps given; run the preset over at least one input")
    kind = "lstm" if "c" in steps[0] else "gru"
    names = GATES_BY_KIND[kind]

    def stack(key: str) -> torch.Tensor:
        rows = np.stack([np.asarray(s[key], dtype=np.float64).ravel() for s in steps])  # [T, H]
        return torch.from_numpy(rows)[None, None, None]

    hidden = stack("h")  # [1, 1, 1, T, H]
    cell = stack("c") if kind == "lstm" else None
    T = hidden.shape[3]
    return Trace(kind=kind, gate_names=names, output=hidden[0, 0], h_n=hidden[0, :, :, -1],
                 c_n=cell[0, :, :, -1] if cell is not None else None, gates={g: stack(g) for g in names},
                 hidden=hidden, cell=cell, mask=torch.ones(1, T, dtype=torch.bool),
                 lengths=torch.tensor([T]), batch_first=True, meta={"engine": "lstm_viz.explore.cell_step"})

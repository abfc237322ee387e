"""Step through a sentence token by token on a real model's trace (pure: no Streamlit).

For one unit of one layer and direction, each step holds the gate values, the state update with its
numbers (c_t = f_t * c_{t-1} + i_t * g_t for an LSTM, h_t = (1 - z_t) * n_t + z_t * h_{t-1} for a GRU)
and the truth-table behaviour at that token: the textbook animation, on the model's own values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..analysis.trace_access import check_index, check_thresholds, check_trace, to_numpy, values
from ..analysis.truth_table import CATEGORY_DESCRIPTIONS
from ..record.results import Trace
from .cell_demo import gate_region
from .cell_step import substituted_equations


@dataclass(frozen=True)
class TokenStep:
    """One unit at one token."""

    position: int  # index of the token in the input
    token: str
    gates: dict[str, float]  # gate name -> value, in the gate table's order (i f g o / r z n)
    previous: float  # c_{t-1} (LSTM) or h_{t-1} (GRU): the state before this token, in processing order
    state: float  # c_t (LSTM) or h_t (GRU)
    hidden: float  # h_t
    behaviour: str  # truth-table category (remember / add / erase / overwrite / keep / ... / in between)
    meaning: str  # what the behaviour does to the memory, one line
    equations: tuple[str, ...]  # LaTeX of the state update with this step's numbers


def step_through(trace: Trace, unit: int, layer: int = 0, direction: int = 0, batch_index: int = 0,
                 tokens: Optional[Sequence[str]] = None, low: float = 0.1, high: float = 0.9) -> list[TokenStep]:
    """The steps of one unit over the valid tokens of one sequence, in the order the direction reads them
    (left to right forward, right to left backward). The state before the first step is 0, torch's
    default initial state, which is what `Subject.trace` runs from.

    Raises ValueError for a plain RNN (no gates), an index out of range or bad thresholds.
    """
    check_trace(trace)
    check_thresholds(low, high)
    if trace.kind not in ("lstm", "gru"):
        raise ValueError(f"a {trace.kind} has no gates to step through; pick an LSTM or GRU model")
    layer = check_index("layer", layer, trace.num_layers)
    direction = check_index("direction", direction, trace.num_directions)
    b = check_index("batch_index", batch_index, trace.batch_size)
    n = int(to_numpy(trace.mask[b], bool).sum())
    if tokens is not None and len(tokens) < n:
        raise ValueError(f"{len(tokens)} tokens for {n} valid steps; pass one token per input position")
    names = trace.gate_names
    gates = {g: to_numpy(values(trace, g)[layer, direction, b], np.float64) for g in names}  # [T, H]
    unit = check_index("unit", unit, next(iter(gates.values())).shape[-1])
    hidden = to_numpy(values(trace, "hidden")[layer, direction, b], np.float64)[:, unit]  # [T]
    state = to_numpy(values(trace, "cell")[layer, direction, b], np.float64)[:, unit] if trace.kind == "lstm" \
        else hidden
    order = range(n) if direction == 0 else range(n - 1, -1, -1)
    steps, previous = [], 0.0
    for t in order:
        g = {name: float(gates[name][t, unit]) for name in names}
        if trace.kind == "lstm":
            numbers = dict(f=g["f"], c_prev=previous, i=g["i"], g=g["g"], c=state[t], o=g["o"], h=hidden[t])
            behaviour = gate_region("lstm", g["i"], g["f"], low, high)
        else:
            numbers = dict(z=g["z"], n=g["n"], h_prev=previous, h=hidden[t])
            behaviour = gate_region("gru", g["r"], g["z"], low, high)
        equations = substituted_equations({k: np.array([v]) for k, v in numbers.items()})
        steps.append(TokenStep(t, str(tokens[t]) if tokens is not None else str(t), g, previous, float(state[t]),
                               float(hidden[t]), behaviour, CATEGORY_DESCRIPTIONS[behaviour],
                               tuple(equations.values())))
        previous = float(state[t])
    return steps

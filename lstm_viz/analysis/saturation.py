"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
Networks", Fig. 3) and value histograms, aggregated over one or several traces.

A sigmoid gate is left-saturated below `low` and right-saturated above `high`. A tanh gate (g, n) uses
the same fractions of its range [-1, 1], i.e. the value mapped by (v + 1) / 2 onto [0, 1]: with the
defaults, below -0.8 and above 0.8.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..record.results import SIGMOID_GATES, Trace
from .trace_access import (
    as_traces,
    canonical_name,
    check_index,
    check_thresholds,
    saturation_bounds,
    to_numpy,
    value_range,
    values,
)


@dataclass(frozen=True)
class UnitFlag:
    """One unit found by a check, with the number that flagged it."""

    gate: str
    layer: int
    direction: int
    unit: int
    value: float  # saturated fraction (always_saturated) or standard deviation (never_moving)


@dataclass(frozen=True, eq=False)
class Saturation:
    """Per gate: fractions of valid steps saturated, per `[layer, direction, unit]`."""

    kind: str
    gate_names: tuple[str, ...]
    low: float
    high: float
    left: dict[str, np.ndarray]  # gate -> float64 [L, D, H], fraction of valid steps below the low bound
    right: dict[str, np.ndarray]  # gate -> float64 [L, D, H], fraction above the high bound
    mean: dict[str, np.ndarray]  # gate -> float64 [L, D, H]
    std: dict[str, np.ndarray]  # gate -> float64 [L, D, H], population std over valid steps
    n_steps: int  # valid (sequence, time) steps counted for every unit, over all traces
    n_traces: int
    always: float  # a unit is "always saturated" when left + right > always
    eps: float  # a unit "never moves" when std < eps
    always_saturated: tuple[UnitFlag, ...]
    never_moving: tuple[UnitFlag, ...]

    def bounds(self, gate: str) -> tuple[float, float]:
        """The low / high thresholds in the gate's own values ([0, 1] sigmoid, [-1, 1] tanh)."""
        if gate not in self.gate_names:
            raise ValueError(f"unknown gate {gate!r}; this {self.kind} saturation has {self.gate_names}")
        rng = (0.0, 1.0) if gate in SIGMOID_GATES else (-1.0, 1.0)
        return saturation_bounds(rng, self.low, self.high)

    def total(self, gate: str) -> np.ndarray:
        """left + right, [L, D, H]."""
        return self.left[gate] + self.right[gate]


def saturation(traces: Union[Trace, Sequence[Trace]], low: float = 0.1, high: float = 0.9,
               always: float = 0.99, eps: float = 1e-3) -> Saturation:
    """Saturation fractions of every gate, aggregated over all valid steps of one or several traces."""
    traces = as_traces(traces)
    check_thresholds(low, high)
    first = traces[0]
    if not first.gate_names:
        raise ValueError(f"saturation is measured on gates, and a plain {first.kind!r} RNN has none; "
                         "use rank_units(..., 'hidden', by='saturation') for its hidden state")
    if not 0.0 <= always <= 1.0 or eps < 0:
        raise ValueError(f"need 0 <= always <= 1 and eps >= 0, got always={always}, eps={eps}")
    shape = (first.num_layers, first.num_directions, first.hidden_size)
    acc = {g: {k: np.zeros(shape) for k in ("left", "right", "sum", "sumsq")} for g in first.gate_names}
    n_steps = 0
    for trace in traces:
        m = to_numpy(trace.mask, bool)[None, None, :, :, None]  # [1, 1, B, T, 1]
        n_steps += int(m.sum())
        for g in first.gate_names:
            lo, hi = saturation_bounds(value_range(trace, g), low, high)
            v = to_numpy(trace.gates[g], np.float64)
            a = acc[g]
            a["left"] += ((v < lo) & m).sum(axis=(2, 3))
            a["right"] += ((v > hi) & m).sum(axis=(2, 3))
            vm = np.where(m, v, 0.0)
            a["sum"] += vm.sum(axis=(2, 3))
            a["sumsq"] += (vm * vm).sum(axis=(2, 3))
    if n_steps == 0:
        raise ValueError("the traces hold no valid steps (all lengths are 0); nothing to measure")
    left, right, mean, std = {}, {}, {}, {}
    flags_sat, flags_dead = [], []
    for g, a in acc.items():
        left[g], right[g] = a["left"] / n_steps, a["right"] / n_steps
        mean[g] = a["sum"] / n_steps
        std[g] = np.sqrt(np.maximum(a["sumsq"] / n_steps - mean[g] ** 2, 0.0))
        total = left[g] + right[g]
        flags_sat += [UnitFlag(g, int(l), int(d), int(u), float(total[l, d, u]))
                      for l, d, u in zip(*np.nonzero(total > always))]
        flags_dead += [UnitFlag(g, int(l), int(d), int(u), float(std[g][l, d, u]))
                       for l, d, u in zip(*np.nonzero(std[g] < eps))]
    return Saturation(first.kind, first.gate_names, float(low), float(high), left, right, mean, std, n_steps,
                      len(traces), float(always), float(eps), tuple(flags_sat), tuple(flags_dead))


@dataclass(frozen=True, eq=False)
class Histogram:
    name: str  # gate, "cell" or "hidden"
    layer: int
    direction: int
    counts: np.ndarray  # int64 [bins]
    edges: np.ndarray  # float64 [bins + 1]
    value_range: tuple[float, float]  # fixed for gates/bounded h; symmetric (-m, m), m = max |value|, else
    n_values: int  # valid steps x units counted

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])


def gate_histogram(traces: Union[Trace, Sequence[Trace]], gate: str, layer: int = 0, direction: int = 0,
                   bins: int = 50) -> Histogram:
    """Histogram of one gate (or "cell" / "hidden") over all valid steps and units of a layer/direction."""
    traces = as_traces(traces)
    first = traces[0]
    name = canonical_name(first, gate)
    layer = check_index("layer", layer, first.num_layers)
    direction = check_index("direction", direction, first.num_directions)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    chunks = []
    for trace in traces:
        v = to_numpy(values(trace, name)[layer, direction], np.float64)  # [B, T, U]
        chunks.append(v[to_numpy(trace.mask, bool)].ravel())
    data = np.concatenate(chunks) if chunks else np.zeros(0)
    rng = value_range(first, name)
    if rng is None:
        m = float(np.abs(data).max()) if data.size else 0.0
        rng = (-m, m) if m > 0 else (-1.0, 1.0)
    counts, edges = np.histogram(data, bins=int(bins), range=rng)
    return Histogram(name, layer, direction, counts.astype(np.int64), edges, rng, int(data.size))

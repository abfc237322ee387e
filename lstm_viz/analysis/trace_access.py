"""Shared helpers: pick a gate or state out of a Trace, validate indices, map value ranges."""
from __future__ import annotations

import operator
from typing import Sequence, Union

import numpy as np
import torch

from ..record.results import SIGMOID_GATES, Trace

STATE_ALIASES = {"hidden": "hidden", "h": "hidden", "cell": "cell", "c": "cell"}
DIRECTION_LABELS = ("fwd", "bwd")


def check_trace(trace: object, what: str = "trace") -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(f"{what} must be an lstm_viz Trace (from lstm_viz.trace), got {type(trace).__name__}")
    return trace


def as_traces(trace_or_traces: Union[Trace, Sequence[Trace]]) -> list[Trace]:
    """One trace or several (a dataset sample in batches); all must come from the same module."""
    traces = [trace_or_traces] if isinstance(trace_or_traces, Trace) else list(trace_or_traces)
    if not traces:
        raise ValueError("no traces given; pass a Trace or a non-empty list of Traces")
    first = check_trace(traces[0], "traces[0]")
    for k, t in enumerate(traces[1:], 1):
        check_trace(t, f"traces[{k}]")
        if (t.kind, t.gate_names, t.num_layers, t.num_directions, t.hidden_size, t.hidden.shape[-1]) != (
                first.kind, first.gate_names, first.num_layers, first.num_directions, first.hidden_size,
                first.hidden.shape[-1]):
            raise ValueError(f"traces[{k}] does not come from the same kind and size of module as traces[0]; "
                             "aggregate only traces of one module")
    return traces


def available_names(trace: Trace) -> tuple[str, ...]:
    return (*trace.gate_names, *(("cell",) if trace.cell is not None else ()), "hidden")


def canonical_name(trace: Trace, name: str) -> str:
    """A gate name, or "cell" / "hidden" (also accepted: "c", "h")."""
    if name in trace.gate_names:
        return name
    key = STATE_ALIASES.get(name) if isinstance(name, str) else None
    if key == "cell" and trace.cell is None:
        raise ValueError(f"a {trace.kind} trace has no cell state c_t (only an LSTM has one); "
                         f"choose one of {available_names(trace)}")
    if key is None:
        raise ValueError(f"unknown gate or state {name!r} for a {trace.kind} trace; "
                         f"choose one of {available_names(trace)}")
    return key


def values(trace: Trace, name: str) -> torch.Tensor:
    """[L, D, B, T, U] tensor of a gate, "cell" or "hidden"."""
    key = canonical_name(trace, name)
    if key == "hidden":
        return trace.hidden
    if key == "cell":
        return trace.cell
    return trace.gates[key]


def hidden_is_bounded(trace: Trace) -> bool:
    """h_t lies in [-1, 1] unless a ReLU RNN or an LSTM projection (proj_size) produced it."""
    if trace.kind == "rnn":
        return trace.nonlinearity != "relu"
    return trace.hidden.shape[-1] == trace.hidden_size


def value_range(trace: Trace, name: str) -> tuple[float, float] | None:
    """The fixed range of a gate or state, or None when it is unbounded (cell, ReLU/projected hidden)."""
    key = canonical_name(trace, name)
    if key in SIGMOID_GATES:
        return (0.0, 1.0)
    if key == "cell" or (key == "hidden" and not hidden_is_bounded(trace)):
        return None
    return (-1.0, 1.0)  # tanh gates g, n and bounded h_t


def saturation_bounds(value_rng: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    """Thresholds on the value's own range: low/high are fractions of the range, so on a tanh range
    [-1, 1] the defaults 0.1 / 0.9 become -0.8 / 0.8 (the value mapped by (v + 1) / 2 onto [0, 1])."""
    lo, hi = value_rng
    return lo + low * (hi - lo), lo + high * (hi - lo)


def check_thresholds(low: float, high: float) -> None:
    if not (0.0 <= low <= high <= 1.0):
        raise ValueError(f"thresholds must satisfy 0 <= low <= high <= 1, got low={low}, high={high}")


def check_index(what: str, value: object, size: int) -> int:
    """An int in [-size, size), normalised to [0, size)."""
    try:
        idx = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}") from None
    if not -size <= idx < size:
        raise ValueError(f"{what}={idx} is out of range; this trace has {size} (valid: 0..{size - 1})")
    return idx % size


def to_numpy(x: object, dtype: object = None) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)


def layer_slice(trace: Trace, name: str, layer: int, direction: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Values [B, T, U] (float64) of one layer and direction, the mask [B, T] and the normalised indices."""
    layer = check_index("layer", layer, trace.num_layers)
    direction = check_index("direction", direction, trace.num_directions)
    vals = to_numpy(values(trace, name)[layer, direction], np.float64)
    return vals, to_numpy(trace.mask, bool), layer, direction


def direction_label(direction: int) -> str:
    return DIRECTION_LABELS[direction]

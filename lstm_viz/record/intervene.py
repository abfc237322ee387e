"""Interventions: run a recurrent module with chosen gates clamped or units silenced, and record it.

`intervene(module, inputs, [Clamp("f", 1.0, units=[3], steps=(2, 6)), Silence(units=[7])])` replays the
module's own weights step by step (an intervention changes the recurrence, so no fused kernel can run it)
and returns a `Trace` laid out exactly as `trace` returns one: the recorded gates, c_t, h_t and the module's
output as the intervened module would have produced them.

- `Clamp(gate, value, layer, direction, units, steps)`: the gate's activation is replaced by `value` at the
  chosen units and input positions, before it is used (LSTM i, f, g, o; GRU r, z, n; a clamped GRU r
  enters n). `value` is a number, per-step values `[S]`, per step and unit `[S, U]`, or per sequence
  `[B, S, U]` (S = steps in the span, U = chosen units).
- `Silence(units, layer, direction, steps)`: h_t of the chosen units is set to 0 after the step, so the
  next step, the next layer and the output all see 0 (for an LSTM the cell state c_t is left as computed).

Steps are input positions `(start, stop)` (stop excluded) as in `Trace`, in both directions; positions at
padding are left alone. With no interventions the result is the module's own forward (parity tests).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import nn

from .gate_table import GATE_COUNT, GATES_BY_KIND, SIGMOID_GATES, activate_gates
from .prepare import Prepared, prepare, reverse_within_lengths
from .results import Trace

Steps = Union[None, int, tuple[int, int]]
Value = Union[float, Sequence[float], torch.Tensor]


class InterventionError(ValueError):
    """An intervention that does not fit the module or its inputs; the message names the valid range."""


@dataclass(frozen=True)
class Clamp:
    gate: str  # "i", "f", "g", "o" (LSTM) or "r", "z", "n" (GRU)
    value: Value  # number, [S], [S, U] or [B, S, U]; sigmoid gates in [0, 1], tanh gates in [-1, 1]
    layer: int = 0  # which stacked layer
    direction: int = 0  # 0 forward, 1 reverse (bidirectional modules)
    units: Optional[Sequence[int]] = None  # None: every unit of the gate
    steps: Steps = None  # input positions: None all, t one step, (start, stop) a span (stop excluded)


@dataclass(frozen=True)
class Silence:
    units: Sequence[int]  # units of h_t set to 0 (of the projection when proj_size is set)
    layer: int = 0  # which stacked layer
    direction: int = 0  # 0 forward, 1 reverse
    steps: Steps = None  # input positions as for Clamp


# ------------------------------------------------------------------------------------------- validation
def _check_index(what: str, value, size: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InterventionError(f"{what} must be an integer in 0..{size - 1} ({where}); got {value!r}")
    if not 0 <= value < size:
        raise InterventionError(f"{what} {value} does not exist: {where} has {what}s 0..{size - 1}")
    return value


def _check_units(units, size: int, where: str) -> torch.Tensor:
    if units is None:
        return torch.arange(size)
    units = [units] if isinstance(units, int) else list(units)
    if not units:
        raise InterventionError(f"no units chosen; choose units in 0..{size - 1} ({where})")
    for u in units:
        _check_index("unit", u, size, where)
    if len(set(units)) != len(units):
        raise InterventionError(f"units {units} name a unit twice; name each unit once")
    return torch.tensor(units, dtype=torch.int64)


def _check_steps(steps: Steps, total: int) -> tuple[int, int]:
    if steps is None:
        return 0, total
    if isinstance(steps, int) and not isinstance(steps, bool):
        _check_index("step", steps, total, f"the input of {total} steps")
        return steps, steps + 1
    if not (isinstance(steps, (tuple, list)) and len(steps) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) for s in steps)):
        raise InterventionError(f"steps must be None, a step index or a (start, stop) pair of integers; got {steps!r}")
    start, stop = steps
    if not 0 <= start < stop <= total:
        raise InterventionError(f"steps ({start}, {stop}) is not a span of the input: need 0 <= start < stop <= "
                                f"{total} (the input has steps 0..{total - 1}; stop is excluded)")
    return start, stop


def _check_value(value: Value, gate: str, batch: int, span: int, n_units: int, dtype) -> torch.Tensor:
    """The clamp values as `[B, S, U]`."""
    v = torch.as_tensor(value, dtype=dtype).detach().cpu()
    expected = {0: (), 1: (span,), 2: (span, n_units), 3: (batch, span, n_units)}
    want = "a number, [steps], [steps, units] or [batch, steps, units]"
    if v.dim() not in expected or tuple(v.shape) != expected[v.dim()]:
        full = list(expected.get(v.dim(), (batch, span, n_units)))
        raise InterventionError(f"clamp value for gate {gate!r} has shape {list(v.shape)}; with {batch} sequences, "
                                f"{span} steps in the span and {n_units} units it must be {want} "
                                f"(here {full})")
    shapes = {0: (1, 1, 1), 1: (1, span, 1), 2: (1, span, n_units), 3: (batch, span, n_units)}
    v = v.reshape(shapes[v.dim()])
    if not torch.isfinite(v).all():
        raise InterventionError(f"clamp value for gate {gate!r} is not finite")
    lo, hi = (0.0, 1.0) if gate in SIGMOID_GATES else (-1.0, 1.0)
    if (v < lo).any() or (v > hi).any():
        raise InterventionError(f"clamp value for gate {gate!r} lies outside the gate's range [{lo:g}, {hi:g}] "
                                f"(got {float(v.min()):g}..{float(v.max()):g})")
    return v.expand(batch, span, n_units)


# ------------------------------------------------------------------------------------------------ plans
@dataclass
class _Plan:
    """Per layer and direction, in input positions: masks and values `[T, B, units]` (None: untouched)."""

    clamp_mask: dict  # (layer, direction, gate index) -> bool [T, B, H]
    clamp_value: dict  # same keys -> [T, B, H]
    silence_mask: dict  # (layer, direction) -> bool [T, B, H_out]


def _plan(p: Prepared, interventions) -> _Plan:
    steps, batch = p.x.shape[0], p.x.shape[1]
    gates = GATES_BY_KIND[p.kind]
    plan = _Plan({}, {}, {})
    for k, item in enumerate(interventions):
        where = f"this {p.kind.upper()}"
        if not isinstance(item, (Clamp, Silence)):
            raise TypeError(f"interventions[{k}] must be a Clamp or a Silence; got {type(item).__name__}")
        layer = _check_index("layer", item.layer, p.num_layers, where)
        direction = _check_index("direction", item.direction, p.num_directions, where)
        start, stop = _check_steps(item.steps, steps)
        if isinstance(item, Silence):
            units = _check_units(item.units, p.out_size, f"h_t of {where}")
            mask = plan.silence_mask.setdefault((layer, direction),
                                                torch.zeros(steps, batch, p.out_size, dtype=torch.bool))
            mask[start:stop, :, units] = True
            continue
        if item.gate not in gates:
            valid = ", ".join(gates) if gates else "none (a plain RNN has no gates; use Silence)"
            raise InterventionError(f"gate {item.gate!r} does not exist; the gates of {where} are {valid}")
        units = _check_units(item.units, p.hidden_size, f"gate {item.gate} of {where}")
        value = _check_value(item.value, item.gate, batch, stop - start, len(units), p.x.dtype)
        key = (layer, direction, gates.index(item.gate))
        mask = plan.clamp_mask.setdefault(key, torch.zeros(steps, batch, p.hidden_size, dtype=torch.bool))
        vals = plan.clamp_value.setdefault(key, torch.zeros(steps, batch, p.hidden_size, dtype=p.x.dtype))
        mask[start:stop, :, units] = True
        vals[start:stop, :, units] = value.transpose(0, 1)  # [S, B, U]
    valid = p.mask.T[..., None]  # [T, B, 1]: never intervene at padding
    for masks in (plan.clamp_mask, plan.silence_mask):
        for key in masks:
            masks[key] &= valid
    return plan


# ------------------------------------------------------------------------------------------------ replay
def _run_direction(p: Prepared, plan: _Plan, layer: int, direction: int, layer_in: torch.Tensor):
    """Step loop over one layer and direction. Returns h `[T, B, H_out]`, gates `[T, B, G, H]` or None,
    c `[T, B, H]` or None, all at input positions with padding zeroed."""
    w = p.weights[layer][direction]
    state = layer * p.num_directions + direction
    to_order = (lambda t: reverse_within_lengths(t, p.lengths)) if direction else (lambda t: t)
    dev = layer_in.device
    x = to_order(layer_in)
    clamps = {k: (to_order(plan.clamp_mask[(layer, direction, k)]).to(dev),
                  to_order(plan.clamp_value[(layer, direction, k)]).to(dev))
              for k in range(GATE_COUNT[p.kind]) if (layer, direction, k) in plan.clamp_mask}
    silence = plan.silence_mask.get((layer, direction))
    silence = None if silence is None else to_order(silence).to(dev)
    h = p.h0[state]
    c = p.c0[state] if p.c0 is not None else None
    gi_all = nn.functional.linear(x, w.w_ih, w.b_ih)  # input terms of every step at once: [T, B, G*H]
    hs, gs, cs = [], [], []
    for t in range(x.shape[0]):
        gh = nn.functional.linear(h, w.w_hh, w.b_hh)  # [B, G*H]
        if p.kind == "rnn":
            act = torch.tanh if p.nonlinearity == "tanh" else torch.relu
            h = act(gi_all[t] + gh)
        else:
            gates = activate_gates(p.kind, gi_all[t], gh, p.hidden_size)  # [B, G, H]
            for k, (mask, value) in clamps.items():
                gates[:, k] = torch.where(mask[t], value[t], gates[:, k])
            if p.kind == "gru" and 0 in clamps:
                # a clamped reset gate enters the candidate: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
                hidden = p.hidden_size
                gates[:, 2] = torch.tanh(gi_all[t, :, 2 * hidden:] + gates[:, 0] * gh[:, 2 * hidden:])
                if 2 in clamps:
                    gates[:, 2] = torch.where(clamps[2][0][t], clamps[2][1][t], gates[:, 2])
            if p.kind == "lstm":
                i, f, g, o = gates.unbind(1)
                c = f * c + i * g
                h = o * torch.tanh(c)
                if w.w_hr is not None:
                    h = nn.functional.linear(h, w.w_hr)
                cs.append(c)
            else:
                z, n = gates[:, 1], gates[:, 2]
                h = (1 - z) * n + z * h
            gs.append(gates)
        if silence is not None:
            h = h.masked_fill(silence[t], 0.0)
        hs.append(h)
    keep = p.mask.T.to(dev)  # [T, B]
    back = lambda seq: None if not seq else to_order(  # noqa: E731
        torch.stack(seq) * keep.view(*keep.shape, *([1] * (seq[0].dim() - 1))).to(seq[0].dtype))
    return back(hs), back(gs), back(cs)


def _final(seq: torch.Tensor, p: Prepared, direction: int) -> torch.Tensor:
    """State after the last processed step: position L_b-1 forward, position 0 in reverse. -> [B, U]"""
    if direction:
        return seq[0]
    return seq[(p.lengths - 1).to(seq.device), torch.arange(seq.shape[1], device=seq.device)]


def _module_layout(p: Prepared, output, h_n, c_n):
    """Results shaped as the module returns them (unbatched, batch_first, cell)."""
    squeeze = (lambda t: None if t is None else t[:, 0]) if p.unbatched else (lambda t: t)
    if p.is_cell:
        one = (lambda t: None if t is None else t[0, 0]) if p.unbatched else (lambda t: None if t is None else t[0])
        return one(output), one(h_n), one(c_n)
    if p.batch_first and not p.unbatched:
        output = output.transpose(0, 1)
    return squeeze(output), squeeze(h_n), squeeze(c_n)


def intervene(module: nn.Module, inputs: torch.Tensor, interventions: Sequence[Union[Clamp, Silence]] = (),
              hx=None, lengths=None) -> Trace:
    """Run `module` with `interventions` applied and record it; arguments as for `trace`.

    Returns a `Trace` (tensors on the CPU, `[L, D, B, T, units]`); `trace.output`, `h_n`, `c_n` are what the
    intervened module returns. `trace.meta["interventions"]` repeats what was applied.
    InterventionError names the valid range when a gate, layer, direction, unit, step or value does not fit.
    """
    p = prepare(module, inputs, hx, lengths)
    plan = _plan(p, list(interventions))
    per_layer = []
    with torch.no_grad():
        layer_in = p.x
        for layer in range(p.num_layers):
            per_layer.append([_run_direction(p, plan, layer, d, layer_in) for d in range(p.num_directions)])
            layer_in = torch.cat([r[0] for r in per_layer[-1]], dim=-1)  # next layer's input [T, B, D*H_out]
        flat = [(d, r) for per in per_layer for d, r in enumerate(per)]
        h_n = torch.stack([_final(r[0], p, d) for d, r in flat])
        c_n = torch.stack([_final(r[2], p, d) for d, r in flat]) if p.kind == "lstm" else None
        # [L, D, T, B, ...] -> [L, D, B, T, ...]
        stack = lambda i: torch.stack([torch.stack([r[i] for r in per]) for per in per_layer]).transpose(2, 3).cpu()  # noqa: E731
        hidden = stack(0)
        gates = {}
        if p.kind != "rnn":
            all_gates = stack(1)  # [L, D, B, T, G, H]
            gates = {name: all_gates[..., k, :] for k, name in enumerate(GATES_BY_KIND[p.kind])}
        cell = stack(2) if p.kind == "lstm" else None
        output, h_n, c_n = _module_layout(p, layer_in.cpu(), h_n.cpu(), None if c_n is None else c_n.cpu())
    return Trace(
        kind=p.kind, gate_names=GATES_BY_KIND[p.kind], output=output, h_n=h_n, c_n=c_n, gates=gates,
        hidden=hidden, cell=cell, mask=p.mask, lengths=p.lengths,
        nonlinearity=p.nonlinearity if p.kind == "rnn" else "tanh", batch_first=p.batch_first,
        meta={"engine": "intervene-steps", "is_cell": p.is_cell, "interventions": tuple(interventions)},
    )


def difference_per_step(before: Trace, after: Trace) -> torch.Tensor:
    """L2 norm over units of the change in the top layer's h_t (all directions), `[B, T]`; 0 at padding."""
    if before.hidden.shape != after.hidden.shape:
        raise ValueError(f"the traces differ in shape ({list(before.hidden.shape)} vs {list(after.hidden.shape)}); "
                         "compare a run with the same module and inputs")
    delta = (after.hidden[-1] - before.hidden[-1]).double()  # [D, B, T, U]
    return delta.pow(2).sum(dim=(0, 3)).sqrt() * before.mask

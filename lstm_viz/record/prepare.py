"""Validated view of a recurrent module and its inputs: the one place that knows torch.nn's conventions.

`prepare(module, inputs, hx, lengths)` checks everything a user can get wrong and returns a `Prepared`
whose tensors are time-major (`[T, B, F]`) and batched, so the recorders never branch on layout.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .gate_table import GATE_COUNT, module_kind  # noqa: F401 (module_kind re-exported)
from .gate_table import is_cell as is_cell_module



@dataclass(frozen=True)
class LayerWeights:
    """One layer and direction's parameters (detached views of the module's own tensors)."""

    w_ih: torch.Tensor  # [G*H, F]
    w_hh: torch.Tensor  # [G*H, H_out]
    b_ih: Optional[torch.Tensor]  # [G*H] or None (bias=False)
    b_hh: Optional[torch.Tensor]  # [G*H] or None
    w_hr: Optional[torch.Tensor]  # [proj, H] LSTM projection or None


@dataclass
class Prepared:
    kind: str
    nonlinearity: str  # RNN: "tanh" / "relu"
    is_cell: bool
    num_layers: int
    num_directions: int
    hidden_size: int  # units per gate
    out_size: int  # units of h_t (proj_size when set)
    batch_first: bool
    unbatched: bool  # inputs had no batch dimension
    x: torch.Tensor  # [T, B, F] time-major, padding zeroed
    h0: torch.Tensor  # [L*D, B, H_out]
    c0: Optional[torch.Tensor]  # [L*D, B, H] (LSTM)
    lengths: torch.Tensor  # int64 [B] on CPU
    padded: bool  # lengths were given (module output is then of the packed sequence)
    weights: list[list[LayerWeights]]  # [layer][direction]

    @property
    def mask(self) -> torch.Tensor:
        """bool [B, T], False on padding."""
        steps = torch.arange(self.x.shape[0])
        return steps[None, :] < self.lengths[:, None]


def _layer_weights(module: nn.Module, layer: int, direction: int, is_cell: bool) -> LayerWeights:
    suffix = "" if is_cell else f"_l{layer}" + ("_reverse" if direction else "")

    def get(name: str) -> Optional[torch.Tensor]:
        t = getattr(module, name + suffix, None)
        return None if t is None else t.detach()

    return LayerWeights(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr"))


def _check_state(name: str, state, expected: tuple[int, ...], unbatched: bool) -> torch.Tensor:
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of shape {list(expected)}; got {type(state).__name__}")
    if unbatched and state.dim() == len(expected) - 1:
        state = state.unsqueeze(-2)  # add the batch dimension back: [L*D, 1, H]
    if tuple(state.shape) != expected:
        shown = list(expected) if not unbatched else list(expected[:-2]) + [expected[-1]]
        raise ValueError(f"{name} has shape {list(state.shape)}; expected {shown} for this module and input")
    return state


def _check_lengths(lengths, batch: int, steps: int) -> torch.Tensor:
    if not isinstance(lengths, torch.Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(f"lengths must be a 1-D tensor with one length per sequence ({batch}); "
                         f"got shape {list(lengths.shape)}")
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers; got dtype {lengths.dtype}")
    lengths = lengths.to("cpu", torch.int64)
    if (lengths < 1).any():
        bad = int(torch.nonzero(lengths < 1)[0])
        raise ValueError(f"lengths[{bad}] = {int(lengths[bad])}: every sequence needs at least one step")
    if (lengths > steps).any():
        bad = int(torch.nonzero(lengths > steps)[0])
        raise ValueError(f"lengths[{bad}] = {int(lengths[bad])} is longer than the input, which has {steps} steps")
    return lengths


def prepare(module: nn.Module, inputs: torch.Tensor, hx=None, lengths=None) -> Prepared:
    kind = module_kind(module)
    is_cell = is_cell_module(module)
    if isinstance(inputs, nn.utils.rnn.PackedSequence):
        raise TypeError("pass padded inputs plus lengths=... instead of a PackedSequence "
                        "(torch.nn.utils.rnn.pad_packed_sequence gives both)")
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a tensor; got {type(inputs).__name__}")
    if not inputs.is_floating_point():
        raise TypeError(f"inputs must be floating point (embedded vectors); got dtype {inputs.dtype}. "
                        "Embed token ids first (e.g. with the model's nn.Embedding).")
    param = module.weight_ih if is_cell else module.weight_ih_l0
    if inputs.dtype != param.dtype:
        raise TypeError(f"inputs are {inputs.dtype} but the module's weights are {param.dtype}; convert one of them")
    if inputs.device != param.device:
        raise ValueError(f"inputs are on {inputs.device} but the module is on {param.device}; move them together")

    batch_first = bool(getattr(module, "batch_first", False))
    unbatched = inputs.dim() == (1 if is_cell else 2)
    if inputs.dim() not in ((1, 2) if is_cell else (2, 3)):
        want = "[batch, features] or [features]" if is_cell else (
            "[batch, time, features]" if batch_first else "[time, batch, features]")
        raise ValueError(f"inputs have shape {list(inputs.shape)}; expected {want}")
    if inputs.shape[-1] != module.input_size:
        raise ValueError(f"inputs have {inputs.shape[-1]} features per step but the module expects "
                         f"input_size={module.input_size}")
    if is_cell:
        x = inputs.reshape(1, -1, inputs.shape[-1])  # one step: [1, B, F]
    elif unbatched:
        x = inputs.unsqueeze(1)
    else:
        x = inputs.transpose(0, 1) if batch_first else inputs
    steps, batch = x.shape[0], x.shape[1]
    if steps == 0 or batch == 0:
        raise ValueError(f"inputs have shape {list(inputs.shape)}: need at least one step and one sequence")

    num_layers = 1 if is_cell else module.num_layers
    num_directions = 2 if (not is_cell and module.bidirectional) else 1
    hidden = module.hidden_size
    proj = getattr(module, "proj_size", 0) or 0
    out_size = proj or hidden
    n_states = num_layers * num_directions

    if lengths is not None:
        if is_cell:
            raise ValueError("lengths apply to sequences; a cell takes one step")
        lengths = _check_lengths(lengths, batch, steps)
        padded = True
    else:
        lengths = torch.full((batch,), steps, dtype=torch.int64)
        padded = False

    h0 = c0 = None
    if hx is not None:
        if kind == "lstm":
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError("an LSTM's hx must be a tuple (h_0, c_0)")
            h_in, c_in = hx
        else:
            h_in, c_in = hx, None
        if is_cell:
            h0 = _check_state("h_0", h_in, (batch, out_size), unbatched).unsqueeze(0)
            if c_in is not None:
                c0 = _check_state("c_0", c_in, (batch, hidden), unbatched).unsqueeze(0)
        else:
            h0 = _check_state("h_0", h_in, (n_states, batch, out_size), unbatched)
            if c_in is not None:
                c0 = _check_state("c_0", c_in, (n_states, batch, hidden), unbatched)
    if h0 is None:
        h0 = x.new_zeros(n_states, batch, out_size)
    if kind == "lstm" and c0 is None:
        c0 = x.new_zeros(n_states, batch, hidden)

    if padded:
        mask_tb = (torch.arange(steps)[:, None] < lengths[None, :]).to(x.device)
        x = x * mask_tb[..., None].to(x.dtype)  # garbage at padding never reaches a recording

    weights = [[_layer_weights(module, l, d, is_cell) for d in range(num_directions)] for l in range(num_layers)]
    _warn_if_not_finite(x, module)
    return Prepared(
        kind=kind, nonlinearity=getattr(module, "nonlinearity", "tanh"), is_cell=is_cell,
        num_layers=num_layers, num_directions=num_directions, hidden_size=hidden, out_size=out_size,
        batch_first=batch_first, unbatched=unbatched, x=x, h0=h0.contiguous(),
        c0=None if c0 is None else c0.contiguous(), lengths=lengths, padded=padded, weights=weights,
    )


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of a time-major `[T, B, ...]` tensor within its own length.

    Position t < L_b goes to L_b-1-t; padding stays where it is. The map is its own inverse, which is how a
    reverse direction processes a packed sequence.
    """
    steps = x.shape[0]
    t = torch.arange(steps)[:, None]
    lens = lengths[None, :]
    index = torch.where(t < lens, lens - 1 - t, t).to(x.device)  # [T, B]
    index = index.view(steps, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 0, index)


class NonFiniteWarning(UserWarning):
    """The inputs or the weights hold NaN or +-Inf: every recording downstream of them is NaN."""


def _warn_if_not_finite(x: torch.Tensor, module: nn.Module) -> None:
    bad = ["the inputs"] if not bool(torch.isfinite(x).all()) else []
    bad += [f"weight {name}" for name, w in module.named_parameters() if not bool(torch.isfinite(w).all())]
    if bad:
        shown = ", ".join(bad[:4]) + (f" and {len(bad) - 4} more" if len(bad) > 4 else "")
        warnings.warn(f"NaN or infinite values in {shown}: the recorded gates and states through them are NaN "
                      "(blank in heatmaps).", NonFiniteWarning, stacklevel=3)

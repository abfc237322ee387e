"""Packed-sequence semantics for torch.nn.LSTM/GRU/RNN computed with the fused (oneDNN) CPU kernels.

On CPU, `nn.LSTM` over a `PackedSequence` runs torch's step-by-step native kernel instead of oneDNN's fused
one: 17x slower on long documents here (see ../shared/notes/training-speed.md). The same results come from
the fused kernel on padded input:

- each layer and direction runs as a unidirectional one-layer pass with the module's own parameters
  (`_VF.lstm/gru/rnn_*`, the entry point `nn.LSTM.forward` calls), so gradients reach `module.weight_*`;
- padding lies after each sequence's valid steps, so a forward pass never carries it into a valid step;
- the reverse direction runs on the input reversed within each sequence's length (padding stays at the
  end) and its output is reversed back (`reverse_within_lengths`, the map the trace engine uses);
- final states are the outputs at position length-1 of each direction's own order; LSTM's c_n comes from a
  recompute of the gates and a c_t scan (only when asked for: the models use h_n alone);
- dropout between layers (training only) as `nn.LSTM` applies it; outputs are zero at padding;
- glibc keeps freed oneDNN workspaces in the heap (record.engines' allocator tuning): without it every call
  maps fresh pages (4x the page faults, 0.3 s of sys time per 1.5 s step on long documents here).

CUDA (cuDNN runs packed sequences natively) and other devices keep `nn.utils.rnn.pack_padded_sequence`.
"""
from __future__ import annotations

import warnings
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import _VF, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..record.engines import _tune_allocator, scan_cell
from ..record.gate_table import activate_gates, module_kind
from ..record.prepare import reverse_within_lengths

State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]


def uses_fused_path(x: torch.Tensor) -> bool:
    """True where `packed_forward` runs the fused kernels: float CPU tensors (cuDNN packs natively)."""
    return x.device.type == "cpu"


def _layer_params(module: nn.RNNBase, layer: int, direction: int) -> list[torch.Tensor]:
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])
    if getattr(module, "proj_size", 0):
        names.append("weight_hr")
    return [getattr(module, n + suffix) for n in names]


def _one_pass(module: nn.RNNBase, kind: str, x: torch.Tensor, params: list[torch.Tensor], h0: torch.Tensor,
              c0: Optional[torch.Tensor]) -> torch.Tensor:
    """One layer, one direction, time-major x [T, B, F] -> h_t for all t [T, B, H_out]."""
    # _VF.<kind>(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first);
    # _VF takes them positionally only, so they are named here first.
    layer = dict(has_biases=module.bias, num_layers=1, dropout=0.0, train=module.training, bidirectional=False,
                 batch_first=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        if kind == "lstm":
            return _VF.lstm(x, (h0[None], c0[None]), params, *layer.values())[0]
        fn = {"gru": _VF.gru, "rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu}[kind]
        return fn(x, h0[None], params, *layer.values())[0]


def _final_cell(module: nn.RNNBase, x: torch.Tensor, h: torch.Tensor, params: list[torch.Tensor],
                h0: torch.Tensor, c0: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """LSTM c at each sequence's last step [B, H] (the fused kernel returns only c_T): gates from h_{t-1}
    by two batched GEMMs, then c_t = f * c_{t-1} + i * g scanned up to the longest length."""
    steps = int(last.max()) + 1
    w_ih, w_hh = params[0], params[1]
    b_ih, b_hh = (params[2], params[3]) if module.bias else (None, None)
    prev = torch.cat([h0[None], h[: steps - 1]], dim=0)  # h_{t-1} [T', B, H_out]
    gates = activate_gates("lstm", F.linear(x[:steps], w_ih, b_ih), F.linear(prev, w_hh, b_hh),
                           module.hidden_size)  # [T', B, 4, H]
    c = scan_cell(gates, c0) if not gates.requires_grad else _scan_cell_differentiable(gates, c0)
    return c.gather(0, last.view(1, -1, 1).expand(1, *c.shape[1:]))[0]


def _scan_cell_differentiable(gates: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    written = gates[:, :, 0] * gates[:, :, 2]  # i * g [T, B, H]
    forget = gates[:, :, 1]
    out, prev = [], c0
    for t in range(gates.shape[0]):
        prev = written[t] + forget[t] * prev
        out.append(prev)
    return torch.stack(out)


def packed_forward(module: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor,
                   hx: Optional[State] = None, *, cell_state: bool = True) -> tuple[torch.Tensor, State]:
    """What `module(pack_padded_sequence(inputs, lengths, enforce_sorted=False), hx)` followed by
    `pad_packed_sequence(..., total_length=T)` returns, with the fused kernels on CPU.

    inputs [B, T, F] if `module.batch_first` else [T, B, F]; lengths [B] (1 <= L <= T).
    Returns (output [B, T, D*H_out] (or time-major) with zeros at padding, h_n [L*D, B, H_out] or for
    LSTM (h_n, c_n)). With `cell_state=False` an LSTM's c_n is None (saves the recompute).
    """
    if not isinstance(module, nn.RNNBase):
        raise TypeError(f"packed_forward takes torch.nn.LSTM, GRU or RNN, got {type(module).__name__}")
    kind = module_kind(module)
    if not uses_fused_path(inputs):
        return _packed_module_forward(module, inputs, lengths, hx)
    _tune_allocator()  # training-mode oneDNN workspaces: reuse heap blocks instead of mmap + page faults per call
    x = inputs.transpose(0, 1) if module.batch_first else inputs  # [T, B, F]
    steps, batch = x.shape[0], x.shape[1]
    lengths = lengths.to("cpu", torch.int64)
    if lengths.shape != (batch,) or int(lengths.min()) < 1 or int(lengths.max()) > steps:
        raise ValueError(f"lengths must hold one value in [1, {steps}] per sequence ({batch}); got "
                         f"{lengths.tolist()[:8]}")
    pass_kind = kind if kind != "rnn" else f"rnn_{module.nonlinearity}"
    dirs = 2 if module.bidirectional else 1
    out_size = getattr(module, "proj_size", 0) or module.hidden_size
    h_init, c_init = _initial_state(module, kind, hx, dirs, batch, out_size, x)
    last = (lengths - 1).to(x.device)  # [B]
    last_index = last.view(1, -1, 1).expand(1, batch, out_size)
    h_n, c_n = [], []
    layer_in = x
    for layer in range(module.num_layers):
        outputs = []
        for d in range(dirs):
            k = layer * dirs + d
            params = _layer_params(module, layer, d)
            seq = reverse_within_lengths(layer_in, lengths) if d else layer_in
            h = _one_pass(module, pass_kind, seq, params, h_init[k], None if c_init is None else c_init[k])
            h_n.append(h.gather(0, last_index)[0])
            if kind == "lstm" and cell_state:
                c_n.append(_final_cell(module, seq, h, params, h_init[k], c_init[k], last))
            outputs.append(reverse_within_lengths(h, lengths) if d else h)
        layer_out = torch.cat(outputs, dim=-1) if dirs == 2 else outputs[0]  # [T, B, D*H_out]
        if layer + 1 < module.num_layers and module.dropout > 0:
            layer_out = F.dropout(layer_out, module.dropout, module.training)
        layer_in = layer_out
    valid = (torch.arange(steps)[:, None] < lengths[None, :]).to(x.device)  # [T, B]
    out = layer_in * valid[..., None].to(layer_in.dtype)
    if module.batch_first:
        out = out.transpose(0, 1)
    h_stack = torch.stack(h_n)
    if kind == "lstm":
        return out, (h_stack, torch.stack(c_n) if cell_state else None)
    return out, h_stack


def _initial_state(module, kind, hx, dirs, batch, out_size, x):
    n = module.num_layers * dirs
    if hx is None:
        h0 = x.new_zeros(n, batch, out_size)
        return h0, (x.new_zeros(n, batch, module.hidden_size) if kind == "lstm" else None)
    if kind == "lstm":
        return hx[0], hx[1]
    return hx, None


def _packed_module_forward(module, inputs, lengths, hx):
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=module.batch_first, enforce_sorted=False)
    out, state = module(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=module.batch_first, total_length=inputs.shape[
        1 if module.batch_first else 0])
    return out, state

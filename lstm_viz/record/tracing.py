"""`trace`: record gates, cell and hidden states of any torch.nn recurrent module at every time step."""
from __future__ import annotations

import torch
from torch import nn

from .engines import Recording, mkldnn_lstm_applies, record_mkldnn_lstm, record_replay
from .prepare import Prepared, prepare, reverse_within_lengths
from .results import GATES_BY_KIND, Trace


def _record_direction(p: Prepared, layer: int, direction: int, layer_in: torch.Tensor) -> Recording:
    """One layer and direction, at input positions; values at padding are zeroed."""
    w = p.weights[layer][direction]
    state = layer * p.num_directions + direction
    h0, c0 = p.h0[state], (p.c0[state] if p.c0 is not None else None)
    # A reverse direction is a forward pass over each sequence reversed within its length (as for packed input).
    x = reverse_within_lengths(layer_in, p.lengths) if direction else layer_in
    rec = None
    if mkldnn_lstm_applies(p.kind, w, x):
        rec = record_mkldnn_lstm(w, x, h0, c0)
    if rec is None:
        rec = record_replay(p.kind, p.nonlinearity, w, x, h0, c0)
    if not p.padded and not direction:
        return rec
    fields = {"h": rec.h, "gates": rec.gates, "c": rec.c}
    keep = p.mask.T.to(x.device)  # [T, B]
    for name, value in fields.items():
        if value is None:
            continue
        shaped = keep.view(*keep.shape, *([1] * (value.dim() - 2)))
        value = value * shaped.to(value.dtype)
        fields[name] = reverse_within_lengths(value, p.lengths) if direction else value
    return Recording(engine=rec.engine, **fields)


def _final_state(seq: torch.Tensor, p: Prepared, direction: int) -> torch.Tensor:
    """State after the last processed step: position L_b-1 forward, position 0 in reverse. -> [B, U]"""
    if direction:
        return seq[0]
    last = (p.lengths - 1).to(seq.device)
    return seq[last, torch.arange(seq.shape[1], device=seq.device)]


def _layers(recs: list[list[Recording]], field) -> torch.Tensor:
    """Per-layer, per-direction `[T, B, ...]` recordings -> one `[L, D, B, T, ...]` tensor.

    Memory stays time-major (as the kernels write it) and the batch-major shape is a view, so this costs one
    copy, or none for a single layer and direction (a view of the recording itself).
    """
    if len(recs) == 1 and len(recs[0]) == 1:
        return field(recs[0][0]).transpose(0, 1)[None, None]
    return torch.stack([torch.stack([field(r) for r in per]) for per in recs]).transpose(2, 3)


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t if t.device.type == "cpu" else t.cpu()


def _module_layout(p: Prepared, output: torch.Tensor, h_n: torch.Tensor, c_n):
    """Undo `prepare`'s normalisation so results look like the module's own return values."""
    if p.is_cell:
        # a cell returns h_1 (and c_1) as [B, H], or [H] for unbatched input; output is h_1 as well
        one = (lambda t: None if t is None else t[0, 0]) if p.unbatched else (lambda t: None if t is None else t[0])
        return one(output), one(h_n), one(c_n)
    if p.unbatched:
        return output[:, 0], h_n[:, 0], None if c_n is None else c_n[:, 0]
    if p.batch_first:
        output = output.transpose(0, 1)
    return output, h_n, c_n


def trace(module: nn.Module, inputs: torch.Tensor, hx=None, lengths=None) -> Trace:
    """Run `module` on `inputs` and record what happens inside at every time step.

    module: a `torch.nn.LSTM`, `GRU` or `RNN` (any num_layers, bidirectional, batch_first, bias, proj_size;
        dropout is not applied, as in eval mode), or an `LSTMCell`/`GRUCell`/`RNNCell` (one step; the Trace
        then has a time dimension of length 1).
    inputs: laid out as the module expects: `[T, B, F]`, `[B, T, F]` with batch_first, `[T, F]` unbatched;
        `[B, F]` or `[F]` for a cell.
    hx: the initial state as the module takes it (`(h_0, c_0)` for LSTM), or None for zeros.
    lengths: optional 1-D int tensor of valid steps per sequence; later positions are padding, and the
        results are those of the module run on the packed sequence.

    Runs on the module's device and dtype; the returned tensors are on the CPU. The module is not changed.
    """
    p = prepare(module, inputs, hx, lengths)
    D = p.num_directions
    recs: list[list[Recording]] = []
    with torch.no_grad():
        layer_in = p.x
        for layer in range(p.num_layers):
            recs.append([_record_direction(p, layer, d, layer_in) for d in range(D)])
            layer_in = torch.cat([r.h for r in recs[-1]], dim=-1)  # next layer's input: [T, B, D*H_out]
        h_n = torch.stack([_final_state(r.h, p, d) for per in recs for d, r in enumerate(per)])
        c_n = torch.stack([_final_state(r.c, p, d) for per in recs for d, r in enumerate(per)]) \
            if p.kind == "lstm" else None
        hidden = _layers(recs, lambda r: r.h)  # [L, D, B, T, H_out]
        cell = _layers(recs, lambda r: r.c) if p.kind == "lstm" else None
        gates = {}
        if p.kind != "rnn":
            stacked = _layers(recs, lambda r: r.gates)  # [L, D, B, T, G, H]
            gates = {name: _cpu(stacked[..., k, :]) for k, name in enumerate(GATES_BY_KIND[p.kind])}
        output, h_n, c_n = _module_layout(p, _cpu(layer_in), _cpu(h_n), None if c_n is None else _cpu(c_n))
    engines = sorted({r.engine for per in recs for r in per})

    return Trace(
        kind=p.kind, gate_names=GATES_BY_KIND[p.kind], output=output, h_n=h_n, c_n=c_n,
        gates=gates, hidden=_cpu(hidden), cell=None if cell is None else _cpu(cell), mask=p.mask,
        lengths=p.lengths, nonlinearity=p.nonlinearity if p.kind == "rnn" else "tanh", batch_first=p.batch_first,
        meta={"engine": "+".join(engines), "is_cell": p.is_cell},
    )

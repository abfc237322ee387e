"""`trace`: record gates, cell and hidden states of any torch.nn recurrent module at every time step."""
from __future__ import annotations

import torch
from torch import nn

from .engines import Recording, mkldnn_lstm_applies, record_mkldnn_lstm, record_replay
from .recurrent import Prepared, prepare, reverse_within_lengths
from .types import GATES_BY_KIND, Trace


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
    L, D, (T, B) = p.num_layers, p.num_directions, p.x.shape[:2]
    new = lambda *shape: p.x.new_empty(shape)  # noqa: E731 - buffers on the module's device and dtype
    # Recordings are written once, straight into their final layout [.., L, D, B, T, units].
    n_gates = len(GATES_BY_KIND[p.kind])
    gate_buf = new(n_gates, L, D, B, T, p.hidden_size) if n_gates else None
    cell_buf = new(L, D, B, T, p.hidden_size) if p.kind == "lstm" else None
    hidden_buf = new(L, D, B, T, p.out_size)
    h_n, c_n = new(L * D, B, p.out_size), (new(L * D, B, p.hidden_size) if p.kind == "lstm" else None)
    engines = set()
    with torch.no_grad():
        layer_in = p.x
        for layer in range(L):
            recs = [_record_direction(p, layer, d, layer_in) for d in range(D)]
            for d, rec in enumerate(recs):
                engines.add(rec.engine)
                hidden_buf[layer, d] = rec.h.transpose(0, 1)
                h_n[layer * D + d] = _final_state(rec.h, p, d)
                if gate_buf is not None:
                    gate_buf[:, layer, d] = rec.gates.permute(2, 1, 0, 3)  # [T, B, G, H] -> [G, B, T, H]
                if cell_buf is not None:
                    cell_buf[layer, d] = rec.c.transpose(0, 1)
                    c_n[layer * D + d] = _final_state(rec.c, p, d)
            layer_in = recs[0].h if D == 1 else torch.cat([r.h for r in recs], dim=-1)  # [T, B, D*H_out]

    cpu = torch.device("cpu")
    gate_dict = {name: gate_buf[k].to(cpu) for k, name in enumerate(GATES_BY_KIND[p.kind])}
    output, h_final, c_final = _module_layout(
        p, layer_in.to(cpu), h_n.to(cpu), None if c_n is None else c_n.to(cpu))
    hidden_all = hidden_buf.to(cpu)
    cell_all = None if cell_buf is None else cell_buf.to(cpu)

    return Trace(
        kind=p.kind, gate_names=GATES_BY_KIND[p.kind], output=output, h_n=h_final, c_n=c_final,
        gates=gate_dict, hidden=hidden_all, cell=cell_all, mask=p.mask, lengths=p.lengths,
        nonlinearity=p.nonlinearity if p.kind == "rnn" else "tanh", batch_first=p.batch_first,
        meta={"engine": "+".join(sorted(engines)), "is_cell": p.is_cell},
    )

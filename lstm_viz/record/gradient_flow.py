"""Gradient flow through time: ||dL/dh_t|| and ||dL/dc_t||, and per-gate parameter gradient norms.

The total derivative dL/dh_t (through every later step and every upper layer) needs a graph with one node
per step, which the fused kernels do not expose (`output.retain_grad()` on `nn.LSTM` gives only the direct
term). `gradient_flow` rebuilds the forward step by step from the module's own weights and keeps each
state's gradient; it is meant for a small probe batch, not every training step.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .gate_table import GATE_COUNT, GATES_BY_KIND, activate_gates, is_cell, module_kind
from .prepare import LayerWeights, Prepared, prepare, reverse_within_lengths
from .results import GradientFlow


def _step(kind: str, nonlinearity: str, w: LayerWeights, x_t, h, c):
    """One differentiable step. x_t [B, F], h [B, H_out], c [B, H] -> (h', c')."""
    gi = nn.functional.linear(x_t, w.w_ih, w.b_ih)
    gh = nn.functional.linear(h, w.w_hh, w.b_hh)
    if kind != "rnn":
        gates = activate_gates(kind, gi, gh, w.w_hh.shape[0] // GATE_COUNT[kind])  # [B, G, H]
    if kind == "lstm":
        i, f, g, o = gates.unbind(-2)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return (h if w.w_hr is None else nn.functional.linear(h, w.w_hr)), c
    if kind == "gru":
        z, n = gates[..., 1, :], gates[..., 2, :]
        return (1 - z) * n + z * h, None
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    return act(gi + gh), None


def _leaf_weights(w: LayerWeights) -> LayerWeights:
    """Fresh leaves that share the module's values, so the user's .grad stays untouched."""
    leaf = lambda t: None if t is None else t.detach().clone().requires_grad_(True)  # noqa: E731
    return LayerWeights(*(leaf(t) for t in (w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr)))


def _unroll(p: Prepared, weights: list[list[LayerWeights]]):
    """Step-wise forward. Returns output [T, B, D*H_out], final states, and per-step state tensors
    hs[l][d][t], cs[l][d][t] in processing order (reverse directions run on reversed-within-length input)."""
    keep = p.mask.T.to(p.x.device)  # [T, B]
    last = (p.lengths - 1).to(p.x.device)
    batch = torch.arange(p.x.shape[1], device=p.x.device)
    layer_in, hs, cs, h_n, c_n = p.x, [], [], [], []
    for layer in range(p.num_layers):
        outs, hs_l, cs_l = [], [], []
        for d in range(p.num_directions):
            state = layer * p.num_directions + d
            h = p.h0[state]
            c = p.c0[state] if p.c0 is not None else None
            x = reverse_within_lengths(layer_in, p.lengths) if d else layer_in
            h_steps, c_steps = [], []
            for t in range(x.shape[0]):
                h, c = _step(p.kind, p.nonlinearity, weights[layer][d], x[t], h, c)
                h.retain_grad()
                h_steps.append(h)
                if c is not None:
                    c.retain_grad()
                    c_steps.append(c)
            seq = torch.stack(h_steps) * keep[..., None]  # [T, B, H_out], padding zeroed
            h_n.append(seq[last, batch])
            if c_steps:
                c_n.append(torch.stack(c_steps)[last, batch])
            outs.append(reverse_within_lengths(seq, p.lengths) if d else seq)
            hs_l.append(h_steps)
            cs_l.append(c_steps)
        hs.append(hs_l)
        cs.append(cs_l)
        layer_in = torch.cat(outs, dim=-1)
    return layer_in, torch.stack(h_n), (torch.stack(c_n) if c_n else None), hs, cs


def _norms(states, p: Prepared) -> torch.Tensor:
    """Per-step gradient norms back at input positions: [L, D, B, T]."""
    steps, batch = p.x.shape[:2]
    out = torch.zeros(p.num_layers, p.num_directions, batch, steps, dtype=torch.float64)
    for layer, per_dir in enumerate(states):
        for d, seq in enumerate(per_dir):
            grads = torch.stack([s.grad if s.grad is not None else torch.zeros_like(s) for s in seq])
            norms = grads.detach().double().norm(dim=-1).cpu()  # [T, B], processing order
            norms = norms * p.mask.T
            if d:
                norms = reverse_within_lengths(norms, p.lengths)
            out[layer, d] = norms.T
    return out


def gradient_flow(
    module: nn.Module,
    inputs: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, object], torch.Tensor],
    hx=None,
    lengths=None,
) -> GradientFlow:
    """Norms of dL/dh_t and (LSTM) dL/dc_t at every step, through the recurrence.

    `loss_fn(output, final_state)` gets what the module itself would return: `output` in the module's layout
    (zeros at padding) and `final_state` = h_n, or (h_n, c_n) for LSTM; it must return a scalar tensor.
    Returns `dh`, `dc` as `[num_layers, num_directions, batch, time]` (0 at padding) and, in
    `gate_grad_norms`, the parameter gradient norms per (layer, direction, gate) of the same loss.
    The module's own `.grad` fields are not touched.
    """
    p = prepare(module, inputs, hx, lengths)
    if p.is_cell:
        raise TypeError("gradient_flow needs a sequence module (nn.LSTM/GRU/RNN); a cell has one step")
    weights = [[_leaf_weights(w) for w in per_dir] for per_dir in p.weights]
    with torch.enable_grad():
        output, h_n, c_n, hs, cs = _unroll(p, weights)
        out = output.transpose(0, 1) if p.batch_first else output
        if p.unbatched:
            out, h_n = out[:, 0], h_n[:, 0]
            c_n = None if c_n is None else c_n[:, 0]
        loss = loss_fn(out, (h_n, c_n) if p.kind == "lstm" else h_n)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError("loss_fn must return a scalar tensor")
        if not loss.requires_grad:
            raise ValueError("loss_fn's result does not depend on the output or the final state")
        loss.backward()
    norms = {}
    for layer, per_dir in enumerate(weights):
        for d, w in enumerate(per_dir):
            norms.update(_split_gate_norms(p.kind, w, layer, d))
    return GradientFlow(
        kind=p.kind, dh=_norms(hs, p).float(), dc=_norms(cs, p).float() if p.kind == "lstm" else None,
        loss=float(loss.detach()), mask=p.mask, gate_grad_norms=norms,
    )


def _split_gate_norms(kind: str, w: LayerWeights, layer: int, direction: int) -> dict:
    """L2 norm over every parameter row block belonging to one gate (weight_ih, weight_hh, both biases)."""
    names = GATES_BY_KIND[kind] or ("h",)
    blocks = GATE_COUNT[kind]
    grads = [t.grad.detach() for t in (w.w_ih, w.w_hh, w.b_ih, w.b_hh) if t is not None and t.grad is not None]
    if not grads:
        return {(layer, direction, name): 0.0 for name in names}
    # one squared sum per gate block and parameter, summed, then a single transfer to Python
    squared = torch.stack([g.reshape(blocks, -1).double().pow(2).sum(dim=1) for g in grads]).sum(dim=0)
    return {(layer, direction, name): value for name, value in zip(names, squared.sqrt().tolist())}


def gate_grad_norms(module: nn.Module) -> dict[tuple[int, int, str], float]:
    """Per-gate gradient norms from the `.grad` of a module's weights after `backward()`.

    Keys are (layer, direction, gate) with gate names in PyTorch's chunk order (a plain RNN has one block,
    named "h"). Each value is the L2 norm over that gate's rows of weight_ih, weight_hh and both biases;
    parameters without a gradient count as 0.
    """
    kind = module_kind(module)
    one_step = is_cell(module)
    layers = 1 if one_step else module.num_layers
    directions = 2 if (not one_step and module.bidirectional) else 1
    result = {}
    for layer in range(layers):
        for d in range(directions):
            suffix = "" if one_step else f"_l{layer}" + ("_reverse" if d else "")
            w = LayerWeights(*(getattr(module, n + suffix, None)
                               for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")))
            result.update(_split_gate_norms(kind, w, layer, d))
    return result

"""An independent, deliberately plain step-wise reference for recurrent modules.

One sequence at a time, one step at a time, straight from the equations in the torch.nn docs, reading the
module's parameters by name. Slow and obvious on purpose: it shares no code with lstm_viz.
"""
from __future__ import annotations

import torch


def params(module, layer, direction):
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    get = lambda n: getattr(module, n + sfx, None)  # noqa: E731
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")


def kind_of(module) -> str:
    return {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}[type(module).__name__]


def step(kind, nonlinearity, p, x, h, c):
    w_ih, w_hh, b_ih, b_hh, w_hr = p
    gi = w_ih @ x + (b_ih if b_ih is not None else 0)
    gh = w_hh @ h + (b_hh if b_hh is not None else 0)
    if kind == "lstm":
        H = w_hh.shape[0] // 4
        i = torch.sigmoid(gi[:H] + gh[:H])
        f = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
        g = torch.tanh(gi[2 * H:3 * H] + gh[2 * H:3 * H])
        o = torch.sigmoid(gi[3 * H:] + gh[3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        if w_hr is not None:
            h = w_hr @ h
        return h, c, {"i": i, "f": f, "g": g, "o": o}
    if kind == "gru":
        H = w_hh.shape[0] // 3
        r = torch.sigmoid(gi[:H] + gh[:H])
        z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
        return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    return act(gi + gh), None, {}


def unroll(module, x, lengths=None, h0=None, c0=None, inject=None):
    """x: [B, T, F] batch-major (float64 recommended). h0/c0: [L*D, B, *] or None.

    inject: optional (layer, direction, b, t, delta) added to h_t of that sequence right after step t
    (to take finite differences of the loss with respect to a state).
    Returns dict with per-(layer, direction, b) lists of per-position h, c, gates; outputs [B, T, D*H_out];
    h_n, c_n [L*D, B, *].
    """
    kind = kind_of(module)
    nonlin = getattr(module, "nonlinearity", "tanh")
    L, D = module.num_layers, 2 if module.bidirectional else 1
    B, T, _ = x.shape
    H = module.hidden_size
    Hout = getattr(module, "proj_size", 0) or H
    lengths = [T] * B if lengths is None else [int(v) for v in lengths]
    rec = {"h": {}, "c": {}, "gates": {}}
    h_n = [[None] * B for _ in range(L * D)]
    c_n = [[None] * B for _ in range(L * D)]
    layer_in = [[x[b, t] for t in range(T)] for b in range(B)]
    for layer in range(L):
        new_in = [[None] * T for _ in range(B)]
        for d in range(D):
            p = params(module, layer, d)
            idx = layer * D + d
            for b in range(B):
                n = lengths[b]
                h = h0[idx, b] if h0 is not None else x.new_zeros(Hout)
                c = (c0[idx, b] if c0 is not None else x.new_zeros(H)) if kind == "lstm" else None
                hs, cs, gs = [None] * T, [None] * T, [None] * T
                order = range(n - 1, -1, -1) if d else range(n)
                for t in order:
                    h, c, g = step(kind, nonlin, p, layer_in[b][t], h, c)
                    if inject is not None and inject[:4] == (layer, d, b, t):
                        h = h + inject[4]
                    hs[t], cs[t], gs[t] = h, c, g
                h_n[idx][b], c_n[idx][b] = h, c
                rec["h"][(layer, d, b)] = hs
                rec["c"][(layer, d, b)] = cs
                rec["gates"][(layer, d, b)] = gs
                for t in range(T):
                    part = hs[t] if t < n else x.new_zeros(Hout)
                    new_in[b][t] = part if new_in[b][t] is None else torch.cat([new_in[b][t], part])
        layer_in = new_in
    out = torch.stack([torch.stack(row) for row in layer_in])  # [B, T, D*Hout]
    rec["output"] = out
    rec["h_n"] = torch.stack([torch.stack(v) for v in h_n])
    rec["c_n"] = torch.stack([torch.stack(v) for v in c_n]) if kind == "lstm" else None
    rec["lengths"] = lengths
    return rec

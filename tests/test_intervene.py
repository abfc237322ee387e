"""Interventions: parity with torch.nn when nothing changes, an independent step-wise reference when gates are
clamped or units silenced, and clear errors for interventions that do not fit."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz import trace
from lstm_viz.record.intervene import Clamp, InterventionError, Silence, difference_per_step, intervene

from .reference import kind_of, params
from .test_trace_parity import make_module, module_outputs

GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


# ------------------------------------------------------------------ an independent step-wise reference
def reference_intervened(module, x, lengths, clamps, silences):
    """Plain loops straight from the torch.nn equations, one sequence and one step at a time.

    x: [B, T, F]. clamps: {(layer, d, gate, b, t): tensor [H] of values, NaN = not clamped}.
    silences: {(layer, d, b, t): bool [H_out]}. Returns (output [B, T, D*H_out], h_n [L*D, B, H_out]).
    """
    kind = kind_of(module)
    L, D = module.num_layers, 2 if module.bidirectional else 1
    B, T, _ = x.shape
    H = module.hidden_size
    Hout = getattr(module, "proj_size", 0) or H
    lengths = [T] * B if lengths is None else [int(v) for v in lengths]

    def clamp(value, key):
        want = clamps.get(key)
        return value if want is None else torch.where(torch.isnan(want), value, want)

    layer_in = [[x[b, t] for t in range(T)] for b in range(B)]
    h_n = [[None] * B for _ in range(L * D)]
    for layer in range(L):
        new_in = [[None] * T for _ in range(B)]
        for d in range(D):
            w_ih, w_hh, b_ih, b_hh, w_hr = params(module, layer, d)
            for b in range(B):
                n = lengths[b]
                h, c = x.new_zeros(Hout), x.new_zeros(H)
                hs = [x.new_zeros(Hout)] * T
                for t in (range(n - 1, -1, -1) if d else range(n)):
                    gi = w_ih @ layer_in[b][t] + (b_ih if b_ih is not None else 0)
                    gh = w_hh @ h + (b_hh if b_hh is not None else 0)
                    at = {g: (layer, d, g, b, t) for g in "ifgorzn"}  # clamp keys of this step
                    if kind == "lstm":
                        i = clamp(torch.sigmoid(gi[:H] + gh[:H]), at["i"])
                        f = clamp(torch.sigmoid(gi[H:2 * H] + gh[H:2 * H]), at["f"])
                        g = clamp(torch.tanh(gi[2 * H:3 * H] + gh[2 * H:3 * H]), at["g"])
                        o = clamp(torch.sigmoid(gi[3 * H:] + gh[3 * H:]), at["o"])
                        c = f * c + i * g
                        h = o * torch.tanh(c)
                        if w_hr is not None:
                            h = w_hr @ h
                    elif kind == "rnn":
                        h = torch.tanh(gi + gh)  # the tests build tanh RNNs
                    else:
                        r = clamp(torch.sigmoid(gi[:H] + gh[:H]), at["r"])
                        z = clamp(torch.sigmoid(gi[H:2 * H] + gh[H:2 * H]), at["z"])
                        nn_ = clamp(torch.tanh(gi[2 * H:] + r * gh[2 * H:]), at["n"])
                        h = (1 - z) * nn_ + z * h
                    off = silences.get((layer, d, b, t))
                    if off is not None:
                        h = torch.where(off, torch.zeros_like(h), h)
                    hs[t] = h
                h_n[layer * D + d][b] = h
                for t in range(T):
                    new_in[b][t] = hs[t] if new_in[b][t] is None else torch.cat([new_in[b][t], hs[t]])
        layer_in = new_in
    return torch.stack([torch.stack(row) for row in layer_in]), torch.stack([torch.stack(v) for v in h_n])


def to_reference(items, module, batch, steps, lengths):
    """Translate Clamp/Silence objects into the reference's per-(b, t) dictionaries."""
    H = module.hidden_size
    Hout = getattr(module, "proj_size", 0) or H
    lengths = [steps] * batch if lengths is None else [int(v) for v in lengths]
    clamps, silences = {}, {}
    for item in items:
        start, stop = (0, steps) if item.steps is None else (
            (item.steps, item.steps + 1) if isinstance(item.steps, int) else item.steps)
        if isinstance(item, Silence):
            for b in range(batch):
                for t in range(start, min(stop, lengths[b])):
                    key = (item.layer, item.direction, b, t)
                    mask = silences.setdefault(key, torch.zeros(Hout, dtype=torch.bool))
                    mask[list(item.units)] = True
            continue
        units = list(range(H)) if item.units is None else list(item.units)
        value = torch.as_tensor(item.value, dtype=torch.float64)
        for b in range(batch):
            for t in range(start, min(stop, lengths[b])):
                s = t - start
                dim = value.dim()
                v = (value.expand(len(units)) if dim == 0 else value[s].expand(len(units)) if dim == 1
                     else value[s] if dim == 2 else value[b, s])
                key = (item.layer, item.direction, item.gate, b, t)
                want = clamps.setdefault(key, torch.full((H,), float("nan"), dtype=torch.float64))
                want[units] = v
    return clamps, silences


# ------------------------------------------------------------------ parity: nothing changed
configs = st.fixed_dictionaries({
    "kind": st.sampled_from(["lstm", "gru", "rnn"]),
    "layers": st.integers(1, 3), "bidir": st.booleans(), "batch_first": st.booleans(), "bias": st.booleans(),
    "proj": st.sampled_from([0, 0, 2]), "hidden": st.integers(3, 6), "batch": st.integers(1, 4),
    "steps": st.integers(1, 6), "use_lengths": st.booleans(), "seed": st.integers(0, 10_000),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_no_intervention_and_own_values_match_the_module(cfg):
    """No intervention, and every gate clamped to the module's own recorded values at every step, both
    reproduce nn.LSTM/GRU/RNN's outputs and final states."""
    torch.manual_seed(cfg["seed"])
    proj = cfg["proj"] if cfg["kind"] == "lstm" and cfg["proj"] < cfg["hidden"] else 0
    m = make_module(cfg["kind"], 3, cfg["hidden"], cfg["layers"], cfg["bidir"], cfg["batch_first"], cfg["bias"],
                    proj, "tanh")
    B, T = cfg["batch"], cfg["steps"]
    x = torch.randn((B, T, 3) if cfg["batch_first"] else (T, B, 3))
    lengths = torch.randint(1, T + 1, (B,)) if cfg["use_lengths"] else None
    out, h_n, c_n = module_outputs(m, x, lengths, None)
    plain = intervene(m, x, lengths=lengths)
    torch.testing.assert_close(plain.output, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(plain.h_n, h_n, atol=1e-6, rtol=0)
    if c_n is not None:
        torch.testing.assert_close(plain.c_n, c_n, atol=1e-6, rtol=0)
    recorded = trace(m, x, lengths=lengths)
    own = [Clamp(g, recorded.gates[g][layer, d].contiguous(), layer=layer, direction=d)
           for g in recorded.gate_names for layer in range(recorded.num_layers)
           for d in range(recorded.num_directions)]
    clamped = intervene(m, x, own, lengths=lengths)
    torch.testing.assert_close(clamped.output, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(clamped.h_n, h_n, atol=1e-6, rtol=0)
    for g in recorded.gate_names:
        torch.testing.assert_close(clamped.gates[g], recorded.gates[g], atol=1e-6, rtol=0)
    assert difference_per_step(recorded, clamped).max() < 1e-5


def test_unbatched_and_cell_inputs_keep_the_module_layout():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, batch_first=True).eval()
    x = torch.randn(5, 3)
    out, (h, c) = m(x)
    got = intervene(m, x)
    torch.testing.assert_close(got.output, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(got.h_n, h, atol=1e-6, rtol=0)
    cell = torch.nn.GRUCell(3, 4)
    got = intervene(cell, x[0])
    torch.testing.assert_close(got.output, cell(x[0]), atol=1e-6, rtol=0)


# ------------------------------------------------------------------ real interventions vs the reference
def random_interventions(draw, kind, layers, D, H, Hout, B, T):
    items = []
    for _ in range(draw(st.integers(1, 3))):
        layer, d = draw(st.integers(0, layers - 1)), draw(st.integers(0, D - 1))
        start = draw(st.integers(0, T - 1))
        stop = draw(st.integers(start + 1, T))
        steps = draw(st.sampled_from([None, start, (start, stop)]))
        S = T if steps is None else (1 if isinstance(steps, int) else stop - start)
        if kind == "rnn" or draw(st.booleans()):
            units = draw(st.lists(st.integers(0, Hout - 1), min_size=1, max_size=Hout, unique=True))
            items.append(Silence(units, layer, d, steps))
            continue
        gate = draw(st.sampled_from(GATES[kind]))
        units = draw(st.sampled_from([None, [draw(st.integers(0, H - 1))]]))
        U = H if units is None else 1
        lo = 0.0 if gate not in ("g", "n") else -1.0
        shape = draw(st.sampled_from([(), (S,), (S, U), (B, S, U)]))
        value = torch.rand(shape, dtype=torch.float64) * (1 - lo) + lo
        items.append(Clamp(gate, value, layer, d, units, steps))
    return items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), configs)
def test_interventions_match_a_stepwise_reference(data, cfg):
    torch.manual_seed(cfg["seed"])
    kind = cfg["kind"]
    H = cfg["hidden"]
    proj = cfg["proj"] if kind == "lstm" and cfg["proj"] < H else 0
    m = make_module(kind, 3, H, cfg["layers"], cfg["bidir"], True, cfg["bias"], proj, "tanh", torch.float64)
    B, T = cfg["batch"], cfg["steps"]
    x = torch.randn(B, T, 3, dtype=torch.float64)
    lengths = torch.randint(1, T + 1, (B,)) if cfg["use_lengths"] else None
    D = 2 if cfg["bidir"] else 1
    items = random_interventions(data.draw, kind, cfg["layers"], D, H, proj or H, B, T)
    got = intervene(m, x, items, lengths=lengths)
    clamps, silences = to_reference(items, m, B, T, lengths)
    with torch.no_grad():
        want_out, want_h = reference_intervened(m, x, lengths, clamps, silences)
    torch.testing.assert_close(got.output, want_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(got.h_n, want_h, atol=1e-10, rtol=0)


def test_forget_gate_clamped_to_one_keeps_the_cell_state():
    """f = 1 and i = 0 over a span: c_t stays exactly where it was before the span."""
    torch.manual_seed(1)
    m = torch.nn.LSTM(3, 5).eval()
    x = torch.randn(8, 2, 3)
    tr = intervene(m, x, [Clamp("f", 1.0, units=[1, 3], steps=(2, 7)), Clamp("i", 0.0, units=[1, 3], steps=(2, 7))])
    c = tr.cell[0, 0]  # [B, T, H]
    for t in range(2, 7):
        torch.testing.assert_close(c[:, t, [1, 3]], c[:, 1, [1, 3]], atol=0, rtol=0)
    assert not torch.allclose(c[:, 7, [1, 3]], c[:, 1, [1, 3]])
    assert (tr.gates["f"][0, 0, :, 2:7, [1, 3]] == 1).all()


def test_silenced_units_are_zero_and_change_the_output():
    torch.manual_seed(2)
    m = torch.nn.GRU(3, 6, num_layers=2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(2, 7, 3)
    before = trace(m, x)
    after = intervene(m, x, [Silence([0, 4], layer=0, direction=1, steps=(1, 5))])
    assert (after.hidden[0, 1, :, 1:5][..., [0, 4]] == 0).all()
    assert (before.hidden[0, 1, :, 1:5][..., [0, 4]] != 0).all()
    diff = difference_per_step(before, after)  # [B, T]
    assert diff.shape == (2, 7) and diff.max() > 1e-3


# ------------------------------------------------------------------ errors name the valid range
@pytest.mark.parametrize("item, message", [
    (Clamp("x", 1.0), "gates of this LSTM are i, f, g, o"),
    (Clamp("r", 1.0), "gates of this LSTM are i, f, g, o"),
    (Clamp("f", 1.0, units=[9]), "unit 9 does not exist: gate f of this LSTM has units 0..4"),
    (Clamp("f", 1.0, layer=2), "layer 2 does not exist: this LSTM has layers 0..1"),
    (Clamp("f", 1.0, direction=1), "direction 1 does not exist: this LSTM has directions 0..0"),
    (Clamp("f", 1.0, steps=(3, 12)), "the input has steps 0..5"),
    (Clamp("f", 1.0, steps=6), "step 6 does not exist: the input of 6 steps has steps 0..5"),
    (Clamp("f", 1.5), "outside the gate's range [0, 1]"),
    (Clamp("g", [0.1, 0.2], steps=(0, 3)), "has shape [2]"),
    (Silence([5]), "unit 5 does not exist: h_t of this LSTM has units 0..4"),
])
def test_bad_interventions_name_the_valid_range(item, message):
    m = torch.nn.LSTM(3, 5, num_layers=2).eval()
    with pytest.raises(InterventionError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        intervene(m, torch.randn(6, 1, 3), [item])


def test_a_plain_rnn_has_no_gates_to_clamp():
    with pytest.raises(InterventionError, match="a plain RNN has no gates; use Silence"):
        intervene(torch.nn.RNN(3, 4), torch.randn(5, 3), [Clamp("f", 1.0)])

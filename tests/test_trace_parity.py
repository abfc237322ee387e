"""trace() against torch.nn itself (outputs, final states) and against an independent step-wise reference."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstm_viz import trace

from .reference import unroll

ROOT = Path(__file__).resolve().parents[1]


def module_outputs(module, x, lengths, hx):
    """What the module itself returns, padded back when lengths are given."""
    bf = module.batch_first
    with torch.no_grad():
        if lengths is None:
            out, state = module(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False)
            out, state = module(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=bf, total_length=x.shape[1 if bf else 0])
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    return out, h_n, c_n


def make_module(kind, input_size, hidden, layers, bidir, batch_first, bias, proj, nonlin, dtype=torch.float32):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias)
    if kind == "lstm":
        m = torch.nn.LSTM(input_size, hidden, proj_size=proj, **kw)
    elif kind == "gru":
        m = torch.nn.GRU(input_size, hidden, **kw)
    else:
        m = torch.nn.RNN(input_size, hidden, nonlinearity=nonlin, **kw)
    return m.to(dtype).eval()


configs = st.fixed_dictionaries({
    "kind": st.sampled_from(["lstm", "gru", "rnn"]),
    "layers": st.integers(1, 3),
    "bidir": st.booleans(),
    "batch_first": st.booleans(),
    "bias": st.booleans(),
    "proj": st.sampled_from([0, 0, 2]),
    "nonlin": st.sampled_from(["tanh", "relu"]),
    "input_size": st.integers(1, 5),
    "hidden": st.integers(3, 6),
    "batch": st.integers(1, 4),
    "steps": st.integers(1, 6),
    "use_lengths": st.booleans(),
    "use_hx": st.booleans(),
    "seed": st.integers(0, 10_000),
})


def check_against_module_and_reference(cfg, dtype=torch.float32, tol=1e-5):
    torch.manual_seed(cfg["seed"])
    proj = cfg["proj"] if cfg["kind"] == "lstm" else 0
    m = make_module(cfg["kind"], cfg["input_size"], cfg["hidden"], cfg["layers"], cfg["bidir"],
                    cfg["batch_first"], cfg["bias"], proj, cfg["nonlin"], dtype)
    B, T, D = cfg["batch"], cfg["steps"], 2 if cfg["bidir"] else 1
    x_bt = torch.randn(B, T, cfg["input_size"], dtype=dtype)
    x = x_bt if cfg["batch_first"] else x_bt.transpose(0, 1).contiguous()
    lengths = torch.randint(1, T + 1, (B,)) if cfg["use_lengths"] else None
    if lengths is not None:
        lengths[torch.randint(0, B, ())] = T  # pad_packed_sequence pads to the longest; keep one full
    hx = None
    if cfg["use_hx"]:
        h0 = torch.randn(cfg["layers"] * D, B, proj or cfg["hidden"], dtype=dtype)
        hx = (h0, torch.randn(cfg["layers"] * D, B, cfg["hidden"], dtype=dtype)) if cfg["kind"] == "lstm" else h0

    tr = trace(m, x, hx=hx, lengths=lengths)
    out, h_n, c_n = module_outputs(m, x, lengths, hx)
    torch.testing.assert_close(tr.output, out, atol=tol, rtol=0)
    torch.testing.assert_close(tr.h_n, h_n, atol=tol, rtol=0)
    if cfg["kind"] == "lstm":
        torch.testing.assert_close(tr.c_n, c_n, atol=tol, rtol=0)
    else:
        assert tr.c_n is None and tr.cell is None

    # independent step-wise reference in float64, per sequence
    m64 = make_module(cfg["kind"], cfg["input_size"], cfg["hidden"], cfg["layers"], cfg["bidir"],
                      False, cfg["bias"], proj, cfg["nonlin"], torch.float64)
    m64.load_state_dict({k: v.double() for k, v in m.state_dict().items()})
    h0_64 = c0_64 = None
    if hx is not None:
        h0_64 = (hx[0] if cfg["kind"] == "lstm" else hx).double()
        c0_64 = hx[1].double() if cfg["kind"] == "lstm" else None
    with torch.no_grad():
        ref = unroll(m64, x_bt.double(), lengths, h0_64, c0_64)
    assert tr.mask.shape == (B, T)
    valid = ref["lengths"]
    for layer in range(cfg["layers"]):
        for d in range(D):
            for b in range(B):
                for t in range(T):
                    if t >= valid[b]:
                        assert not tr.mask[b, t]
                        assert tr.hidden[layer, d, b, t].abs().max() == 0
                        for name in tr.gate_names:
                            assert tr.gates[name][layer, d, b, t].abs().max() == 0
                        continue
                    assert tr.mask[b, t]
                    torch.testing.assert_close(tr.hidden[layer, d, b, t].double(), ref["h"][(layer, d, b)][t],
                                               atol=tol, rtol=0)
                    for name in tr.gate_names:
                        torch.testing.assert_close(tr.gates[name][layer, d, b, t].double(),
                                                   ref["gates"][(layer, d, b)][t][name], atol=tol, rtol=0)
                    if cfg["kind"] == "lstm":
                        torch.testing.assert_close(tr.cell[layer, d, b, t].double(), ref["c"][(layer, d, b)][t],
                                                   atol=tol, rtol=0)
    return tr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs)
def test_parity_random_configurations(cfg):
    check_against_module_and_reference(cfg)


@pytest.mark.parametrize("engine_off", ["", "1"])
def test_lstm_engines_agree_on_larger_case(monkeypatch, engine_off):
    """The oneDNN-workspace engine and the portable replay agree with the reference on a realistic size."""
    if engine_off:
        monkeypatch.setenv("LSTM_VIZ_NO_WORKSPACE", "1")
    cfg = dict(kind="lstm", layers=2, bidir=True, batch_first=True, bias=True, proj=0, nonlin="tanh",
               input_size=16, hidden=40, batch=5, steps=12, use_lengths=True, use_hx=True, seed=3)
    tr = check_against_module_and_reference(cfg)
    expected = "replay" if engine_off else "mkldnn-workspace"
    assert tr.meta["engine"] == expected


def test_float64_module():
    cfg = dict(kind="gru", layers=2, bidir=True, batch_first=False, bias=True, proj=0, nonlin="tanh",
               input_size=3, hidden=4, batch=3, steps=5, use_lengths=True, use_hx=False, seed=1)
    tr = check_against_module_and_reference(cfg, dtype=torch.float64, tol=1e-10)
    assert tr.hidden.dtype == torch.float64


def test_gate_shapes_and_names():
    m = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)
    tr = trace(m, torch.randn(2, 7, 4))
    assert tr.kind == "lstm" and tr.gate_names == ("i", "f", "g", "o")
    for name in tr.gate_names:
        assert tr.gates[name].shape == (2, 2, 2, 7, 6)
    assert tr.cell.shape == (2, 2, 2, 7, 6)
    assert tr.hidden.shape == (2, 2, 2, 7, 3)  # h_t has proj_size units
    sig = torch.cat([tr.gates[g].flatten() for g in "ifo"])
    assert sig.min() >= 0 and sig.max() <= 1
    assert tr.gates["g"].min() >= -1 and tr.gates["g"].max() <= 1
    assert trace(torch.nn.GRU(4, 5), torch.randn(3, 1, 4)).gate_names == ("r", "z", "n")
    rnn = trace(torch.nn.RNN(4, 5), torch.randn(3, 1, 4))
    assert rnn.gate_names == () and rnn.gates == {} and rnn.cell is None


@pytest.mark.parametrize("cls", [torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_one_step(cls, batched):
    torch.manual_seed(0)
    cell = cls(4, 5)
    x = torch.randn(3, 4) if batched else torch.randn(4)
    shape = (3, 5) if batched else (5,)
    hx = (torch.randn(shape), torch.randn(shape)) if cls is torch.nn.LSTMCell else torch.randn(shape)
    tr = trace(cell, x, hx=hx)
    with torch.no_grad():
        want = cell(x, hx)
    h1 = want[0] if isinstance(want, tuple) else want
    torch.testing.assert_close(tr.output, h1, atol=1e-6, rtol=0)
    torch.testing.assert_close(tr.h_n, h1, atol=1e-6, rtol=0)
    assert tr.steps == 1 and tr.hidden.shape == (1, 1, 3 if batched else 1, 1, 5)
    if cls is torch.nn.LSTMCell:
        torch.testing.assert_close(tr.c_n, want[1], atol=1e-6, rtol=0)
        # c_1 = f * c_0 + i * g, from the recorded gates
        c0 = hx[1].reshape(-1, 5)
        g = {k: v[0, 0, :, 0] for k, v in tr.gates.items()}
        torch.testing.assert_close(g["f"] * c0 + g["i"] * g["g"], tr.cell[0, 0, :, 0], atol=1e-6, rtol=0)


def test_unbatched_sequence_matches_module():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 3)
    tr = trace(m, x)
    with torch.no_grad():
        out, (h, c) = m(x)
    torch.testing.assert_close(tr.output, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(tr.h_n, h, atol=1e-6, rtol=0)
    torch.testing.assert_close(tr.c_n, c, atol=1e-6, rtol=0)


def test_dropout_module_traced_in_eval_semantics_and_left_unchanged():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5).train()
    x = torch.randn(5, 2, 3)
    tr = trace(m, x)
    assert m.training  # not switched to eval behind the user's back
    with torch.no_grad():
        out, _ = m.eval()(x)
    torch.testing.assert_close(tr.output, out, atol=1e-6, rtol=0)


def test_library_never_imports_streamlit():
    code = ("import sys, lstm_viz, lstm_viz.record.tracing, lstm_viz.record.gradient_flow; "
            "assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_workspace_layout_guard_falls_back_to_replay(monkeypatch):
    """If the oneDNN workspace is not laid out as expected, trace notices and uses the portable engine."""
    from lstm_viz.record import engines

    torch.manual_seed(0)
    m = torch.nn.LSTM(5, 8)
    x = torch.randn(6, 3, 5)
    monkeypatch.setattr(engines, "_ROW_STRIDE", {8: 8 * 4 + 3})  # a wrong cached stride
    monkeypatch.setattr(engines, "_workspace_gates",
                        lambda ws, expected, steps, batch, hidden: None)  # and no layout found
    tr = trace(m, x)
    assert tr.meta["engine"] == "replay"
    with torch.no_grad():
        out, (h, c) = m(x)
    torch.testing.assert_close(tr.output, out, atol=1e-6, rtol=0)
    torch.testing.assert_close(tr.c_n, c, atol=1e-6, rtol=0)


def test_wrong_cached_stride_is_caught():
    """A stale stride for this hidden size fails verification instead of returning shifted gates."""
    from lstm_viz.record import engines

    torch.manual_seed(0)
    m = torch.nn.LSTM(5, 8)
    x = torch.randn(6, 3, 5)
    saved = dict(engines._ROW_STRIDE)
    try:
        engines._ROW_STRIDE[8] = 8 * 4 + 1
        tr = trace(m, x)
    finally:
        engines._ROW_STRIDE.clear()
        engines._ROW_STRIDE.update(saved)
    assert tr.meta["engine"] == "replay"
    ref = unroll(m.double(), x.transpose(0, 1).double())
    torch.testing.assert_close(tr.gates["f"][0, 0, 1, 4].double(), ref["gates"][(0, 0, 1)][4]["f"], atol=1e-5, rtol=0)

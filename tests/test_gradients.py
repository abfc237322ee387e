"""gradient_flow against an independent step-wise autograd reference and finite differences."""
import pytest
import torch

from lstm_viz import gate_grad_norms, gradient_flow

from .reference import unroll


def reference_dh(module64, x_bt, lengths, loss_of):
    """dL/dh_t of every (layer, dir, b, t) by autograd through the plain reference unroll.

    loss_of(output [B, T, D*H], h_n, c_n) -> scalar. Returns norms dict keyed (layer, d, b, t) for h and c.
    """
    rec = unroll(module64, x_bt, lengths)
    keys = [(k, t) for k, seq in rec["h"].items() for t, v in enumerate(seq) if v is not None]
    hs = [rec["h"][k][t] for k, t in keys]
    cs = [rec["c"][k][t] for k, t in keys] if rec["c_n"] is not None else []
    loss = loss_of(rec["output"], rec["h_n"], rec["c_n"])
    grads = torch.autograd.grad(loss, hs + cs, allow_unused=True)
    gh = {k + (t,): (g if g is not None else torch.zeros(1)).norm() for (k, t), g in zip(keys, grads[:len(hs)])}
    gc = {k + (t,): (g if g is not None else torch.zeros(1)).norm() for (k, t), g in zip(keys, grads[len(hs):])}
    return gh, gc


@pytest.mark.parametrize("kind, layers, bidir, proj", [
    ("LSTM", 2, True, 0), ("LSTM", 1, False, 2), ("GRU", 2, True, 0), ("RNN", 3, False, 0), ("GRU", 1, True, 0),
])
def test_dh_dc_match_stepwise_reference(kind, layers, bidir, proj):
    torch.manual_seed(0)
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=True)
    if proj:
        kw["proj_size"] = proj
    m = getattr(torch.nn, kind)(3, 4, **kw).double()
    B, T = 3, 6
    x = torch.randn(B, T, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 3, 5])
    target = torch.randn(B, T, m.hidden_size * (2 if bidir else 1) if not proj else proj * (2 if bidir else 1),
                         dtype=torch.float64)

    def loss_fn(output, state):  # output [B, T, D*H] (batch_first), final state
        h_n = state[0] if isinstance(state, tuple) else state
        return ((output - target) ** 2).sum() + h_n.pow(3).sum()

    flow = gradient_flow(m, x, loss_fn, lengths=lengths)
    gh, gc = reference_dh(m, x.clone(), lengths,
                          lambda out, h_n, c_n: ((out - target) ** 2).sum() + h_n.pow(3).sum())
    D = 2 if bidir else 1
    assert flow.dh.shape == (layers, D, B, T)
    for (layer, d, b, t), want in gh.items():
        got = flow.dh[layer, d, b, t].double()
        assert torch.isclose(got, want, rtol=1e-4, atol=1e-7), (layer, d, b, t, got, want)
    for b in range(B):
        assert (flow.dh[:, :, b, lengths[b]:] == 0).all()  # padding
    if kind == "LSTM":
        for (layer, d, b, t), want in gc.items():
            assert torch.isclose(flow.dc[layer, d, b, t].double(), want, rtol=1e-4, atol=1e-7)
    else:
        assert flow.dc is None


def test_total_derivative_is_not_only_the_direct_term():
    """A loss on the last output only still sends gradient to every earlier h_t through the recurrence."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(2, 3)
    flow = gradient_flow(m, torch.randn(5, 1, 2), lambda out, state: out[-1].sum())
    assert (flow.dh[0, 0, 0, :-1] > 0).all()


def test_finite_differences_tiny_lstm():
    torch.manual_seed(1)
    m = torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True, batch_first=True).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64)
    loss_of = lambda out, h_n: (out.sin().sum() + h_n.pow(2).sum())  # noqa: E731
    flow = gradient_flow(m, x, lambda out, state: loss_of(out, state[0]))
    eps = 1e-6
    for layer, d, t in [(0, 0, 1), (0, 1, 2), (1, 0, 0), (1, 1, 3)]:
        grad = torch.zeros(3, dtype=torch.float64)
        for k in range(3):
            delta = torch.zeros(3, dtype=torch.float64)
            delta[k] = eps
            with torch.no_grad():
                up = unroll(m, x, inject=(layer, d, 0, t, delta))
                down = unroll(m, x, inject=(layer, d, 0, t, -delta))
            grad[k] = (loss_of(up["output"], up["h_n"]) - loss_of(down["output"], down["h_n"])) / (2 * eps)
        assert torch.isclose(flow.dh[layer, d, 0, t].double(), grad.norm(), rtol=1e-5), (layer, d, t)


def test_gate_grad_norms_split_into_gate_blocks():
    torch.manual_seed(0)
    m = torch.nn.GRU(3, 4, bidirectional=True)
    out, _ = m(torch.randn(5, 2, 3))
    out.sum().backward()
    norms = gate_grad_norms(m)
    assert set(norms) == {(0, d, g) for d in (0, 1) for g in ("r", "z", "n")}
    H = 4
    w = m.weight_hh_l0_reverse.grad[H:2 * H]  # z block of the reverse direction
    expect = torch.sqrt(sum(t.grad[H:2 * H].pow(2).sum() for t in
                            (m.weight_ih_l0_reverse, m.weight_hh_l0_reverse, m.bias_ih_l0_reverse,
                             m.bias_hh_l0_reverse)))
    assert w.abs().sum() > 0
    assert norms[(0, 1, "z")] == pytest.approx(float(expect), rel=1e-6)


def test_gradient_flow_leaves_module_grads_alone():
    m = torch.nn.LSTM(2, 3)
    flow = gradient_flow(m, torch.randn(4, 1, 2), lambda out, state: out.sum())
    assert all(p.grad is None for p in m.parameters())
    assert set(flow.gate_grad_norms) == {(0, 0, g) for g in "ifgo"}
    assert flow.gate_grad_norms[(0, 0, "f")] > 0

"""compare: fresh LSTM/GRU/RNN of one size and the shared readout loss, checked against torch and a
step-wise autograd reference."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_viz.explore import architectures
from lstm_viz.record.gradient_flow import gradient_flow

pytestmark = pytest.mark.timeout(60)


def test_module_sizes_copy_the_subject_and_refuse_cells():
    m = nn.LSTM(7, 5, num_layers=2, bidirectional=True, batch_first=True, proj_size=3)
    s = architectures.module_sizes(m)
    assert s == architectures.Sizes(7, 5, 2, True, True) and s.num_directions == 2
    assert architectures.module_sizes(nn.GRU(4, 3)) == architectures.Sizes(4, 3, 1, False, False)
    with pytest.raises(TypeError, match="one step"):
        architectures.module_sizes(nn.LSTMCell(4, 3))
    with pytest.raises(TypeError, match="LSTM"):
        architectures.module_sizes(nn.Linear(4, 3))


def test_fresh_modules_are_seeded_sized_and_leave_the_callers_rng_alone():
    sizes = architectures.Sizes(6, 4, num_layers=2, bidirectional=True, batch_first=True)
    state = torch.random.get_rng_state()
    a = architectures.fresh_modules(sizes, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    b = architectures.fresh_modules(sizes, seed=3)
    c = architectures.fresh_modules(sizes, seed=4)
    assert list(a) == ["LSTM", "GRU", "RNN"]
    for name, cls in (("LSTM", nn.LSTM), ("GRU", nn.GRU), ("RNN", nn.RNN)):
        m = a[name]
        assert type(m) is cls and not m.training
        assert (m.input_size, m.hidden_size, m.num_layers, m.bidirectional, m.batch_first) == (6, 4, 2, True, True)
        assert torch.equal(m.weight_hh_l1_reverse, b[name].weight_hh_l1_reverse)
        assert not torch.equal(m.weight_hh_l1_reverse, c[name].weight_hh_l1_reverse)
    with pytest.raises(ValueError, match="unknown kind"):
        architectures.fresh_modules(sizes, kinds=("LSTM", "Transformer"))
    with pytest.raises(TypeError, match="Sizes"):
        architectures.fresh_modules(nn.LSTM(2, 2))


def test_readout_loss_matches_an_independent_computation():
    torch.manual_seed(0)
    m = nn.LSTM(5, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 3, 5)
    w = architectures.readout_vector(8, seed=1)
    assert w.shape == (8,) and torch.isclose(w.norm(), torch.tensor(1.0))
    out, (h_n, c_n) = m(x)
    expected = (torch.cat([h_n[-2], h_n[-1]], dim=-1) @ w).mean()  # top layer: forward then backward
    got = architectures.readout_loss(w, 2)(out, (h_n, c_n))
    assert torch.allclose(got, expected)
    # a GRU passes h_n alone; unbatched states have no batch axis
    g = nn.GRU(5, 4)
    out, h_n = g(x[:, 0])
    w4 = architectures.readout_vector(4)
    assert torch.allclose(architectures.readout_loss(w4)(out, h_n), h_n[-1] @ w4)
    with pytest.raises(ValueError, match="features"):
        architectures.readout_loss(w4, 1)(*nn.GRU(5, 3)(x))
    with pytest.raises(ValueError, match="num_directions"):
        architectures.readout_loss(w4, 3)
    with pytest.raises(ValueError, match="positive"):
        architectures.readout_vector(0)


def _stepwise_dh(cell: nn.Module, x: torch.Tensor, w: torch.Tensor, kind: str) -> torch.Tensor:
    """||dL/dh_t|| for L = mean_b <w, h_T>, from a hand-written unroll of an nn.*Cell: [B, T]."""
    B = x.shape[1]
    h = torch.zeros(B, cell.hidden_size)
    c = torch.zeros(B, cell.hidden_size)
    hs = []
    for t in range(x.shape[0]):
        if kind == "lstm":
            h, c = cell(x[t], (h, c))
        else:
            h = cell(x[t], h)
        h.retain_grad()
        hs.append(h)
    (hs[-1] @ w).mean().backward()
    return torch.stack([s.grad.norm(dim=-1) for s in hs], dim=1)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_compare_gradient_flow_matches_a_stepwise_reference(name):
    sizes = architectures.Sizes(input_size=3, hidden_size=5)
    torch.manual_seed(1)
    x = torch.randn(7, 2, 3)
    cmp = architectures.compare_gradient_flow(sizes, x, seed=2)
    module = architectures.fresh_modules(sizes, seed=2)[name]
    cell = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN": nn.RNNCell}[name](3, 5)
    with torch.no_grad():
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, p).copy_(getattr(module, p + "_l0"))
    w = architectures.readout_vector(5, seed=3)  # compare uses seed + 1 for the readout
    expected = _stepwise_dh(cell, x, w, name.lower())
    flow = cmp.flows[name]
    assert flow.kind == name.lower() and flow.dh.shape == (1, 1, 2, 7)
    assert torch.allclose(flow.dh[0, 0].double(), expected.double(), rtol=1e-4, atol=1e-7)
    # the shared readout injects the same signal at the last step: ||w|| / B for every kind
    assert torch.allclose(flow.dh[0, 0, :, -1], torch.full((2,), 0.5), atol=1e-6)
    tr = cmp.traces[name]
    assert tr.kind == name.lower() and tr.hidden.shape == (1, 1, 2, 7, 5)


def test_compare_gradient_flow_with_lengths_batch_first_and_bidirectional():
    sizes = architectures.Sizes(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 4])
    cmp = architectures.compare_gradient_flow(sizes, x, lengths=lengths)
    for name, flow in cmp.flows.items():
        assert flow.dh.shape == (2, 2, 2, 6)
        assert (flow.dh[:, :, 1, 4:] == 0).all()  # padding carries no gradient
        assert (flow.dh[:, :, 1, :4] > 0).all()
        ref = gradient_flow(architectures.fresh_modules(sizes)[name], x,
                            architectures.readout_loss(architectures.readout_vector(8, 1), 2), lengths=lengths)
        assert torch.allclose(flow.dh, ref.dh)
    assert cmp.flows["LSTM"].dc is not None and cmp.flows["GRU"].dc is None

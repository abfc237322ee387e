"""step_through: the numbers of each step are the model's own (checked against torch.nn.LSTM/GRU run step by
step from the previous state), the behaviour agrees with the truth table, and a backward direction is read
right to left."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_viz.analysis import truth_table
from lstm_viz.explore.step_through import step_through
from lstm_viz.record.tracing import trace

pytestmark = pytest.mark.timeout(60)


def _module(kind: str, bidirectional: bool = False) -> nn.Module:
    torch.manual_seed(0)
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    module = cls(3, 4, num_layers=2, bidirectional=bidirectional).double()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(4.0)  # saturate some gates so that every behaviour can occur
    return module


def test_lstm_steps_match_a_step_by_step_torch_cell() -> None:
    module = _module("lstm")
    x = torch.randn(7, 1, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    tr = trace(module, x)
    # reference: layer 1 run as an LSTMCell over layer 0's outputs, from a zero state
    cell = nn.LSTMCell(4, 4).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(module, f"{name}_l1"))
    below = nn.LSTM(3, 4).double()
    below.load_state_dict({k: v for k, v in module.state_dict().items() if k.endswith("_l0")})
    with torch.no_grad():
        inputs, _ = below(x)
    h = c = torch.zeros(1, 4, dtype=torch.float64)
    tokens = [f"t{k}" for k in range(7)]
    steps = step_through(tr, unit=2, layer=1, tokens=tokens)
    assert [s.position for s in steps] == list(range(7)) and [s.token for s in steps] == tokens
    for t, step in enumerate(steps):
        c_prev = float(c[0, 2])
        with torch.no_grad():
            h, c = cell(inputs[t], (h, c))
        assert step.previous == pytest.approx(c_prev, abs=1e-9)
        assert step.state == pytest.approx(float(c[0, 2]), abs=1e-9)
        assert step.hidden == pytest.approx(float(h[0, 2]), abs=1e-9)
        g = step.gates
        assert g["f"] * step.previous + g["i"] * g["g"] == pytest.approx(step.state, abs=1e-9)
        assert f"= {step.state:.2f}".replace("-0.00", "0.00") in step.equations[0]


def test_behaviour_agrees_with_the_truth_table_and_backward_reads_right_to_left() -> None:
    module = _module("lstm", bidirectional=True)
    x = torch.randn(9, 1, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    tr = trace(module, x)
    table = truth_table(tr, 0.2, 0.8)
    seen = set()
    for direction in (0, 1):
        for unit in range(4):
            steps = step_through(tr, unit, layer=0, direction=direction, low=0.2, high=0.8)
            order = [s.position for s in steps]
            assert order == (list(range(9)) if direction == 0 else list(range(8, -1, -1)))
            for s in steps:
                assert s.behaviour == table.names[table.codes[0, direction, 0, s.position, unit]]
                seen.add(s.behaviour)
            if direction == 1:  # the state before position t is the one after position t + 1
                for before, now in zip(steps, steps[1:]):
                    assert now.previous == before.state
    assert len(seen) >= 3  # saturated weights: more than "in between" is exercised


def test_gru_update_and_errors() -> None:
    module = _module("gru")
    x = torch.randn(5, 1, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    tr = trace(module, x)
    steps = step_through(tr, unit=1)
    for s in steps:
        g = s.gates
        assert (1 - g["z"]) * g["n"] + g["z"] * s.previous == pytest.approx(s.state, abs=1e-9)
        assert s.state == s.hidden and len(s.equations) == 1 and s.equations[0].startswith("h_t")
    assert steps[0].previous == 0.0
    with pytest.raises(ValueError, match="unit=9 is out of range"):
        step_through(tr, unit=9)
    with pytest.raises(ValueError, match="tokens for 5 valid steps"):
        step_through(tr, unit=0, tokens=["a"])
    with pytest.raises(ValueError, match="no gates to step through"):
        step_through(trace(nn.RNN(3, 4).double(), x), unit=0)

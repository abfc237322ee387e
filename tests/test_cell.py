"""cell.py: one LSTM / GRU step matches torch.nn.LSTMCell / GRUCell, and the presets do what they say."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_viz.explore.cell_step import (
    GRU_EQUATIONS,
    GRU_PRESETS,
    LSTM_EQUATIONS,
    LSTM_PRESETS,
    CellWeights,
    gru_step,
    lstm_step,
    run_preset,
    substituted_equations,
)

pytestmark = pytest.mark.timeout(60)


def _random_cell(kind: str, inputs: int, hidden: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(inputs, hidden).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.mul_(3.0)  # push some gates towards saturation too
    return cell


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["lstm", "gru"]), inputs=st.integers(1, 3), hidden=st.integers(1, 3),
       batch=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_step_matches_torch_cell(kind: str, inputs: int, hidden: int, batch: int, seed: int) -> None:
    cell = _random_cell(kind, inputs, hidden, seed)
    w = CellWeights.from_module(cell)
    x = torch.randn(batch, inputs, dtype=torch.float64)
    h = torch.randn(batch, hidden, dtype=torch.float64)
    if kind == "lstm":
        c = torch.randn(batch, hidden, dtype=torch.float64)
        ref_h, ref_c = cell(x, (h, c))
        out = lstm_step(x, h, c, w)
        np.testing.assert_allclose(out["c"], ref_c.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out["forget_part"] + out["input_part"], out["c"], atol=1e-14)
    else:
        ref_h = cell(x, h)
        out = gru_step(x, h, w)
        np.testing.assert_allclose(out["keep_part"] + out["new_part"], out["h"], atol=1e-14)
    np.testing.assert_allclose(out["h"], ref_h.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("preset", [*LSTM_PRESETS.values(), *GRU_PRESETS.values()], ids=lambda p: p.name)
def test_every_preset_matches_torch_over_its_inputs(preset) -> None:
    cell = preset.weights.to_module()
    steps = run_preset(preset)
    h = torch.zeros(1, 1, dtype=torch.float64)
    c = torch.zeros(1, 1, dtype=torch.float64)
    for x, step in zip(preset.inputs, steps):
        xt = torch.tensor([[x]], dtype=torch.float64)
        if preset.weights.kind == "lstm":
            h, c = cell(xt, (h, c))
            assert step["c"].item() == pytest.approx(c.item(), abs=1e-12)
        else:
            h = cell(xt, h)
        assert step["h"].item() == pytest.approx(h.item(), abs=1e-12)


def _cells(name: str, inputs, start_c: float = 0.5) -> np.ndarray:
    w = LSTM_PRESETS[name].weights
    h, c, out = np.zeros(1), np.array([start_c]), []
    for x in inputs:
        s = lstm_step([x], h, c, w)
        h, c = s["h"], s["c"]
        out.append(c.item())
    return np.array(out)


def test_lstm_presets_do_what_their_names_say() -> None:
    xs = [0.9, -0.4, 0.2, -1.0]
    np.testing.assert_allclose(_cells("remember everything", xs), 0.5, atol=0.02)
    np.testing.assert_allclose(_cells("write new input", xs), np.tanh(2 * np.array(xs)), atol=0.01)
    np.testing.assert_allclose(_cells("erase", xs), 0.0, atol=0.01)
    np.testing.assert_allclose(_cells("add input", xs), 0.5 + np.cumsum(np.tanh(2 * np.array(xs))), atol=0.05)
    np.testing.assert_allclose(_cells("counter", [0.0] * 5, start_c=0.0), [1, 2, 3, 4, 5], atol=0.05)
    sign = _cells("gate on input sign", [-1.0, 1.0, -1.0], start_c=0.3)  # keep, overwrite with 1, keep
    np.testing.assert_allclose(sign, [0.3, 1.0, 1.0], atol=0.01)
    s = lstm_step([0.0], [0.0], [0.0], LSTM_PRESETS["remember everything"].weights)
    assert s["i"].item() < 0.01 and s["f"].item() > 0.99


def test_gru_presets_do_what_their_names_say() -> None:
    def run(name, xs, h0=0.4):
        w, h, out = GRU_PRESETS[name].weights, np.array([h0]), []
        for x in xs:
            h = gru_step([x], h, w)["h"]
            out.append(h.item())
        return np.array(out)

    xs = np.array([0.7, -0.3, 0.1])
    np.testing.assert_allclose(run("keep state", xs), 0.4, atol=0.02)
    np.testing.assert_allclose(run("reset and overwrite", xs), np.tanh(2 * xs), atol=0.01)
    mix = run("overwrite with input and state", xs)
    assert mix[0] == pytest.approx(np.tanh(2 * 0.7 + 0.4), abs=0.01)
    np.testing.assert_allclose(run("gate on input sign", [-1.0, 1.0]), [0.4, np.tanh(2.0)], atol=0.01)


def test_gru_candidate_uses_reset_times_hidden_part() -> None:
    w = CellWeights("gru", [[0.5], [0.0], [1.0]], [[0.0], [0.0], [2.0]], [0, 0, 0.3], [0, 0, 0.7])
    s = gru_step([1.0], [0.5], w)
    r = 1 / (1 + np.exp(-0.5))
    assert s["pre_n"].item() == pytest.approx(1.0 + 0.3 + r * (2.0 * 0.5 + 0.7))
    assert s["n"].item() == pytest.approx(np.tanh(s["pre_n"].item()))


def test_equations_and_substitution() -> None:
    assert set(LSTM_EQUATIONS) == {"i", "f", "g", "o", "c", "h"}
    assert set(GRU_EQUATIONS) == {"r", "z", "n", "h"}
    assert r"r_t \odot (W_{hn} h_{t-1} + b_{hn})" in GRU_EQUATIONS["n"]
    s = lstm_step([1.0], [0.0], [0.25], LSTM_PRESETS["remember everything"].weights)
    eq = substituted_equations(s)
    assert eq["c"].startswith(r"c_t = 1.00 \cdot 0.25") and eq["c"].endswith("= 0.25")
    g = substituted_equations(gru_step([1.0], [0.0], GRU_PRESETS["keep state"].weights))
    assert set(g) == {"n", "h"}
    three = substituted_equations(lstm_step([1.0, 2.0], np.zeros(3), np.zeros(3),
                                            CellWeights.from_module(_random_cell("lstm", 2, 3, 0))))
    assert r"\begin{bmatrix}" in three["c"]


def test_bad_inputs_raise_clear_errors() -> None:
    w = LSTM_PRESETS["erase"].weights
    with pytest.raises(ValueError, match="x must end in 1 inputs"):
        lstm_step([1.0, 2.0], [0.0], [0.0], w)
    with pytest.raises(ValueError, match="c_prev must have the shape"):
        lstm_step([1.0], [0.0], [0.0, 1.0], w)
    with pytest.raises(ValueError, match="gru_step needs gru weights"):
        gru_step([1.0], [0.0], w)
    with pytest.raises(TypeError, match="CellWeights"):
        lstm_step([1.0], [0.0], [0.0], {"weight_ih": 1})
    with pytest.raises(ValueError, match="weight_hh"):
        CellWeights("lstm", np.zeros((4, 1)), np.zeros((4, 2)), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="kind must be"):
        CellWeights("rnn", np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.zeros(1))
    with pytest.raises(TypeError, match="LSTMCell or nn.GRUCell"):
        CellWeights.from_module(torch.nn.RNNCell(1, 1))


def test_weights_round_trip_through_a_module_without_bias() -> None:
    cell = torch.nn.LSTMCell(2, 3, bias=False)
    w = CellWeights.from_module(cell)
    assert w.hidden_size == 3 and w.input_size == 2 and not w.bias_ih.any()
    back = w.to_module()
    np.testing.assert_allclose(back.weight_hh.detach().numpy(), cell.weight_hh.detach().double().numpy())

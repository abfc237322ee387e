"""Bad input to trace() and gradient_flow() gives a clear error naming the problem."""
import pytest
import torch

from lstm_viz import gradient_flow, trace


def lstm():
    return torch.nn.LSTM(4, 5, num_layers=2)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: trace(lstm(), torch.randn(3, 2, 7)), ValueError, ["7 features", "input_size=4"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), hx=(torch.zeros(1, 2, 5), torch.zeros(2, 2, 5))),
         ValueError, ["h_0", "[1, 2, 5]", "[2, 2, 5]"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), hx=torch.zeros(2, 2, 5)), TypeError, ["(h_0, c_0)"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), lengths=torch.tensor([4, 2])), ValueError,
         ["lengths[0] = 4", "3 steps"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), lengths=torch.tensor([3, 0])), ValueError,
         ["lengths[1] = 0", "at least one step"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), lengths=torch.tensor([3])), ValueError, ["one length per"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4), lengths=torch.tensor([3.0, 2.0])), TypeError, ["integers"]),
        (lambda: trace(torch.nn.Linear(4, 5), torch.randn(3, 2, 4)), TypeError, ["Linear", "LSTM"]),
        (lambda: trace(lstm(), torch.randint(0, 5, (3, 2))), TypeError, ["floating point"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4, 1)), ValueError, ["[3, 2, 4, 1]"]),
        (lambda: trace(lstm(), [[1.0]]), TypeError, ["tensor"]),
        (lambda: trace(lstm(), torch.randn(3, 2, 4, dtype=torch.float64)), TypeError, ["float64"]),
        (lambda: trace(lstm(), torch.randn(0, 2, 4)), ValueError, ["at least one step"]),
        (lambda: gradient_flow(lstm(), torch.randn(3, 2, 4), lambda o, s: o), ValueError, ["scalar"]),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value!s}"


def test_nan_inputs_or_weights_are_reported_not_silently_recorded():
    import warnings as _warnings

    from lstm_viz.record.prepare import NonFiniteWarning

    lstm = torch.nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with _warnings.catch_warnings():
        _warnings.simplefilter("error", NonFiniteWarning)
        trace(lstm, x)  # finite: no warning
    x[2, 1, 0] = float("nan")
    with pytest.warns(NonFiniteWarning, match="NaN or infinite values in the inputs"):
        rec = trace(lstm, x)
    assert torch.isnan(rec.hidden).any()
    with torch.no_grad():
        lstm.weight_hh_l0[0, 0] = float("inf")
    with pytest.warns(NonFiniteWarning, match="weight weight_hh_l0"):
        gradient_flow(lstm, torch.randn(5, 2, 3), lambda out, state: out.sum())

"""Figures are built without plotly's validation (lstm_viz.figures._style.make_figure): plotly's validator must
find nothing to change in any of them (a "font_size"-style shorthand, a named colour scale or a misspelt
property would come out different or raise), and a frozen figure (the view cache's) hands out the same data."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from lstm_viz import figures, gradient_flow, trace
from lstm_viz.analysis import forget_product, saturation, select_units, truth_table, window_tokens
from lstm_viz.figures.frozen import FrozenFigure, freeze
from lstm_viz.figures.intervention import difference_figure

pytestmark = pytest.mark.timeout(120)


def _as_json(data: dict) -> dict:
    return json.loads(pio.to_json(data, validate=False))


def _as_validated(fig: go.Figure) -> dict:
    """What plotly's validating constructor makes of the figure's data (raises on an invalid property)."""
    return _as_json(go.Figure(fig.to_dict()).to_dict())


def _every_figure(style: figures.Style) -> dict[str, go.Figure]:
    torch.manual_seed(0)
    out: dict[str, go.Figure] = {}
    tokens = ["The", "dog", "ate", "the", "food", "."]
    for kind, cls in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)):
        module = cls(4, 6, num_layers=2, bidirectional=True)
        x = torch.randn(6, 2, 4)
        tr = trace(module, x, lengths=torch.tensor([6, 4]))
        out[f"{kind} heatmaps"] = figures.gate_heatmaps(tr, 1, 1, tokens=tokens, style=style)
        out[f"{kind} state"] = figures.state_heatmap(tr, "hidden", tokens=tokens, style=style)
        out[f"{kind} line"] = figures.unit_line(tr, 2, tokens=tokens, style=style)
        flow = gradient_flow(module, x, lambda output, state: output.pow(2).sum(), lengths=torch.tensor([6, 4]))
        out[f"{kind} gradients"] = figures.gradient_flow_figure(
            {kind.upper(): flow}, tokens=tokens, forget_product=forget_product(tr) if kind == "lstm" else None,
            style=style)
        if kind != "rnn":
            table = truth_table(tr)
            units = select_units(tr, "f" if kind == "lstm" else "z", 0, 0, max_units=4, by="variance")
            out[f"{kind} truth heatmap"] = figures.truth_table_heatmap(table, tokens=tokens, units=units,
                                                                       window=window_tokens(6, 100), style=style)
            out[f"{kind} truth shares"] = figures.truth_table_shares(table, tokens=tokens, style=style)
            sat = saturation(tr)
            out[f"{kind} saturation"] = figures.saturation_scatter(sat, style=style)
            out[f"{kind} histograms"] = figures.gate_histograms(tr, style=style)
    out["diagram"] = figures.truth_table_diagram(i=[0.05, 0.5, 0.97], f=[0.9, 0.4, 0.02], style=style)
    out["gru diagram"] = figures.gru_truth_table_diagram(r=[0.1, 0.8], z=[0.95, 0.3], style=style)
    events = [dict(step=s, loss=1.0 / (s + 1), accuracy=s / 5, dev_accuracy=s / 6,
                   gate_grad_norms={(0, 0, g): 0.1 * (s + 1) for g in "ifgo"}) for s in range(5)]
    out["training"] = figures.training_curves(events, style=style)
    out["gate grads"] = figures.gate_grad_norm_curves(events, style=style)
    names = ("remember", "add", "erase", "overwrite", "in between")
    out["shares over training"] = figures.truth_shares_over_training(
        [0, 10], names, [[0.1, 0.2, 0.3, 0.2, 0.2], [0.3, 0.3, 0.1, 0.1, 0.2]], style=style)
    out["intervention"] = difference_figure([0.0, 0.5, -0.25, 1.0], ["a", "b", "c", "d"], span=(1, 2), style=style)
    return out


@pytest.mark.parametrize("style", [figures.DEFAULT_STYLE, figures.PROJECTOR], ids=["default", "projector"])
def test_validation_finds_nothing_to_change_in_any_figure(style) -> None:
    built = _every_figure(style)
    assert len(built) >= 20
    for name, fig in built.items():
        assert _as_json(fig.to_dict()) == _as_validated(fig), name
        assert fig.data, name  # every one of these draws something


def test_a_frozen_figure_is_the_same_figure_with_its_data_made_once() -> None:
    torch.manual_seed(1)
    tr = trace(torch.nn.LSTM(3, 5), torch.randn(4, 1, 3))
    fig = figures.gate_heatmaps(tr, tokens=list("abcd"))
    before = pio.to_json(fig.to_dict(), validate=False)
    view = (fig, "not a figure")
    assert freeze(view) is view and isinstance(fig, FrozenFigure)
    first = fig.to_dict()
    assert fig.to_dict() is first  # made once, then handed out
    assert pio.to_json(first, validate=False) == before
    assert fig.layout.height == go.Figure(first).layout.height  # still readable as a figure
    other = figures.unit_line(tr, 0)
    assert not isinstance(other, FrozenFigure)
    assert other.to_dict() is not other.to_dict()  # plotly's own figures copy every time

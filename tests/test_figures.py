"""figures: every builder runs, keeps its fixed colour ranges / log axes, and draws the data it was given."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from lstm_viz import figures
from lstm_viz.analysis import forget_product, saturation, select_units, truth_table, window_tokens
from lstm_viz.record.results import GATES_BY_KIND, SIGMOID_GATES, GradientFlow, Trace

pytestmark = pytest.mark.timeout(60)


def make_trace(kind: str = "lstm", L: int = 1, D: int = 1, B: int = 2, T: int = 5, H: int = 3, lengths=None,
               seed: int = 0, nonlinearity: str = "tanh", hidden_scale: float = 1.0) -> Trace:
    """Random values in each gate's range, 0 at padding (the Trace contract)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    m = mask[None, None, :, :, None]
    shape = (L, D, B, T, H)
    names = GATES_BY_KIND[kind]
    def rnd(sigmoid: bool) -> torch.Tensor:
        u = torch.rand(shape, generator=gen)
        return (u if sigmoid else 2 * u - 1) * m

    gates = {n: rnd(n in SIGMOID_GATES) for n in names}
    cell = 3 * torch.randn(shape, generator=gen) * m if kind == "lstm" else None
    hidden = hidden_scale * rnd(False)
    return Trace(kind=kind, gate_names=names, output=hidden[-1, 0].transpose(0, 1), h_n=torch.zeros(L * D, B, H),
                 c_n=None if cell is None else torch.zeros(L * D, B, H), gates=gates, hidden=hidden, cell=cell,
                 mask=mask, lengths=lengths, nonlinearity=nonlinearity)


def heatmaps(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type == "heatmap"]


# ---------------------------------------------------------------- heatmaps

def test_gate_heatmaps_fixed_colour_axes_and_valid_steps_only() -> None:
    tr = make_trace(B=2, T=6, H=4, lengths=[6, 4])
    tokens = ["the", "dog", "ate", "the", "red", "apple"]
    fig = figures.gate_heatmaps(tr, batch_index=1, tokens=tokens)
    hm = heatmaps(fig)
    assert [t.name for t in hm] == ["i", "f", "g", "o", "cell", "hidden"]
    assert [t.coloraxis for t in hm] == ["coloraxis", "coloraxis", "coloraxis2", "coloraxis", "coloraxis3",
                                         "coloraxis2"]
    lay = fig.layout
    assert (lay.coloraxis.cmin, lay.coloraxis.cmax) == (0, 1)
    assert (lay.coloraxis2.cmin, lay.coloraxis2.cmax, lay.coloraxis2.cmid) == (-1, 1, 0)
    m = tr.cell[0, 0][tr.mask].abs().max().item()  # over every valid step of the layer, not just this row
    assert lay.coloraxis3.cmin == pytest.approx(-m) and lay.coloraxis3.cmax == pytest.approx(m)
    i = hm[0]
    assert np.asarray(i.z).shape == (4, 4)  # units x the 4 valid steps; padding is not drawn
    np.testing.assert_allclose(np.asarray(i.z), tr.gates["i"][0, 0, 1, :4].numpy().T)
    # a repeated token stays two columns, and the hover shows token, unit and value
    assert len(set(i.x)) == 4 and i.x[3].rstrip("\u200b") == "the" and i.x[0] == "the"
    assert all(s in i.hovertemplate for s in ("token %{x}", "unit %{y}", "%{z"))
    assert fig.layout.font.size == 16


def test_gate_heatmaps_gru_rnn_and_relu_rnn() -> None:
    gru = figures.gate_heatmaps(make_trace("gru"))
    assert [t.name for t in heatmaps(gru)] == ["r", "z", "n", "hidden"]
    rnn = figures.gate_heatmaps(make_trace("rnn"))
    assert [t.name for t in heatmaps(rnn)] == ["hidden"] and rnn.data[0].coloraxis == "coloraxis2"
    relu = make_trace("rnn", nonlinearity="relu", hidden_scale=5.0)
    fig = figures.state_heatmap(relu, "hidden")
    assert fig.data[0].coloraxis == "coloraxis4"
    assert fig.layout.coloraxis4.cmax == pytest.approx(relu.hidden.abs().max().item())
    assert fig.layout.coloraxis4.cmin == -fig.layout.coloraxis4.cmax


def test_units_window_and_a_large_figure() -> None:
    tr = make_trace(B=1, T=100, H=256, seed=1)
    sel = select_units(tr, "hidden", max_units=32)
    win = window_tokens(100, max_tokens=40, page=2)
    fig = figures.gate_heatmaps(tr, units=sel, window=win, gates=["f", "hidden"])
    z = np.asarray(fig.data[0].z)
    assert z.shape == (32, 20)  # 32 units, tokens 80..99
    np.testing.assert_allclose(z, tr.gates["f"][0, 0, 0, 80:100][:, sel.indices].numpy().T)
    assert list(fig.data[0].y) == [str(u) for u in sel.indices]
    big = figures.gate_heatmaps(tr, tokens=[f"w{k}" for k in range(100)])  # 100 tokens x 256 units, 6 panels
    assert np.asarray(big.data[0].z).shape == (256, 100) and len(big.data) == 6


def test_gate_heatmap_html_values_colours_and_escaped_tokens() -> None:
    """The home page's plain-HTML heatmap: the chosen units' values on valid steps only, viridis on [0, 1]
    (dark purple at 0, yellow at 1), the cell state on [-m, m], and typed tokens escaped."""
    import html
    import re

    tr = make_trace(B=2, T=6, H=4, lengths=[6, 4])
    tr.gates["f"][0, 0, 1, 0, 2] = 0.0  # unit 2 at the first token: shut ...
    tr.gates["f"][0, 0, 1, 1, 2] = 1.0  # ... then open
    tokens = ["<script>x</script>", "dog", "a&b", "the", "red", "apple"]
    out = figures.gate_heatmap_html(tr, "f", batch_index=1, tokens=tokens, units=[2, 0])
    cells = re.findall(r'style="background:rgb\((\d+), (\d+), (\d+)\)" title="unit (\d+) · (.*?) · f = [^"]*" '
                       r'data-v="([^"]+)"', out)
    assert len(cells) == 2 * 4  # 2 units x the 4 valid steps
    assert [int(c[3]) for c in cells] == [2] * 4 + [0] * 4
    assert [html.unescape(c[4]) for c in cells[:4]] == tokens[:4]
    np.testing.assert_allclose([float(c[5]) for c in cells], tr.gates["f"][0, 0, 1, :4][:, [2, 0]].numpy().T.ravel(),
                               atol=1e-5)
    shut, opened = (tuple(int(v) for v in c[:3]) for c in cells[:2])
    assert shut == (68, 1, 84) and opened == (253, 231, 37)  # viridis' ends
    assert "<script>" not in out and "&lt;script&gt;x&lt;/script&gt;" in out and "a&amp;b" in out
    assert 'data-gate="f"' in out and "f: forget gate · layer 0 fwd" in out
    cell = figures.gate_heatmap_html(tr, "cell", batch_index=0, units=[1])
    m = tr.cell[0, 0][tr.mask].abs().max().item()
    assert f"<span>{m:.2g}</span>" in cell and f"<span>−{m:.2g}</span>" in cell  # the colour bar's ends
    tr.gates["f"][0, 0, 1, 3, 0] = float("nan")  # a NaN gate (non-finite weights): a grey cell
    nan_cell = re.search(r'style="background:([^"]+)" title="unit 0 · the · f = nan"',
                         figures.gate_heatmap_html(tr, "f", batch_index=1, tokens=tokens))
    assert nan_cell and nan_cell.group(1) == figures.DEFAULT_STYLE.grid_colour
    # each picture's CSS is scoped to its own size and style: two on one page keep their own grids
    scope = re.compile(r'class="lvh (lvh-\w+)"')
    assert scope.search(out).group(1) != scope.search(cell).group(1)
    with pytest.raises(ValueError, match="unit"):
        figures.gate_heatmap_html(tr, "f", units=[9])


def test_unit_line_and_state_heatmap() -> None:
    tr = make_trace(T=5, H=3)
    fig = figures.unit_line(tr, unit=2, tokens=list("abcde"))
    assert len(fig.data) == 6
    np.testing.assert_allclose(fig.data[4].y, tr.cell[0, 0, 0, :, 2].numpy())
    lo, hi = fig.layout.yaxis.range
    assert lo <= min(-1, tr.cell[0, 0, 0, :, 2].min().item()) and hi >= max(1, tr.cell[0, 0, 0, :, 2].max().item())
    assert list(fig.data[0].customdata) == list("abcde")
    single = figures.state_heatmap(tr, "c", font_size=30)
    assert len(single.data) == 1 and single.data[0].coloraxis == "coloraxis3" and single.layout.font.size == 30


def test_heatmap_errors_are_clear() -> None:
    tr = make_trace()
    with pytest.raises(ValueError, match="tokens has 2 labels but the sequence has 5 valid steps"):
        figures.gate_heatmaps(tr, tokens=["a", "b"])
    with pytest.raises(ValueError, match="unknown gate or state 'x'"):
        figures.gate_heatmaps(tr, gates=["x"])
    with pytest.raises(ValueError, match="no cell state"):
        figures.state_heatmap(make_trace("gru"), "cell")
    with pytest.raises(ValueError, match="batch_index=5 is out of range"):
        figures.gate_heatmaps(tr, batch_index=5)
    with pytest.raises(ValueError, match="font_size"):
        figures.gate_heatmaps(tr, font_size=0)


# ---------------------------------------------------------------- truth table

def test_truth_table_heatmap_and_shares() -> None:
    tr = make_trace(L=2, D=2, B=2, T=6, H=5, lengths=[6, 3], seed=2)
    table = truth_table(tr, low=0.3, high=0.7)
    fig = figures.truth_table_heatmap(table, layer=1, direction=1, batch_index=1)
    assert [t.name for t in fig.data] == list(table.names) and all(t.showlegend for t in fig.data)
    codes = table.codes[1, 1, 1, :3].T  # [units, valid steps]
    for k, t in enumerate(fig.data):
        z = np.asarray(t.z, dtype=float)
        assert z.shape == (5, 3)
        np.testing.assert_array_equal(~np.isnan(z), codes == k)
        assert table.names[k] in t.hovertemplate and "token %{x}" in t.hovertemplate
    shares = figures.truth_table_shares(table, layer=0, direction=1)
    assert len(shares.data) == 2 * len(table.names) and shares.layout.barmode == "stack"
    np.testing.assert_allclose(shares.data[0].y, table.shares_per_token[0, 1, 0, :, 0])
    assert list(shares.data[1].x) == ["L0 fwd", "L0 bwd", "L1 fwd", "L1 bwd"]
    assert tuple(shares.layout.yaxis.range) == (0, 1)
    gru = figures.truth_table_heatmap(truth_table(make_trace("gru")))
    assert [t.name for t in gru.data] == ["keep", "overwrite", "reset+overwrite", "in between"]


def test_truth_table_diagrams() -> None:
    fig = figures.truth_table_diagram(i=0.95, f=0.02, low=0.2, high=0.8)
    texts = {a.text for a in fig.layout.annotations}
    assert {"remember", "add", "erase", "overwrite", "in between"} <= texts
    assert len(fig.layout.shapes) == 5 and len(fig.data) == 1
    assert (fig.data[0].x[0], fig.data[0].y[0]) == (0.02, 0.95)
    overwrite = next(s for s in fig.layout.shapes if (s.x0, s.x1, s.y0, s.y1) == (0, 0.2, 0.8, 1))
    assert overwrite.fillcolor == figures.TRUTH_COLOURS["overwrite"]
    assert len(figures.truth_table_diagram().data) == 0
    gru = figures.gru_truth_table_diagram(r=[0.1, 0.5], z=[0.05, 0.95])
    assert {"keep", "overwrite", "reset+overwrite"} <= {a.text for a in gru.layout.annotations}
    assert len(gru.data[0].x) == 2
    with pytest.raises(ValueError, match="give both"):
        figures.truth_table_diagram(i=0.5)
    with pytest.raises(TypeError, match="TruthTable"):
        figures.truth_table_heatmap(make_trace())


# ---------------------------------------------------------------- saturation

def test_saturation_scatter_and_histograms() -> None:
    a, b = make_trace(L=2, T=7, H=6, seed=3), make_trace(L=2, T=3, H=6, seed=4)
    sat = saturation([a, b])
    fig = figures.saturation_scatter(sat, layer=1)
    assert [t.name.split(":")[0] for t in fig.data] == ["i", "f", "g", "o"]
    np.testing.assert_allclose(fig.data[1].x, sat.left["f"][1, 0])
    np.testing.assert_allclose(fig.data[1].y, sat.right["f"][1, 0])
    assert "unit %{customdata}" in fig.data[0].hovertemplate and list(fig.data[0].customdata) == list(range(6))
    assert tuple(fig.layout.xaxis.range) == (-0.02, 1.02)
    assert len(figures.saturation_scatter(sat, gate="o").data) == 1
    hist = figures.gate_histograms([a, b], layer=1, bins=20)
    assert len(hist.data) == 4 and len(hist.data[0].x) == 20
    assert tuple(hist.layout.xaxis.range) == (0, 1) and tuple(hist.layout.xaxis3.range) == (-1, 1)
    assert sum(hist.data[0].y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown gate 'c'"):
        figures.saturation_scatter(sat, gate="c")


# ---------------------------------------------------------------- gradients and training

def _flow(kind: str, T: int = 6, lengths=(6, 4), scale: float = 1.0) -> GradientFlow:
    gen = torch.Generator().manual_seed(len(kind))
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    dh = scale * torch.rand(1, 1, 2, T, generator=gen) * mask
    dh[0, 0, 0, 2] = 0.0  # an exactly vanished gradient cannot sit on a log axis
    dc = torch.rand(1, 1, 2, T, generator=gen) * mask if kind == "lstm" else None
    return GradientFlow(kind=kind, dh=dh, dc=dc, loss=1.0, mask=mask)


def test_gradient_flow_figure_log_axis_and_traces() -> None:
    flows = {"LSTM": _flow("lstm"), "GRU": _flow("gru"), "RNN": _flow("rnn", scale=1e-6)}
    tr = make_trace(B=2, T=6, lengths=[6, 4])
    fp = forget_product(tr)
    fig = figures.gradient_flow_figure(flows, batch_index=1, tokens=list("abcdef"), forget_product=fp)
    assert fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert names == ["LSTM ‖dL/dh_t‖", "LSTM ‖dL/dc_t‖", "LSTM forget-gate product", "GRU ‖dL/dh_t‖",
                     "RNN ‖dL/dh_t‖"]
    assert len(fig.data[0].y) == 4  # the valid steps of sequence 1
    np.testing.assert_allclose(fig.data[2].y, fp[1, :4])
    first = figures.gradient_flow_figure(flows)
    assert np.isnan(first.data[0].y[2]) and first.data[0].y[1] > 0
    side = figures.gradient_flow_figure(flows, mode="side_by_side")
    assert {t.xaxis for t in side.data} == {"x", "x2", "x3"}
    assert side.layout.yaxis2.type == "log" and side.layout.yaxis3.matches == "y"
    with pytest.raises(ValueError, match="non-empty dict"):
        figures.gradient_flow_figure({})
    with pytest.raises(TypeError, match="GradientFlow"):
        figures.gradient_flow_figure({"LSTM": tr})
    with pytest.raises(ValueError, match="mode"):
        figures.gradient_flow_figure(flows, mode="stacked")


def test_gradient_flow_figure_with_real_gradients() -> None:
    grads = pytest.importorskip("lstm_viz.record.gradient_flow")
    torch.manual_seed(0)
    flows = {}
    for name, cls in (("LSTM", torch.nn.LSTM), ("RNN", torch.nn.RNN)):
        module = cls(3, 4)
        flows[name] = grads.gradient_flow(module, torch.randn(8, 2, 3), lambda out, state: out[-1].sum())
    fig = figures.gradient_flow_figure(flows)
    assert len(fig.data) == 3 and all(np.nanmin(np.asarray(t.y, float)) > 0 for t in fig.data)


def test_training_curves_and_gate_grad_norms() -> None:
    events = [dict(step=s, loss=1.0 / (s + 1), accuracy=min(1.0, s / 10),
                   gate_grad_norms={(0, 0, g): 0.1 * (s + 1) for g in "ifgo"} | {(0, 1, "f"): 0.0})
              for s in range(5)]
    events[2]["dev_accuracy"] = 0.5
    fig = figures.training_curves(events)
    assert [t.name for t in fig.data] == ["loss", "accuracy", "dev accuracy"]
    np.testing.assert_allclose(fig.data[0].y, [1.0 / (s + 1) for s in range(5)])
    assert list(fig.data[2].x) == [2] and fig.data[1].yaxis == "y2" and tuple(fig.layout.yaxis2.range) == (0, 1.02)
    grads = figures.gate_grad_norm_curves(events)
    assert [t.name for t in grads.data] == ["L0 fwd i", "L0 fwd f", "L0 fwd g", "L0 fwd o", "L0 bwd f"]
    assert grads.layout.yaxis.type == "log" and np.isnan(grads.data[4].y).all()
    empty = figures.training_curves([])
    assert len(empty.data) == 0 and "no training events" in empty.layout.annotations[-1].text
    assert len(figures.gate_grad_norm_curves([{"step": 0, "loss": 1.0}]).data) == 0
    with pytest.raises(TypeError, match="sequence of dicts"):
        figures.training_curves({"step": 1})


def test_truth_shares_over_training_stacks_the_real_shares() -> None:
    tr = make_trace(L=1, D=1, T=8, H=6)
    tables = [truth_table(tr, low, high) for low, high in ((0.1, 0.9), (0.3, 0.7), (0.45, 0.55))]
    names = tables[0].names
    shares = np.stack([t.shares_per_layer[0, 0] for t in tables])  # [3 steps, categories], rows sum to 1
    fig = figures.truth_shares_over_training([0, 50, 100], names, shares, style=figures.PROJECTOR)
    assert [t.name for t in fig.data] == list(names)
    assert all(t.stackgroup == "shares" and t.fillcolor == figures.TRUTH_COLOURS[t.name] for t in fig.data)
    np.testing.assert_allclose(np.sum([t.y for t in fig.data], axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(fig.data[-1].y, shares[:, -1])
    assert tuple(fig.layout.yaxis.range) == (0, 1) and fig.layout.xaxis.tickfont.size == 20
    assert "no training events" in figures.truth_shares_over_training([], names, np.zeros((0, len(names))))\
        .layout.annotations[-1].text
    with pytest.raises(ValueError, match=r"\[steps, categories\] = \[2, "):
        figures.truth_shares_over_training([0, 1], names, shares)
    with pytest.raises(ValueError, match="unknown truth-table categories"):
        figures.truth_shares_over_training([0], ["sleep"], [[1.0]])


def test_real_traces_projection_cells_and_empty_windows() -> None:
    trace = pytest.importorskip("lstm_viz.record.tracing").trace
    torch.manual_seed(0)
    proj = trace(torch.nn.LSTM(3, 6, proj_size=2), torch.randn(4, 2, 3), lengths=torch.tensor([4, 1]))
    fig = figures.gate_heatmaps(proj, units=[0, 5])
    assert [list(t.y) for t in fig.data][-2:] == [["0", "5"], ["0"]]  # cell keeps 5; h has 2 units
    assert fig.data[-1].coloraxis == "coloraxis4"  # projected h is unbounded: symmetric, not [-1, 1]
    empty = figures.gate_heatmaps(proj, batch_index=1, window=(3, 10))  # a stale page past the end
    assert all(len(t.x) == 0 for t in empty.data)
    table = truth_table(proj)
    assert len(figures.truth_table_shares(table, batch_index=1, window=(3, 10)).data) == 10
    cell = trace(torch.nn.LSTMCell(3, 4), torch.randn(2, 3))
    assert np.asarray(figures.gate_heatmaps(cell).data[0].z).shape == (4, 1)

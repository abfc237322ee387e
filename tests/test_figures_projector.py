"""Projector style: every figure's text is large and dark (ticks >= 18 px, contrast >= 7:1 on white), token
labels sit under every heatmap panel, no line hides under another, titles wrap instead of being cut, and
the truth-table square keeps its names outside the square where no dot can cover them."""
from __future__ import annotations

import dataclasses

import pytest

from lstm_viz import figures
from lstm_viz.analysis import forget_product, saturation, truth_table
from lstm_viz.explore import cell_step
from lstm_viz.figures._style import wrap_title

from .test_figures import _flow, make_trace

pytestmark = pytest.mark.timeout(60)


def contrast(colour: str) -> float:
    """WCAG contrast ratio of a #RRGGBB colour against white."""
    rgb = [int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 1.05 / (lum + 0.05)


def all_figures(style):
    tr = make_trace(L=2, D=2, T=12, H=5)
    gru = make_trace("gru", T=6)
    table = truth_table(tr)
    sat = saturation(tr)
    events = [dict(step=s, loss=1.0 / (s + 1), accuracy=0.5,
                   gate_grad_norms={(l, d, g): 0.1 * (s + 1) for l in (0, 1) for d in (0, 1) for g in "ifgo"})
              for s in range(4)]
    tokens = [f"word{k}" for k in range(12)]
    return {
        "gate_heatmaps": figures.gate_heatmaps(tr, tokens=tokens, style=style),
        "state_heatmap": figures.state_heatmap(tr, "cell", tokens=tokens, style=style),
        "unit_line": figures.unit_line(tr, unit=1, tokens=tokens, style=style),
        "unit_line_gru": figures.unit_line(gru, unit=0, style=style),
        "truth_table_heatmap": figures.truth_table_heatmap(table, tokens=tokens, style=style),
        "truth_table_shares": figures.truth_table_shares(table, tokens=tokens, style=style),
        "truth_table_diagram": figures.truth_table_diagram(i=[0.95, 0.5], f=[0.02, 0.5], style=style),
        "gru_diagram": figures.gru_truth_table_diagram(r=0.5, z=0.99, style=style),
        "saturation_scatter": figures.saturation_scatter(sat, style=style),
        "gate_histograms": figures.gate_histograms(tr, style=style),
        "gradient_flow": figures.gradient_flow_figure({"LSTM": _flow("lstm"), "GRU": _flow("gru")},
                                                      forget_product=forget_product(tr), mode="side_by_side",
                                                      style=style),
        "training_curves": figures.training_curves(events, style=style),
        "gate_grad_norms": figures.gate_grad_norm_curves(events, style=style),
        "truth_shares_over_training": figures.truth_shares_over_training(
            [0, 100, 200], table.names, [table.shares_per_layer[0, 0]] * 3, style=style),
    }


def texts(fig):
    """(what, font size, colour) of every text the figure sets: ticks, axis titles, legend, annotations, title."""
    layout = fig.layout.to_plotly_json()
    out = []
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            out.append((f"{key} ticks", axis["tickfont"]["size"], axis["tickfont"]["color"]))
            if "title" in axis and axis["title"].get("text"):
                out.append((f"{key} title", axis["title"]["font"]["size"], axis["title"]["font"]["color"]))
        if key.startswith("coloraxis") and "colorbar" in axis:
            tick = axis["colorbar"]["tickfont"]
            out.append((f"{key} colour bar", tick["size"], tick["color"]))
    for note in layout.get("annotations", []):
        out.append((f"annotation {note['text']!r}", note["font"]["size"], note["font"]["color"]))
    if fig.data and any(t.showlegend is not False for t in fig.data):
        out.append(("legend", layout["legend"]["font"]["size"], layout["legend"]["font"]["color"]))
    if layout.get("title", {}).get("text"):
        out.append(("title", layout["title"]["font"]["size"], layout["title"]["font"]["color"]))
    return out


@pytest.mark.parametrize("name", list(all_figures(figures.PROJECTOR)))
def test_projector_text_is_large_and_dark(name: str) -> None:
    fig = all_figures(figures.PROJECTOR)[name]
    found = texts(fig)
    assert any(what.endswith("ticks") for what, _, _ in found), f"{name}: no axis found"
    for what, size, colour in found:
        assert size >= 18, f"{name}: {what} is {size} px"
        assert contrast(colour) >= 7.0, f"{name}: {what} colour {colour} has contrast {contrast(colour):.1f}"
    assert fig.layout.font.size >= 18 and fig.layout.hoverlabel.font.size >= 18


def test_default_style_sets_dark_ticks_too() -> None:
    # Streamlit's plotly theme draws 12 px grey ticks unless the figure says otherwise: both modes say so
    for name, fig in all_figures(None).items():
        for what, size, colour in texts(fig):
            assert size >= 16 and contrast(colour) >= 7.0, (name, what, size, colour)


def test_font_size_still_works_and_style_is_checked() -> None:
    tr = make_trace()
    assert figures.gate_heatmaps(tr, font_size=24).layout.xaxis.tickfont.size == 24
    with pytest.raises(TypeError, match="style must be"):
        figures.gate_heatmaps(tr, style={"font_size": 20})
    with pytest.raises(ValueError, match="font_size"):
        figures.Style(font_size=2)


def test_token_labels_under_every_heatmap_panel() -> None:
    tr = make_trace(T=12)
    tokens = [f"w{k}" for k in range(12)]
    fig = figures.gate_heatmaps(tr, tokens=tokens, style=figures.PROJECTOR)
    panels = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
    assert len(panels) == 6
    for key in panels:
        assert fig.layout[key].showticklabels is not False, key
    # panels do not overlap and leave a gap for the labels and the next title
    domains = sorted((tuple(fig.layout["y" + k[1:]].domain) for k in panels), reverse=True)
    gap_px = (domains[0][0] - domains[1][1]) * (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b)
    assert gap_px >= 2 * figures.PROJECTOR.font_size


def test_unit_line_gives_each_value_its_own_panel() -> None:
    tr = make_trace(T=5, H=3)
    fig = figures.unit_line(tr, unit=0)
    assert len({(t.xaxis, t.yaxis) for t in fig.data}) == len(fig.data) == 6  # no two lines share a panel
    gru = figures.unit_line(make_trace("gru"), unit=0)
    assert len({(t.xaxis, t.yaxis) for t in gru.data}) == len(gru.data) == 4
    ranges = {tuple(fig.layout[f"yaxis{'' if k == 0 else k + 1}"].range or fig.layout.yaxis.range)
              for k in range(6)}
    assert len(ranges) == 1  # one shared y range: panels compare at a glance


def test_truth_table_names_sit_outside_the_square() -> None:
    fig = figures.truth_table_diagram(i=[0.0, 1.0, 0.0, 1.0], f=[0.0, 0.0, 1.0, 1.0])
    for note in fig.layout.annotations:
        assert note.y > 1 or note.y < 0, f"{note.text} is inside the square, where a dot can cover it"
    gru = figures.gru_truth_table_diagram(r=0.5, z=0.5)
    assert all(n.y > 1 or n.y < 0 for n in gru.layout.annotations)
    lo, hi = fig.layout.yaxis.range
    assert lo < -0.04 and hi > 1.04  # the bands that hold the names are inside the plotted range


def test_long_titles_wrap_instead_of_being_cut() -> None:
    assert wrap_title("short", 30) == "short"
    wrapped = wrap_title("gate saturation (low 0.1, high 0.9), layer 0 fwd, 47 steps", 40)
    assert wrapped == "gate saturation (low 0.1, high 0.9),<br>layer 0 fwd, 47 steps"  # never inside (...)
    # a part longer than the width breaks at a space before its (...), never inside it (a narrow column at
    # 150% zoom cut "gate saturation (low 0.1, high 0.9" on the Timeline page)
    assert wrap_title("gate saturation (low 0.1, high 0.9), layer 0 fwd, 9 steps", 30) == \
        "gate saturation<br>(low 0.1, high 0.9),<br>layer 0 fwd, 9 steps"
    assert all(len(line) <= 30 for line in wrap_title("a very long title without any commas at all", 30)
               .split("<br>"))
    sat = saturation(make_trace(T=7))
    narrow = dataclasses.replace(figures.PROJECTOR, projector=False)  # large text, the full title: it wraps
    fig = figures.saturation_scatter(sat, style=narrow)
    assert "<br>" in fig.layout.title.text and f"{sat.n_steps} steps" in fig.layout.title.text
    # projector mode draws a slide instead: a one-line title, the square and its axis titles within 480 css px
    slide = figures.saturation_scatter(sat, style=figures.PROJECTOR)
    assert "<br>" not in slide.layout.title.text and slide.layout.height <= 330


def test_gate_grad_norm_legend_is_a_grid_not_a_scrolling_list() -> None:
    events = [dict(step=s, gate_grad_norms={(l, d, g): 1.0 for l in (0, 1) for d in (0, 1) for g in "ifgo"})
              for s in range(3)]
    fig = figures.gate_grad_norm_curves(events)
    assert len(fig.data) == 16
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.entrywidthmode == "fraction" and legend.entrywidth <= 0.25


def test_negative_operands_are_parenthesised() -> None:
    step = cell_step.lstm_step([1.0], [0.0], [-0.5], cell_step.LSTM_PRESETS["add input"].weights)
    c = cell_step.substituted_equations(step)["c"]
    assert r"\cdot (-0.50)" in c and r"\cdot -" not in c and "+ -" not in c
    gru = cell_step.gru_step([-1.0], [-0.5], cell_step.GRU_PRESETS["keep state"].weights)
    h = cell_step.substituted_equations(gru)["h"]
    assert r"\cdot (-0.50)" in h and r"\cdot -" not in h
    assert "-0.00" not in cell_step.substituted_equations(
        cell_step.lstm_step([0.0], [0.0], [-1e-9], cell_step.LSTM_PRESETS["erase"].weights))["c"]

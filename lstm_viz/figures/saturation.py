"""Saturation scatter (Karpathy et al. 2015, Fig. 3) and gate histograms."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go

from ..analysis.trace_access import as_traces, available_names, canonical_name, check_index, direction_label
from ..analysis.saturation import Saturation, gate_histogram
from ..record.results import Trace
from ._style import FONT_SIZE, GATE_COLOURS, axis_names, resolve_style, Style, grid, make_figure
from .heatmaps import LONG_NAMES


def saturation_scatter(sat: Saturation, gate: Union[None, str, Sequence[str]] = None, layer: int = 0,
                       direction: int = 0, font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """x = left-saturated fraction, y = right-saturated fraction, one point per unit (hover: unit id).

    `gate` None draws every gate, one coloured trace each. Points lie on or below the line x + y = 1; units
    near that line are almost always saturated, units near (0, 0) are rarely.
    """
    if not isinstance(sat, Saturation):
        raise TypeError(f"expected a Saturation from lstm_viz.analysis.saturation, got {type(sat).__name__}")
    style = resolve_style(font_size, style)
    font_size = style.font_size
    gates = list(sat.gate_names) if gate is None else [gate] if isinstance(gate, str) else list(gate)
    for g in gates:
        if g not in sat.gate_names:
            raise ValueError(f"unknown gate {g!r}; this {sat.kind} saturation has {sat.gate_names}")
    first = sat.left[sat.gate_names[0]]
    layer = check_index("layer", layer, first.shape[0])
    direction = check_index("direction", direction, first.shape[1])
    data = []
    for g in gates:
        left, right = sat.left[g][layer, direction], sat.right[g][layer, direction]
        data.append(dict(
            type="scatter", x=left, y=right, mode="markers", name=LONG_NAMES[g], customdata=np.arange(left.size),
            marker=dict(size=max(6, font_size // 2), color=GATE_COLOURS.get(g), opacity=0.75),
            hovertemplate=(f"{g}, unit %{{customdata}}<br>left-saturated %{{x:.1%}}"
                           "<br>right-saturated %{y:.1%}<extra></extra>")))
    layout = dict(
        xaxis=dict(range=[-0.02, 1.02], title=dict(text="fraction left-saturated"), tickformat=".0%",
                   constrain="domain"),
        yaxis=dict(range=[-0.02, 1.02], title=dict(text="fraction right-saturated"), tickformat=".0%",
                   scaleanchor="x", scaleratio=1, constrain="domain"),  # a narrow column must not stretch y
        shapes=[dict(type="line", x0=0, y0=1, x1=1, y1=0, line=dict(dash="dot", color="grey"))],
        legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))  # below: the square keeps the full width
    where = f"layer {layer} {direction_label(direction)}"
    if style.projector:  # a slide: a one-line title and the legend beside the square, so the whole scatter
        # fits under the page title on a 1280x720 screen at 150% zoom (480 css px); thresholds are on the page
        layout["legend"] = dict(orientation="v", y=1.0, yanchor="top", x=1.02, xanchor="left")
        top = 20 + 2 * font_size
        return make_figure(data, layout, style, f"gate saturation, {where}", height=16 * font_size,
                           margin_top=top)
    return make_figure(data, layout, style, f"gate saturation (low {sat.low:g}, high {sat.high:g}), "
                       f"{where}, {sat.n_steps} steps", height=36 * font_size)


def gate_histograms(traces: Union[Trace, Sequence[Trace]], layer: int = 0, direction: int = 0,
                    gates: Optional[Sequence[str]] = None, bins: int = 50, font_size: int = FONT_SIZE,
                    style: Optional[Style] = None) -> go.Figure:
    """One histogram per gate (default every gate) over all valid steps and units; fixed x ranges."""
    traces = as_traces(traces)
    style = resolve_style(font_size, style)
    font_size = style.font_size
    if gates is None:
        gates = traces[0].gate_names or ("hidden",)  # a plain RNN has no gates: show its h_t
    names = [canonical_name(traces[0], g) for g in gates]
    if not names:
        raise ValueError(f"no gates to draw; choose from {available_names(traces[0])}")
    layer = check_index("layer", layer, traces[0].num_layers)
    direction = check_index("direction", direction, traces[0].num_directions)
    # one shared y axis (labels on the first panel only): the panels compare directly, and no tick label
    # of one panel runs into the bars of the panel before it
    layout, refs = grid(1, len(names), titles=[LONG_NAMES[n] for n in names], share_y=True, col_gap=0.05)
    data = []
    for k, name in enumerate(names):
        h = gate_histogram(traces, name, layer, direction, bins)
        share = h.counts / max(h.n_values, 1)
        data.append(dict(type="bar", x=h.centers, y=share, width=np.diff(h.edges), name=name, showlegend=False,
                         marker=dict(color=GATE_COLOURS.get(name)), xaxis=refs[k][0], yaxis=refs[k][1],
                         customdata=np.stack([h.edges[:-1], h.edges[1:]], -1),
                         hovertemplate=f"{name} in [%{{customdata[0]:.2f}}, %{{customdata[1]:.2f}}): "
                                       "%{y:.1%}<extra></extra>"))
        xa, ya, _, _ = axis_names(k)
        layout[xa].update(range=list(h.value_range))
        layout[ya].update(tickformat=".0%", rangemode="tozero")
    layout["yaxis"]["title"] = dict(text="share of steps")
    return make_figure(data, layout, style, f"gate values, layer {layer} {direction_label(direction)}",
                       height=22 * font_size, bargap=0)

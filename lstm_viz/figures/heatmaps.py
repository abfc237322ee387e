"""Heatmaps of gates and states (tokens on x, units on y) and the line plot of one unit."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.trace_access import (
    available_names,
    canonical_name,
    check_index,
    check_trace,
    direction_label,
    to_numpy,
    value_range,
    values,
)
from ..record.results import SIGMOID_GATES, Trace
from ._style import (
    DIVERGING_SCALE,
    FONT_SIZE,
    GATE_COLOURS,
    SIGMOID_SCALE,
    Units,
    Window,
    axis_names,
    batch_row,
    resolve_style, Style,
    grid,
    make_figure,
    symmetric_limit,
    FACET_ROOM_CHARS,
    FACET_TICK_LABELS,
    slanted,
    tick_band_px,
    token_axis,
    token_labels,
    unique_labels,
    unit_ids,
    valid_steps,
)

LONG_NAMES = {"i": "i: input gate", "f": "f: forget gate", "g": "g: candidate", "o": "o: output gate",
              "r": "r: reset gate", "z": "z: update gate", "n": "n: candidate",
              "cell": "c: cell state", "hidden": "h: hidden state"}


def _coloraxes(trace: Trace, names: Sequence[str], layer: int, direction: int) -> dict[str, tuple[str, dict]]:
    """name -> (coloraxis id, its fixed settings). Sigmoid gates share [0, 1]; tanh values share [-1, 1];
    cell (and an unbounded h) are symmetric around 0 with m = max |value| over the layer's valid steps,
    so paging or picking units never changes the colours."""
    mask = to_numpy(trace.mask, bool)
    out = {}
    for name in names:
        rng = value_range(trace, name)
        if name in SIGMOID_GATES:
            out[name] = ("coloraxis", dict(cmin=0.0, cmax=1.0, colorscale=SIGMOID_SCALE, title="gate"))
        elif rng is not None:
            out[name] = ("coloraxis2", dict(cmin=-1.0, cmax=1.0, cmid=0.0, colorscale=DIVERGING_SCALE, title="tanh"))
        else:
            m = symmetric_limit(to_numpy(values(trace, name)[layer, direction])[mask])
            axis = "coloraxis3" if name == "cell" else "coloraxis4"
            out[name] = (axis, dict(cmin=-m, cmax=m, cmid=0.0, colorscale=DIVERGING_SCALE,
                                    title="c" if name == "cell" else "h"))
    return out


def _panel_units(trace: Trace, name: str, units: Units, n_units: int) -> np.ndarray:
    """Unit ids of one panel. With an LSTM projection h_t has fewer units than the gates: its panel keeps
    the chosen ids that exist there (all of its units when none do) instead of failing."""
    if units is None or name != "hidden" or n_units == trace.hidden_size:
        return unit_ids(units, n_units)
    wanted = unit_ids(units, trace.hidden_size)
    kept = wanted[wanted < n_units]
    return kept if kept.size else np.arange(n_units, dtype=np.int64)


def _heatmap_figure(trace: Trace, names: Sequence[str], layer: int, direction: int, batch_index: int,
                    tokens: Optional[Sequence[str]], units: Units, window: Window, style: Style,
                    title: Optional[str]) -> go.Figure:
    check_trace(trace)
    font_size = style.font_size
    layer = check_index("layer", layer, trace.num_layers)
    direction = check_index("direction", direction, trace.num_directions)
    b, mask_row = batch_row(trace, batch_index)
    names = [canonical_name(trace, n) for n in names]
    if not names:
        raise ValueError(f"no gates or states to draw; choose from {available_names(trace)}")
    steps = valid_steps(mask_row, window)
    # x is a category axis of (made unique) tokens, so the hover names the token without a per-cell
    # customdata array (25,600 strings per panel would cost ~45 ms of JSON per rerun).
    x = unique_labels(token_labels(tokens, steps, int(mask_row.sum())))
    axes = _coloraxes(trace, names, layer, direction)
    rows = len(names)
    panels = []
    n_units_max = 1
    for name in names:
        v = to_numpy(values(trace, name)[layer, direction, b])  # [T, U]
        ids = _panel_units(trace, name, units, v.shape[-1])
        n_units_max = max(n_units_max, ids.size)
        panels.append((name, v, ids))
    # every panel carries its own token labels (a projected slide shows one panel at a time): the gap
    # between panels holds them and the next panel's title, measured in pixels
    # a projected slide (projector mode, one panel at a time): title, panel and token labels fit the 480 css px
    # of a 1280x720 screen at 150% zoom under the page title; the layer goes into the panel's title
    slide = style.projector and rows == 1
    row_px = 8 * font_size if slide else int(np.clip(12 * n_units_max + 3 * font_size, 8 * font_size, 360))
    label_px = tick_band_px(x, style)
    gap_px = label_px + int(2.0 * style.title_size)
    plot_px = rows * row_px + (rows - 1) * gap_px
    where = f" · layer {layer} {direction_label(direction)}" if slide else ""
    layout, refs = grid(rows, 1, titles=[LONG_NAMES[n] + where for n in names], share_x=True,
                        row_gap=gap_px / plot_px if rows > 1 else 0.0)
    data = []
    for k, (name, v, ids) in enumerate(panels):
        xa, ya, xr, yr = axis_names(k)
        z = np.ascontiguousarray(v[np.ix_(steps, ids)].T)  # [units, steps]; contiguous -> compact base64 JSON
        data.append(dict(
            type="heatmap", z=z, x=x, y=[str(u) for u in ids],
            xaxis=xr, yaxis=yr, coloraxis=axes[name][0], name=name, hoverongaps=False,
            hovertemplate=f"token %{{x}}<br>unit %{{y}}<br>{name} = %{{z:.3f}}<extra></extra>"))
        layout[ya].update(type="category", autorange="reversed", title=dict(text="unit"),
                          showticklabels=ids.size <= 64)
        layout[xa].update(type="category", tickangle=-45 if len(x) > 8 else 0, showticklabels=True)
    placed: list[str] = []
    for k, name in enumerate(names):  # one colour bar per axis, beside the first panel that uses it
        axis, settings = axes[name]
        if axis in placed:
            continue
        placed.append(axis)
        y0, y1 = layout[axis_names(k)[1]]["domain"]
        settings = dict(settings)
        bar = dict(title=dict(text=settings.pop("title")), y=(y0 + y1) / 2, yanchor="middle",
                   len=max(y1 - y0, min(1.0, 1.5 / rows)), lenmode="fraction", x=1.01 + 0.1 * (len(placed) - 1))
        layout[axis] = dict(**settings, colorbar=bar)
    if slide:
        top, bottom = 10 + int(1.6 * style.title_size), label_px + 15
        return make_figure(data, layout, style, title, height=top + plot_px + bottom, margin_top=top,
                           margin_bottom=bottom)
    return make_figure(data, layout, style, title or f"layer {layer} {direction_label(direction)}, sequence {b}",
                       height=plot_px + label_px + 6 * font_size)


def gate_heatmaps(trace: Trace, layer: int = 0, direction: int = 0, batch_index: int = 0,
                  tokens: Optional[Sequence[str]] = None, units: Units = None, gates: Optional[Sequence[str]] = None,
                  window: Window = None, font_size: int = FONT_SIZE, style: Optional[Style] = None,
                  title: Optional[str] = None) -> go.Figure:
    """One panel per gate, then cell (LSTM) and hidden; tokens on x, units on y; valid steps only.

    `tokens`: labels per input position; `units`: unit ids or a UnitSelection (with an LSTM projection,
    the h panel keeps the ids below proj_size); `gates`: names to draw (gates, "cell", "hidden");
    `window`: TokenWindow, slice or (start, stop) of positions.
    """
    check_trace(trace)
    names = available_names(trace) if gates is None else gates
    return _heatmap_figure(trace, names, layer, direction, batch_index, tokens, units, window,
                           resolve_style(font_size, style), title)


def state_heatmap(trace: Trace, name: str = "hidden", layer: int = 0, direction: int = 0, batch_index: int = 0,
                  tokens: Optional[Sequence[str]] = None, units: Units = None, window: Window = None,
                  font_size: int = FONT_SIZE, style: Optional[Style] = None, title: Optional[str] = None) -> go.Figure:
    """A single heatmap panel of one gate or state."""
    return _heatmap_figure(trace, [name], layer, direction, batch_index, tokens, units, window,
                           resolve_style(font_size, style), title)


def unit_line(trace: Trace, unit: int, layer: int = 0, direction: int = 0, batch_index: int = 0,
              tokens: Optional[Sequence[str]] = None, names: Optional[Sequence[str]] = None,
              window: Window = None, font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """Gate, cell and hidden values of one unit along the sentence: one small panel each (gates in the
    first row, states in the second), so no line can hide under another.

    Every panel shares one y range, which always covers [-1, 1] (every gate and bounded state), widened
    to fit the cell state; every panel has its token labels.
    """
    check_trace(trace)
    style = resolve_style(font_size, style)
    font_size = style.font_size
    layer = check_index("layer", layer, trace.num_layers)
    direction = check_index("direction", direction, trace.num_directions)
    b, mask_row = batch_row(trace, batch_index)
    names = [canonical_name(trace, n) for n in (available_names(trace) if names is None else names)]
    steps = valid_steps(mask_row, window)
    labels = token_labels(tokens, steps, int(mask_row.sum()))
    cols = 3 if len(names) > 4 else min(len(names), 2) if len(names) > 1 else 1
    rows = -(-len(names) // cols)
    shown = labels[:: max(1, -(-len(labels) // FACET_TICK_LABELS))]
    label_px = tick_band_px(shown, style, FACET_ROOM_CHARS)
    angle = -45 if slanted(shown, FACET_ROOM_CHARS) else 0
    row_px = 9 * font_size
    gap_px = label_px + int(1.6 * style.title_size)
    plot_px = rows * row_px + (rows - 1) * gap_px
    layout, refs = grid(rows, cols, titles=[LONG_NAMES[n] for n in names], share_x=True, share_y=True,
                        row_gap=gap_px / plot_px if rows > 1 else 0.0, col_gap=0.04)
    data = []
    lo, hi = -1.0, 1.0
    for k, name in enumerate(names):
        v = to_numpy(values(trace, name)[layer, direction, b])  # [T, U]
        u = check_index("unit", unit, v.shape[-1])
        y = v[steps, u].astype(np.float64)
        if y.size:
            lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        xr, yr = refs[k]
        data.append(dict(
            type="scatter", x=steps, y=y, mode="lines+markers", name=LONG_NAMES[name], customdata=labels,
            xaxis=xr, yaxis=yr, showlegend=False, line=dict(color=GATE_COLOURS.get(name), width=3),
            marker=dict(size=max(6, font_size // 2)),
            hovertemplate=f"token %{{customdata}} (t=%{{x}})<br>{name} = %{{y:.3f}}<extra></extra>"))
    pad = 0.05 * (hi - lo)
    for k in range(len(names)):
        xa, ya, _, _ = axis_names(k)
        layout[xa].update(token_axis(labels, steps, FACET_TICK_LABELS), showticklabels=True, tickangle=angle)
        layout[ya].update(range=[lo - pad, hi + pad], zeroline=True, zerolinecolor="#888888")
    for r in range(rows):
        layout[axis_names(r * cols)[1]]["title"] = dict(text="value")
    return make_figure(data, layout, style, f"unit {unit}, layer {layer} {direction_label(direction)}, "
                       f"sequence {b}", height=plot_px + label_px + 6 * font_size)

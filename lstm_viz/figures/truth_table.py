"""Truth-table figures: categorical heatmap, stacked shares, and the 2x2 gate diagram."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go

from ..analysis.trace_access import check_index, check_thresholds, direction_label
from ..analysis.truth_table import TruthTable
from ._style import (
    FONT_SIZE,
    TRUTH_COLOURS,
    Units,
    Window,
    resolve_style, Style,
    tick_band_px,
    grid,
    make_figure,
    token_axis,
    token_labels,
    unique_labels,
    unit_ids,
    valid_steps,
)


def _check_table(table: object) -> TruthTable:
    if not isinstance(table, TruthTable):
        raise TypeError(f"expected a TruthTable from lstm_viz.analysis.truth_table, got {type(table).__name__}")
    return table


def _selection(table, layer, direction, batch_index, window, style: Style):
    """Checked arguments of one sequence's view -> (table, font_size, layer, direction, b, steps, n_valid)."""
    table = _check_table(table)
    font_size = style.font_size
    layer = check_index("layer", layer, table.num_layers)
    direction = check_index("direction", direction, table.num_directions)
    b = check_index("batch_index", batch_index, table.mask.shape[0])
    mask_row = table.mask[b]
    return table, font_size, layer, direction, b, valid_steps(mask_row, window), int(mask_row.sum())


def truth_table_heatmap(table: TruthTable, layer: int = 0, direction: int = 0, batch_index: int = 0,
                        tokens: Optional[Sequence[str]] = None, units: Units = None, window: Window = None,
                        font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """Category of every (unit, token) of one sequence, with a legend naming the categories.

    One heatmap trace per category (1 where the cell is in it, gaps elsewhere), so the hover and the
    legend name the category without a per-cell string array, and a click on the legend hides one.
    """
    style = resolve_style(font_size, style)
    table, font_size, layer, direction, b, steps, n_valid = _selection(table, layer, direction, batch_index,
                                                                        window, style)
    x = unique_labels(token_labels(tokens, steps, n_valid))
    codes = table.codes[layer, direction, b]  # [T, H]
    ids = unit_ids(units, codes.shape[-1])
    z = codes[np.ix_(steps, ids)].T  # [units, steps], all valid
    y = [str(u) for u in ids]
    data = []
    for code, name in enumerate(table.names):
        colour = TRUTH_COLOURS[name]
        data.append(dict(
            type="heatmap", z=np.where(z == code, np.float32(1), np.float32(np.nan)), x=x, y=y, name=name,
            legendgroup=name,
            showlegend=True, showscale=False, hoverongaps=False, zmin=0, zmax=1,
            colorscale=[[0, colour], [1, colour]],
            hovertemplate=f"token %{{x}}<br>unit %{{y}}<br>{name}<extra></extra>"))
    layout = dict(
        xaxis=dict(type="category", tickangle=-45 if len(x) > 8 else 0),
        yaxis=dict(type="category", autorange="reversed", title=dict(text="unit"), showticklabels=ids.size <= 64),
        legend=dict(orientation="v", y=1.0, yanchor="top", x=1.02, xanchor="left"))  # beside: never under the title
    where = f"layer {layer} {direction_label(direction)}"
    if style.projector:  # a slide: a one-line title and 9 lines of rows (the legend's four entries), so the
        # whole table with its token labels fits the 480 css px of a 1280x720 screen at 150% zoom
        top, bottom = 20 + 2 * font_size, tick_band_px(x, style) + 20
        return make_figure(data, layout, style, f"truth table, {where}", height=top + 9 * font_size + bottom,
                           margin_top=top, margin_bottom=bottom)
    # at most 330 px of rows: the whole table fits a 1280x720 screen under the page title
    height = int(np.clip(12 * ids.size + 3 * font_size, 8 * font_size, 330)) + 10 * font_size
    return make_figure(data, layout, style, f"truth table (low {table.low:g}, high {table.high:g}), "
                       f"{where}, sequence {b}", height=height)


def truth_table_shares(table: TruthTable, layer: int = 0, direction: int = 0, batch_index: int = 0,
                       tokens: Optional[Sequence[str]] = None, window: Window = None,
                       font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """Stacked bars: share of units in each category per token (left) and per layer/direction (right)."""
    style = resolve_style(font_size, style)
    table, font_size, layer, direction, b, steps, n_valid = _selection(table, layer, direction, batch_index,
                                                                        window, style)
    labels = token_labels(tokens, steps, n_valid)
    shares = table.shares_per_token[layer, direction, b][steps]  # [steps, K]
    n_l, n_d = table.num_layers, table.num_directions
    layer_labels = [f"L{l} {direction_label(d)}" for l in range(n_l) for d in range(n_d)]
    per_layer = table.shares_per_layer.reshape(n_l * n_d, -1)  # [L*D, K]
    layout, refs = grid(1, 2, col_widths=[0.78, 0.22], share_y=True, col_gap=0.03,
                        titles=["per token", "per layer"])  # short: a narrow column must not overlap them
    data = []
    for k, name in enumerate(table.names):
        colour = TRUTH_COLOURS[name]
        data.append(dict(type="bar", x=steps, y=shares[:, k], name=name, legendgroup=name, marker=dict(color=colour),
                         customdata=labels, xaxis=refs[0][0], yaxis=refs[0][1],
                         hovertemplate=f"token %{{customdata}} (t=%{{x}})<br>{name}: %{{y:.0%}}<extra></extra>"))
        data.append(dict(type="bar", x=layer_labels, y=per_layer[:, k], name=name, legendgroup=name,
                         marker=dict(color=colour), showlegend=False, xaxis=refs[1][0], yaxis=refs[1][1],
                         hovertemplate=f"%{{x}}<br>{name}: %{{y:.0%}}<extra></extra>"))
    layout["xaxis"].update(token_axis(labels, steps))
    layout["xaxis2"].update(type="category")
    for ya in ("yaxis", "yaxis2"):
        layout[ya].update(range=[0, 1], tickformat=".0%")
    layout["legend"] = dict(orientation="h", y=-0.22, yanchor="top", x=0)  # below: the bars keep the width
    return make_figure(data, layout, style, f"truth-table shares, layer {layer} {direction_label(direction)}, "
                       f"sequence {b}", height=30 * font_size, margin_bottom=10 + 7 * font_size, barmode="stack",
                       bargap=0.1)


def _regions(low: float, high: float, kind: str) -> list[tuple[str, float, float, float, float]]:
    """(category, x0, x1, y0, y1) rectangles on the unit square."""
    if kind == "lstm":  # x = forget gate f, y = input gate i
        return [("remember", high, 1, 0, low), ("add", high, 1, high, 1),
                ("erase", 0, low, 0, low), ("overwrite", 0, low, high, 1)]
    # GRU: x = update gate z, y = reset gate r; z > high keeps whatever r is
    return [("keep", high, 1, 0, 1), ("overwrite", 0, low, high, 1), ("reset+overwrite", 0, low, 0, low)]


Point = Union[None, float, Sequence[float], np.ndarray]


def _label_spot(x0: float, x1: float, y0: float, y1: float) -> tuple[float, float, str, str]:
    """Where a region's name goes: outside the unit square, above (top regions) or below (bottom ones) the
    region's outer corner, so no dot inside the square can cover it. -> (x, y, xanchor, yanchor)."""
    x, xanchor = (0.0, "left") if x0 == 0 else (1.0, "right")
    if y1 == 1:
        return x, 1.0 + LABEL_GAP, xanchor, "bottom"
    return x, -LABEL_GAP, xanchor, "top"


LABEL_GAP = 0.04  # space between the square and the region names around it (data units)


def _diagram(x: Point, y: Point, low: float, high: float, kind: str, style: Style) -> go.Figure:
    check_thresholds(low, high)
    font_size = style.font_size
    xname, yname = ("f", "i") if kind == "lstm" else ("z", "r")
    data = []
    shapes = [dict(type="rect", x0=0, x1=1, y0=0, y1=1, fillcolor=TRUTH_COLOURS["in between"],
                   line=dict(width=0), layer="below")]
    annotations = []
    for name, x0, x1, y0, y1 in _regions(low, high, kind):
        shapes.append(dict(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=TRUTH_COLOURS[name], opacity=0.75,
                           line=dict(width=1, color="white"), layer="below"))
        ax, ay, xanchor, yanchor = _label_spot(x0, x1, y0, y1)
        annotations.append(dict(x=ax, y=ay, xanchor=xanchor, yanchor=yanchor, text=name, showarrow=False,
                                bgcolor="white", bordercolor=TRUTH_COLOURS[name], borderwidth=3, borderpad=2,
                                font=dict(size=font_size, color=style.text_colour)))
    # "in between" (the grey middle) is named below the square, between the two bottom names
    annotations.append(dict(x=0.5, y=-LABEL_GAP, xanchor="center", yanchor="top", text="in between",
                            showarrow=False, font=dict(size=font_size, color=style.text_colour)))
    if (x is None) != (y is None):
        raise ValueError(f"give both {yname} and {xname} to place a point, or neither")
    if x is not None:
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
        ys = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"{yname} and {xname} need the same number of values, got {ys.size} and {xs.size}")
        data.append(dict(
            type="scatter", x=xs, y=ys, mode="markers", name="now", showlegend=False, cliponaxis=False,
            marker=dict(size=font_size if xs.size == 1 else max(8, font_size // 2), color="black",
                        opacity=1.0 if xs.size == 1 else 0.7, line=dict(width=2, color="white")),
            hovertemplate=f"{xname} = %{{x:.3f}}<br>{yname} = %{{y:.3f}}<extra></extra>"))
    long = {"f": "forget gate f", "i": "input gate i", "z": "update gate z", "r": "reset gate r"}
    ticks = sorted({0.0, float(low), float(high), 1.0})
    # the names sit in bands above and below the square: the axes reach past [0, 1] to hold them
    band = LABEL_GAP + 2.2 * font_size / SQUARE_PX
    layout = dict(
        xaxis=dict(range=[-0.03, 1.03], title=dict(text=long[xname]), constrain="domain", tickvals=ticks,
                   ticktext=[f"{t:g}" for t in ticks], showgrid=False, zeroline=False),
        yaxis=dict(range=[-band, 1 + band], title=dict(text=long[yname]), scaleanchor="x",
                   scaleratio=1, tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], showgrid=False,
                   zeroline=False),
        shapes=shapes, annotations=annotations)
    side = SQUARE_PX * font_size // FONT_SIZE
    return make_figure(data, layout, style, None, height=int(side * (1 + 2 * band)) + 6 * font_size,
                       width=side + 6 * font_size)


SQUARE_PX = 360  # side of the unit square at the default font size: room for the four names around it


def truth_table_diagram(i: Point = None, f: Point = None, low: float = 0.1, high: float = 0.9,
                        font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """LSTM: the unit square (x = forget gate f, y = input gate i) with the four corners labelled and the
    current (f, i) placed on it; i and f may be arrays (one point per unit) or None (no point)."""
    return _diagram(f, i, low, high, "lstm", resolve_style(font_size, style))


def gru_truth_table_diagram(r: Point = None, z: Point = None, low: float = 0.1, high: float = 0.9,
                            font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """GRU: the unit square (x = update gate z, y = reset gate r) with keep / overwrite / reset+overwrite."""
    return _diagram(z, r, low, high, "gru", resolve_style(font_size, style))

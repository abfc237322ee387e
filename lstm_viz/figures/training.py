"""Training curves from the Trainer's events (plain dicts)."""
from __future__ import annotations

from typing import Optional, Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..record.results import GRU_GATES, LSTM_GATES
from ._style import (FONT_SIZE, GATE_COLOURS, MODEL_COLOURS, TRUTH_COLOURS, Style, grid, log_axis, make_figure,
                     resolve_style)

_GATE_ORDER = {g: k for k, g in enumerate(LSTM_GATES + GRU_GATES)}


def _check_events(events: Any) -> list[Mapping]:
    if isinstance(events, Mapping) or isinstance(events, (str, bytes)):
        raise TypeError("events must be a sequence of dicts (one per logged step)")
    events = list(events)
    for k, e in enumerate(events):
        if not isinstance(e, Mapping):
            raise TypeError(f"events[{k}] must be a dict, got {type(e).__name__}")
    return events


def _series(events: Sequence[Mapping], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the events that carry a number under `key` (others are skipped)."""
    pts = [(e.get("step", k), e[key]) for k, e in enumerate(events) if e.get(key) is not None]
    if not pts:
        return np.zeros(0), np.zeros(0)
    steps, vals = zip(*pts)
    return np.asarray(steps, dtype=np.float64), np.asarray(vals, dtype=np.float64)


def _empty_note(font_size: int) -> dict:
    return dict(text="no training events yet", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                font=dict(size=font_size + 4, color="grey"))


def training_curves(events: Sequence[Mapping], font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """Loss (left) and accuracy / dev_accuracy (right, on [0, 1]) against the training step."""
    events = _check_events(events)
    style = resolve_style(font_size, style)
    font_size = style.font_size
    layout, refs = grid(1, 2, titles=["loss", "accuracy"], col_gap=0.1)
    data = []
    for key, col, colour, dash in (("loss", 0, MODEL_COLOURS[0], "solid"), ("accuracy", 1, MODEL_COLOURS[1], "solid"),
                                   ("dev_accuracy", 1, MODEL_COLOURS[2], "dash")):
        x, y = _series(events, key)
        if x.size:
            data.append(dict(type="scatter", x=x, y=y, mode="lines+markers" if x.size < 50 else "lines",
                             name=key.replace("_", " "), line=dict(color=colour, dash=dash, width=3),
                             xaxis=refs[col][0], yaxis=refs[col][1],
                             hovertemplate=f"step %{{x}}<br>{key} %{{y:.4g}}<extra></extra>"))
    if not data:
        layout["annotations"] = layout.get("annotations", []) + [_empty_note(font_size)]
    layout["yaxis"].update(rangemode="tozero")
    layout["yaxis2"].update(range=[0, 1.02], tickformat=".0%")
    for xa in ("xaxis", "xaxis2"):
        layout[xa]["title"] = dict(text="step")
    layout["legend"] = dict(orientation="h", y=-0.3)
    return make_figure(data, layout, style, None, height=24 * font_size)


def _key_label(key: Any) -> tuple[tuple, str]:
    """(sort key, label) for a (layer, direction, gate) key, e.g. "L0 fwd f"; other keys sort by name."""
    if isinstance(key, tuple) and len(key) == 3:
        layer, direction, gate = key
        return (0, int(layer), int(direction), _GATE_ORDER.get(gate, 99), str(gate)), \
            f"L{int(layer)} {('fwd', 'bwd')[int(direction)] if int(direction) in (0, 1) else int(direction)} {gate}"
    return (1, str(key)), str(key)


_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def _line_style(key: Any, k: int) -> dict:
    """Colour by gate, dash by (layer, direction), so 8+ lines stay tellable apart."""
    if isinstance(key, tuple) and len(key) == 3 and key[2] in GATE_COLOURS:
        layer, direction, gate = key
        return dict(color=GATE_COLOURS[gate], dash=_DASHES[(2 * int(layer) + int(direction)) % len(_DASHES)], width=2)
    return dict(color=MODEL_COLOURS[k % len(MODEL_COLOURS)], width=2)


def gate_grad_norm_curves(events: Sequence[Mapping], font_size: int = FONT_SIZE,
                          style: Optional[Style] = None) -> go.Figure:
    """One line per (layer, direction, gate) of the events' `gate_grad_norms`, on a log y-axis."""
    events = _check_events(events)
    style = resolve_style(font_size, style)
    font_size = style.font_size
    keys: dict[Any, tuple] = {}
    for e in events:
        norms = e.get("gate_grad_norms") or {}
        if not isinstance(norms, Mapping):
            raise TypeError(f"gate_grad_norms must be a dict (layer, direction, gate) -> float, got "
                            f"{type(norms).__name__}")
        for key in norms:
            keys.setdefault(key, _key_label(key))
    data = []
    for k, key in enumerate(sorted(keys, key=lambda q: keys[q][0])):
        pts = [(e.get("step", j), (e.get("gate_grad_norms") or {}).get(key)) for j, e in enumerate(events)]
        pts = [(s, v) for s, v in pts if v is not None]
        x = np.asarray([s for s, _ in pts], dtype=np.float64)
        y = np.asarray([v for _, v in pts], dtype=np.float64)
        label = keys[key][1]
        data.append(dict(type="scatter", x=x, y=np.where(y > 0, y, np.nan), mode="lines", name=label,
                         line=_line_style(key, k),
                         hovertemplate=f"{label}<br>step %{{x}}<br>‖grad‖ %{{y:.3g}}<extra></extra>"))
    # the legend is a grid below the plot: one row per (layer, direction), one column per gate, never a
    # scrolling list (16 entries for a 2-layer bidirectional LSTM)
    per_row = max(1, max((sum(1 for q in keys if keys[q][1].rsplit(" ", 1)[0] == keys[k][1].rsplit(" ", 1)[0])
                          for k in keys), default=1))
    rows = -(-len(keys) // per_row)
    legend_px = int(rows * 1.8 * font_size)
    height = 24 * font_size + legend_px
    bottom = 10 + 4 * font_size + legend_px  # x ticks, the axis title, then the legend rows
    plot_px = height - (20 + 3 * font_size) - bottom
    legend = dict(orientation="h", y=-3.6 * font_size / plot_px, yanchor="top", x=0,
                  entrywidth=1.0 / per_row - 0.01, entrywidthmode="fraction", traceorder="normal")
    layout = dict(yaxis=dict(**log_axis(*(t["y"] for t in data)), title=dict(text="gradient norm (log scale)")),
                  xaxis=dict(title=dict(text="step")), legend=legend)
    if not keys:
        layout["annotations"] = [_empty_note(font_size)]
    return make_figure(data, layout, style, "gradient norm per gate", height=height, margin_bottom=bottom)


def truth_shares_over_training(steps: Sequence[int], names: Sequence[str], shares: Any,
                               font_size: int = FONT_SIZE, style: Optional[Style] = None) -> go.Figure:
    """Stacked areas: the share of (token, unit) cells in each truth-table category at every recorded step.

    shares: [steps, categories], each row summing to 1 (as `training.history.truth_share_history` gives)."""
    style = resolve_style(font_size, style)
    font_size = style.font_size
    shares = np.asarray(shares, dtype=np.float64)
    steps, names = list(steps), [str(n) for n in names]
    if shares.ndim != 2 or shares.shape != (len(steps), len(names)):
        raise ValueError(f"shares must be [steps, categories] = [{len(steps)}, {len(names)}], got shape "
                         f"{list(shares.shape)}")
    unknown = [n for n in names if n not in TRUTH_COLOURS]
    if unknown:
        raise ValueError(f"unknown truth-table categories {unknown}; known: {sorted(TRUTH_COLOURS)}")
    data = [dict(type="scatter", x=steps, y=shares[:, k], name=name, mode="lines", stackgroup="shares",
                 line=dict(width=0.5, color=TRUTH_COLOURS[name]), fillcolor=TRUTH_COLOURS[name],
                 hovertemplate=f"step %{{x}}<br>{name} %{{y:.0%}}<extra></extra>")
            for k, name in enumerate(names)]
    legend_rows = -(-len(names) // 3)  # three to a row below the plot: never over the areas
    legend_px = int(legend_rows * 1.8 * font_size)
    bottom = 10 + 4 * font_size + legend_px
    plot_px = 14 * font_size
    layout = dict(xaxis=dict(title=dict(text="training step")),
                  yaxis=dict(title=dict(text="share of cells"), range=[0, 1], tickformat=".0%"),
                  legend=dict(orientation="h", y=-3.6 * font_size / plot_px, yanchor="top", x=0,
                              entrywidth=0.32, entrywidthmode="fraction", traceorder="normal"))
    if not steps:
        layout["annotations"] = [_empty_note(font_size)]
    return make_figure(data, layout, style, "shares over training",
                       height=plot_px + (20 + 3 * font_size) + bottom, margin_bottom=bottom)

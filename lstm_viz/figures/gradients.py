"""Gradient flow through time: ||dL/dh_t|| (and ||dL/dc_t||) against t on a log axis."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go

from ..analysis.trace_access import check_index, direction_label, to_numpy
from ..record.results import GradientFlow
from ._style import (
    FONT_SIZE, MODEL_COLOURS, Style, axis_names, grid, log_axis, make_figure, resolve_style, token_axis,
    token_labels,
)

ForgetProduct = Union[None, np.ndarray, Sequence[float], Mapping[str, np.ndarray]]


def _positive(y: np.ndarray) -> np.ndarray:
    """A log axis cannot show 0 (padding, or an exactly vanished gradient): those become gaps."""
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > 0, y, np.nan)


def _forget_row(fp: np.ndarray, batch_index: int, n: int) -> np.ndarray:
    fp = to_numpy(fp, np.float64)
    if fp.ndim == 2:  # [B, T] from analysis.forget_product
        fp = fp[check_index("batch_index", batch_index, fp.shape[0])]
    if fp.ndim != 1 or fp.shape[0] < n:
        raise ValueError(f"forget_product must be [T] or [B, T] with T >= {n}, got shape {fp.shape}")
    return fp[:n]


def gradient_flow_figure(flows: Mapping[str, GradientFlow], batch_index: int = 0,
                         tokens: Optional[Sequence[str]] = None, forget_product: ForgetProduct = None,
                         layer: int = 0, direction: int = 0, mode: str = "overlay",
                         font_size: int = FONT_SIZE, style: Optional[Style] = None,
                         title: Optional[str] = None) -> go.Figure:
    """One line per model of ||dL/dh_t|| (solid) and, for an LSTM, ||dL/dc_t|| (dashed), over the valid steps.

    `flows`: name -> GradientFlow (e.g. {"LSTM": ..., "GRU": ..., "RNN": ...}). `forget_product`: an array
    ([T] or [B, T], from `analysis.forget_product`) drawn with the first LSTM/GRU model, or a dict name ->
    array. mode="overlay" draws all models on one log axis, "side_by_side" one panel each (shared y).
    `title` goes before "gradient flow through time, layer ..." (e.g. "untrained LSTM vs GRU vs RNN").
    """
    if not isinstance(flows, Mapping) or not flows:
        raise ValueError("flows must be a non-empty dict of name -> GradientFlow")
    for name, flow in flows.items():
        if not isinstance(flow, GradientFlow):
            raise TypeError(f"flows[{name!r}] must be a GradientFlow, got {type(flow).__name__}")
    if mode not in ("overlay", "side_by_side"):
        raise ValueError(f"mode must be 'overlay' or 'side_by_side', got {mode!r}")
    style = resolve_style(font_size, style)
    font_size = style.font_size
    names = list(flows)
    if forget_product is not None and not isinstance(forget_product, Mapping):
        gated = [n for n in names if flows[n].kind in ("lstm", "gru")]
        forget_product = {(gated or names)[0]: forget_product}
    forget_product = dict(forget_product or {})
    for key in forget_product:
        if key not in flows:
            raise ValueError(f"forget_product names {key!r}, which is not one of the flows {names}")
    panels = len(names) if mode == "side_by_side" else 1
    layout, refs = grid(1, panels, titles=names if panels > 1 else None, share_y=True, col_gap=0.03)
    data = []
    longest_steps, longest_labels = np.arange(0), []
    for k, name in enumerate(names):
        flow = flows[name]
        dh = to_numpy(flow.dh, np.float64)  # [L, D, B, T]
        l = check_index(f"layer (flows[{name!r}])", layer, dh.shape[0])
        d = check_index(f"direction (flows[{name!r}])", direction, dh.shape[1])
        b = check_index(f"batch_index (flows[{name!r}])", batch_index, dh.shape[2])
        n = int(to_numpy(flow.mask, bool)[b].sum())
        steps = np.arange(n)
        labels = token_labels(tokens, steps, n)
        if n > longest_steps.size:
            longest_steps, longest_labels = steps, labels
        xr, yr = refs[k if panels > 1 else 0]
        colour = MODEL_COLOURS[k % len(MODEL_COLOURS)]
        series = [("‖dL/dh_t‖", dh[l, d, b, :n], "solid")]
        if flow.dc is not None:
            series.append(("‖dL/dc_t‖", to_numpy(flow.dc, np.float64)[l, d, b, :n], "dash"))
        if name in forget_product:
            series.append(("forget-gate product" if flow.kind == "lstm" else "update-gate product",
                           _forget_row(forget_product[name], b, n), "dot"))
        for label, y, dash in series:
            data.append(dict(
                type="scatter", x=steps, y=_positive(y), mode="lines+markers", name=f"{name} {label}",
                customdata=labels, xaxis=xr, yaxis=yr, connectgaps=False,
                line=dict(color=colour, dash=dash, width=3), marker=dict(size=5),
                hovertemplate=f"{name} {label}<br>token %{{customdata}} (t=%{{x}})<br>%{{y:.3g}}<extra></extra>"))
    for k in range(panels):
        xa, ya, _, _ = axis_names(k)
        layout[ya].update(log_axis(*(t["y"] for t in data)))  # one range for all panels (shared y)
        layout[xa].update(token_axis(longest_labels, longest_steps))
    layout["yaxis"]["title"] = dict(text="norm (log scale)")
    layout["legend"] = dict(orientation="h", y=-0.3)
    where = f"layer {layer} {direction_label(direction % 2)}"
    return make_figure(data, layout, style, f"{title}: gradient flow, {where}" if title
                       else f"gradient flow through time, {where}", height=28 * font_size)

"""Before/after an intervention: how much h_t changed at every step (bars), with the clamped span shaded."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ._style import FONT_SIZE, MODEL_COLOURS, Style, make_figure, resolve_style, tick_band_px, token_axis


def difference_figure(difference: Sequence[float], tokens: Sequence[str], span: Optional[tuple[int, int]] = None,
                      font_size: int = FONT_SIZE, style: Optional[Style] = None,
                      title: str = "Change of the top layer's h_t per step") -> go.Figure:
    """Bars of ||h_t(after) - h_t(before)|| at each token; `span` (start, stop) shades the intervened steps."""
    style = resolve_style(font_size, style)
    y = np.asarray(difference, dtype=np.float64)
    steps = np.arange(y.size)
    labels = [str(t) for t in tokens[: y.size]]
    if len(labels) < y.size:
        raise ValueError(f"{len(labels)} token labels for {y.size} steps; pass one label per step")
    data = [dict(type="bar", x=steps, y=y, marker=dict(color=MODEL_COLOURS[1]), customdata=labels,
                 hovertemplate="token %{customdata} (t=%{x})<br>change %{y:.3g}<extra></extra>", showlegend=False)]
    layout = dict(xaxis=dict(token_axis(labels, steps), title=dict(text="token")),
                  yaxis=dict(title=dict(text="||Δh_t||"), rangemode="tozero"), bargap=0.2)
    if span is not None:
        layout["shapes"] = [dict(type="rect", xref="x", yref="paper", x0=span[0] - 0.5, x1=span[1] - 0.5, y0=0, y1=1,
                                 fillcolor="#0072B2", opacity=0.12, line=dict(width=0), layer="below")]
    height = 10 * style.font_size + tick_band_px(labels, style)
    return make_figure(data, layout, style, title=title, height=height)

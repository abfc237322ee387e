"""Select-and-match over a corpus: one matched span in its context as a heatmap of the selected units."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.corpus_match import Match
from ..record.gate_table import SIGMOID_GATES
from ._style import (DIVERGING_SCALE, FONT_SIZE, SIGMOID_SCALE, Style, make_figure, resolve_style, symmetric_limit,
                     tick_band_px, token_axis)


def match_heatmap(match: Match, units: Sequence[int], name: str = "hidden", font_size: int = FONT_SIZE,
                  style: Optional[Style] = None, title: Optional[str] = None) -> go.Figure:
    """Selected units (rows) over the match and its context (columns); the matched span is outlined.
    Fixed colours: sigmoid gates on [0, 1], others symmetric around 0 ([-1, 1] unless the cell state is larger)."""
    style = resolve_style(font_size, style)
    z = np.asarray(match.heatmap, dtype=np.float64).T  # [units, steps]
    labels = [*match.left, *match.tokens, *match.right]
    steps = np.arange(len(labels))
    if name in SIGMOID_GATES:
        scale, lo, hi = SIGMOID_SCALE, 0.0, 1.0
    else:
        m = max(1.0, symmetric_limit(z))
        scale, lo, hi = DIVERGING_SCALE, -m, m
    rows = [f"unit {u}" for u in units]
    data = [dict(type="heatmap", z=z, x=steps, y=list(range(len(rows))), colorscale=scale, zmin=lo, zmax=hi,
                 customdata=np.array([labels] * len(rows)), colorbar=dict(title=dict(text=name)),
                 hovertemplate="token %{customdata} (t=%{x})<br>%{y}: %{z:.3f}<extra></extra>")]
    start = len(match.left)
    layout = dict(xaxis=dict(token_axis(labels, steps)),
                  yaxis=dict(tickmode="array", tickvals=list(range(len(rows))), ticktext=rows, autorange="reversed"),
                  shapes=[dict(type="rect", xref="x", yref="paper", x0=start - 0.5, x1=start + match.length - 0.5,
                               y0=0, y1=1, line=dict(color="#111111", width=3))])
    height = max(4, len(rows)) * (style.font_size + 6) + tick_band_px(labels, style) + 4 * style.font_size
    return make_figure(data, layout, style, title=title, height=height)

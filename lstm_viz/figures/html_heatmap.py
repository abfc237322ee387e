"""One gate or state as a heatmap in plain HTML (a CSS grid of coloured cells): a picture the browser draws at
once, without the 4.7 MB plotly bundle, which a fresh browser needs 2-4 s to load and run on 2 cores. The home
page shows it, so a lecturer's first screen has a trained model's gates before any chart library has loaded.
Same values, colour scales and token labels as `gate_heatmaps`; each cell's tooltip names unit, token and value.
"""
from __future__ import annotations

import hashlib
import html
import re
from typing import Optional, Sequence

import numpy as np
from plotly.colors import sample_colorscale

from ..analysis.trace_access import canonical_name, check_index, check_trace, direction_label, to_numpy, values
from ..record.results import Trace
from ._style import Style, Units, batch_row, resolve_style, slanted, token_labels, unit_ids, valid_steps, Window
from .heatmaps import LONG_NAMES, _coloraxes

BAR_STOPS = 11  # colour-bar gradient stops


def gate_heatmap_html(trace: Trace, name: str, layer: int = 0, direction: int = 0, batch_index: int = 0,
                      tokens: Optional[Sequence[str]] = None, units: Units = None, window: Window = None,
                      style: Optional[Style] = None, title: Optional[str] = None) -> str:
    """HTML of one panel: units on rows, tokens on columns (valid steps only), a colour bar on the right.

    `tokens`: labels per input position; `units`: unit ids (default all); `title`: the panel's title (default
    its long name and the layer). Every text is escaped: tokens may be typed by a user.
    """
    check_trace(trace)
    style = resolve_style(style=style)
    layer = check_index("layer", layer, trace.num_layers)
    direction = check_index("direction", direction, trace.num_directions)
    name = canonical_name(trace, name)
    b, mask_row = batch_row(trace, batch_index)
    steps = valid_steps(mask_row, window)
    labels = token_labels(tokens, steps, int(mask_row.sum()))
    v = to_numpy(values(trace, name)[layer, direction, b])  # [T, U]
    ids = unit_ids(units, v.shape[-1])
    z = v[np.ix_(steps, ids)].T  # [units, steps]
    settings = _coloraxes(trace, [name], layer, direction)[name][1]
    lo, hi = float(settings["cmin"]), float(settings["cmax"])
    scale = settings["colorscale"]
    fractions = np.clip((np.nan_to_num(z, nan=lo) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    colours = np.asarray(sample_colorscale(scale, fractions.ravel().tolist()), dtype=object).reshape(z.shape)
    colours[~np.isfinite(z)] = style.grid_colour  # NaN / inf (non-finite weights): a grey cell, "nan" in its tooltip
    heading = title or f"{LONG_NAMES[name]} · layer {layer} {direction_label(direction)}"
    return _html(z, colours, labels, ids, name, heading, settings["title"], (lo, hi), scale, style)


def _html(z: np.ndarray, colours: np.ndarray, labels: list[str], ids: np.ndarray, name: str, heading: str,
          bar_title: str, limits: tuple[float, float], scale: list, style: Style) -> str:
    fs, esc = style.font_size, html.escape
    n_units, n_steps = z.shape
    plot_px = 8 * fs if style.projector else int(np.clip(12 * n_units + 3 * fs, 8 * fs, 360))
    row_px = plot_px / max(n_units, 1)
    every = max(1, int(np.ceil(1.2 * fs / row_px)))  # unit labels that fit beside their rows
    upright = not slanted(labels)
    cells = []
    for r, unit in enumerate(ids):
        shown = str(int(unit)) if r % every == 0 else ""
        cells.append(f'<div class="lvh-u">{shown}</div>')  # row-major: the grid flows
        for c in range(n_steps):
            tip = esc(f"unit {int(unit)} · {labels[c]} · {name} = {z[r, c]:.3f}", quote=True)
            cells.append(f'<div class="lvh-c" style="background:{colours[r, c]}" '
                         f'title="{tip}" data-v="{z[r, c]:.6g}"></div>')
    token_class = "lvh-t" if upright else "lvh-t lvh-t-up"
    cells.append('<div class="lvh-t">unit</div>')  # under the unit ids: the rows' axis title
    cells.extend(f'<div class="{token_class}">{esc(t) or "∅"}</div>' for t in labels)
    lo, hi = limits
    stops = ", ".join(f"{c} {100 * k / (BAR_STOPS - 1):.0f}%" for k, c in
                      enumerate(sample_colorscale(scale, np.linspace(0, 1, BAR_STOPS).tolist())))
    ticks = "".join(f"<span>{_tick(t)}</span>" for t in (hi, (lo + hi) / 2, lo))
    rules = (f".lvh{{font-size:{fs}px;color:{style.text_colour};line-height:1.2;display:flex;gap:{fs}px;"
           f"align-items:flex-start;max-width:100%;margin-bottom:{fs}px}}"
           f".lvh-main{{flex:1;min-width:0}}"
           f".lvh-title{{font-size:{style.title_size}px;text-align:center;margin-bottom:{fs // 3}px}}"
           f".lvh-grid{{display:grid;grid-template-columns:auto repeat({n_steps},minmax(0,1fr));"
           f"grid-template-rows:repeat({n_units},{row_px:.2f}px) auto}}"
           f".lvh-u{{text-align:right;padding-right:{fs // 2}px;white-space:nowrap;"
           f"line-height:{row_px:.2f}px;overflow:visible}}"
           f".lvh-c{{min-width:0}}"
           f".lvh-t{{text-align:center;padding-top:{fs // 3}px;overflow:hidden;text-overflow:ellipsis;"
           f"white-space:nowrap}}"
           f".lvh-t-up{{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;max-height:{8 * fs}px}}"
           f".lvh-bar{{display:flex;gap:{fs // 3}px}}"
           f".lvh-ramp{{width:{fs}px;height:{plot_px:.0f}px;background:linear-gradient(to top,{stops})}}"
           # tick labels centred on the ramp's ends and middle: the column reaches half a line past each end
           f".lvh-ticks{{display:flex;flex-direction:column;justify-content:space-between;"
           f"height:calc({plot_px:.0f}px + 1.2em);margin-top:-0.6em}}")
    # the rules depend on the style and the grid's size: scoped by a hash of them, so two pictures on one page
    # (a notebook, a later page) keep their own
    scope = "lvh-" + hashlib.sha1(rules.encode()).hexdigest()[:8]
    css = re.sub(r"(^|})\.lvh", rf"\1.{scope} .lvh", rules).replace(f".{scope} .lvh{{", f".lvh.{scope}{{", 1)
    return (f'<style>{css}</style><div class="lvh {scope}" data-gate="{esc(name, quote=True)}">'
            f'<div class="lvh-main"><div class="lvh-title">{esc(heading)}</div>'
            f'<div class="lvh-grid">{"".join(cells)}</div></div>'
            f'<div><div class="lvh-title">{esc(bar_title)}</div><div class="lvh-bar"><div class="lvh-ramp"></div>'
            f'<div class="lvh-ticks">{ticks}</div></div></div></div>')


def _tick(value: float) -> str:
    return f"{value:.2g}".replace("-", "−")

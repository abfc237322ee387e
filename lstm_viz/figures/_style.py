"""Fixed colour scales, fonts and axis helpers shared by every figure.

Every text of a figure (title, subplot titles, ticks, axis titles, legend, colour bars) gets its size and
colour here, from one `Style`, so a figure reads the same inside Streamlit (whose plotly theme would
otherwise draw 12 px grey ticks) and in an exported HTML file. `PROJECTOR` is the style for a lecture hall.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from ..analysis.trace_access import check_index, to_numpy
from ..analysis.paging import TokenWindow, UnitSelection
from ..record.results import Trace

FONT_SIZE = 16  # readable from the back of a lecture hall
TEXT_COLOUR = "#111111"  # near-black on white: about 18:1 contrast (Streamlit's grey ticks are about 3.7:1)
# colour scales as the [position, colour] lists plotly.js draws (figures are built unvalidated: see make_figure)
SIGMOID_SCALE = get_colorscale("Viridis")  # sequential, for gates in [0, 1]
DIVERGING_SCALE = get_colorscale("RdBu_r")  # blue < 0 < red, for tanh values and the cell state
# Okabe-Ito colours (colour-blind safe); "in between" is a light grey so the saturated corners stand out.
TRUTH_COLOURS = {
    "remember": "#0072B2", "add": "#009E73", "erase": "#E69F00", "overwrite": "#D55E00",
    "keep": "#0072B2", "reset+overwrite": "#CC79A7", "in between": "#DDDDDD",
}
MODEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
GATE_COLOURS = {"i": "#009E73", "f": "#0072B2", "g": "#E69F00", "o": "#CC79A7", "r": "#CC79A7", "z": "#0072B2",
                "n": "#E69F00", "cell": "#D55E00", "hidden": "#000000"}
MAX_TICK_LABELS = 60  # beyond this many tokens, label every k-th one
FACET_TICK_LABELS = 20  # the same for a small panel of a grid (a third of the width)
FACET_ROOM_CHARS = 18  # characters of upright labels a small panel holds at 150% zoom; more are slanted

Window = Union[None, TokenWindow, slice, tuple[int, int]]
Units = Union[None, UnitSelection, Sequence[int], np.ndarray]


def log_axis(*arrays: Any) -> dict:
    """A log y-axis labelled at powers of ten only when the data span a decade or more: plotly's default
    minor labels (2, 5 between decades) overlap at projector font sizes."""
    values = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    pos = np.concatenate(values) if values else np.zeros(0)
    pos = pos[np.isfinite(pos) & (pos > 0)]
    axis = dict(type="log", exponentformat="power")
    if pos.size and np.log10(pos.max() / pos.min()) >= 1.0:
        axis["dtick"] = 1
    return axis


def check_font_size(font_size: Any) -> int:
    if isinstance(font_size, bool) or not isinstance(font_size, (int, float)) or not 4 <= font_size <= 72:
        raise ValueError(f"font_size must be a number between 4 and 72, got {font_size!r}")
    return int(font_size)


@dataclass(frozen=True)
class Style:
    """How a figure's text looks. Builders take `font_size` (the common case) or a whole `style`."""

    font_size: int = FONT_SIZE  # px of every text: ticks, axis titles, legend, hover, annotations
    title_size: int = FONT_SIZE + 2  # px of the figure title and the subplot titles
    text_colour: str = TEXT_COLOUR  # every text, dark on the white background
    grid_colour: str = "#D9D9D9"  # light grid lines: visible, never competing with the data
    title_chars: int = 34  # a longer title wraps (at ", " or spaces): a narrow column must not cut it
    projector: bool = False  # a lecture hall: pages show one panel at a time and fewer controls

    def __post_init__(self) -> None:
        for name in ("font_size", "title_size"):
            check_font_size(getattr(self, name))

    @property
    def tick_size(self) -> int:
        return self.font_size


DEFAULT_STYLE = Style()
# 1280x720 at 150% zoom leaves about 850 css px: 20 px text is then 30 device px, readable from the back row
PROJECTOR = Style(font_size=20, title_size=22, title_chars=30, projector=True)


def resolve_style(font_size: Any = FONT_SIZE, style: Optional[Style] = None) -> Style:
    """The style a builder draws with: `style` when given, else the default style at `font_size`."""
    if style is not None:
        if not isinstance(style, Style):
            raise TypeError(f"style must be a lstm_viz.figures.Style, got {type(style).__name__}")
        return style
    size = check_font_size(font_size)
    return DEFAULT_STYLE if size == FONT_SIZE else Style(font_size=size, title_size=size + 2)


def wrap_title(text: str, width: int) -> str:
    """A long title on several lines (`<br>`), broken after commas first, so no line is cut off."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    parts, depth, start = [], 0, 0  # split at ", " outside parentheses only: "(low 0.1, high 0.9)" stays whole
    for k, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(", ", k):
            parts.append(text[start:k])
            start = k + 2
    parts.append(text[start:])
    for part in parts:
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += ", " + part
        else:
            if lines:
                lines[-1] += ","
            lines.extend(_wrap_keeping_groups(part, width))
    return "<br>".join(lines)


def _wrap_keeping_groups(part: str, width: int) -> list[str]:
    """Wrap at spaces, a "(...)" group never split: "gate saturation (low 0.1, high 0.9)" at 30 characters
    -> ["gate saturation", "(low 0.1, high 0.9)"]."""
    chunks, depth, start = [], 0, 0
    for k, ch in enumerate(part):
        depth += (ch == "(") - (ch == ")")
        if ch == " " and depth == 0:
            chunks.append(part[start:k])
            start = k + 1
    chunks.append(part[start:])
    lines: list[str] = []
    for chunk in filter(None, chunks):
        if lines and len(lines[-1]) + 1 + len(chunk) <= width:
            lines[-1] += " " + chunk
        else:
            lines.append(chunk)
    return lines or [part]


def _style_axes(layout: dict, style: Style) -> None:
    """Tick and axis-title fonts on every axis and colour bar, annotation fonts where none is set."""
    tick = dict(size=style.tick_size, color=style.text_colour)
    for key, axis in list(layout.items()):
        if not isinstance(axis, dict):
            continue
        if key.startswith(("xaxis", "yaxis")):
            axis.setdefault("tickfont", tick)
            axis.setdefault("gridcolor", style.grid_colour)
            axis.setdefault("linecolor", style.text_colour)
            axis.setdefault("automargin", True)
            if isinstance(axis.get("title"), dict):
                axis["title"].setdefault("font", dict(size=style.font_size, color=style.text_colour))
        elif key.startswith("coloraxis") and "colorbar" in axis:
            bar = axis["colorbar"]
            bar.setdefault("tickfont", tick)
            if isinstance(bar.get("title"), dict):
                bar["title"].setdefault("font", dict(size=style.font_size, color=style.text_colour))
    for note in layout.get("annotations", ()):
        font = note.setdefault("font", {})
        font.setdefault("size", style.title_size if note.get("yanchor") == "bottom" and note.get("xref") == "paper"
                        else style.font_size)
        font.setdefault("color", style.text_colour)


def make_figure(data: list[dict], layout: dict, style: Style, title: Optional[str] = None,
                height: Optional[int] = None, margin_bottom: Optional[int] = None, margin_top: Optional[int] = None,
                **extra: Any) -> go.Figure:
    """Build the figure from plain dicts in one constructor call, unvalidated: plotly re-validates (and copies)
    the whole figure on every update_* call, and validating even once took 2-3x the time of building it
    (every chart of every student's rerun). The builders write plotly's full property names (no "font_size"
    shorthands, colour scales as lists); tests/test_figures_unvalidated.py checks that plotly's validator
    leaves every figure unchanged."""
    fs = style.font_size
    layout = dict(layout)
    title = wrap_title(title, style.title_chars) if title else None
    title_lines = title.count("<br>") + 1 if title else 0
    if title and any(isinstance(a, dict) and a.get("yanchor") == "bottom" and a.get("y", 0) >= 0.99
                     for a in layout.get("annotations", ())):
        title_lines += 1  # subplot titles above the top row take a line of the top margin
    layout.update(font=dict(size=fs, color=style.text_colour), hoverlabel=dict(font=dict(size=fs)),
                  paper_bgcolor="white", plot_bgcolor="white",
                  margin=dict(l=10 + 4 * fs, r=10 + 2 * fs, t=margin_top or 20 + 3 * fs + int(1.3 * style.title_size) *
                              max(title_lines - 1, 0), b=margin_bottom or 10 + 3 * fs), **extra)
    legend = layout.setdefault("legend", {})  # Streamlit's theme would draw an unset legend font small
    if isinstance(legend, dict):
        legend.setdefault("font", dict(size=fs, color=style.text_colour))
    _style_axes(layout, style)
    if title:
        layout["title"] = dict(text=title, font=dict(size=style.title_size, color=style.text_colour))
    if height:
        layout["height"] = int(height) + int(1.3 * style.title_size) * max(title_lines - 1, 0)
    return go.Figure(data=data, layout=layout, _validate=False)


def axis_names(k: int) -> tuple[str, str, str, str]:
    """(xaxis layout key, yaxis layout key, x ref, y ref) of the k-th (0-based) subplot."""
    sfx = "" if k == 0 else str(k + 1)
    return f"xaxis{sfx}", f"yaxis{sfx}", f"x{sfx}", f"y{sfx}"


def grid(rows: int, cols: int, titles: Optional[Sequence[str]] = None, share_x: bool = False,
         share_y: bool = False, col_widths: Optional[Sequence[float]] = None, row_gap: float = 0.06,
         col_gap: float = 0.05) -> tuple[dict, list[tuple[str, str]]]:
    """Layout entries for a rows x cols grid of subplots (row-major, top row first) and the (x, y) refs of
    each cell; a light replacement for make_subplots, which costs tens of ms per call."""
    widths = np.asarray(col_widths if col_widths is not None else [1.0] * cols, dtype=np.float64)
    widths = widths / widths.sum() * (1.0 - col_gap * (cols - 1))
    row_h = (1.0 - row_gap * (rows - 1)) / rows
    layout: dict = {}
    refs, annotations = [], []
    for r in range(rows):
        y1 = 1.0 - r * (row_h + row_gap)
        y0 = max(y1 - row_h, 0.0)
        x0 = 0.0
        for c in range(cols):
            k = r * cols + c
            x1 = x0 + widths[c]
            xa, ya, xr, yr = axis_names(k)
            layout[xa] = dict(domain=[x0, min(x1, 1.0)], anchor=yr)
            layout[ya] = dict(domain=[y0, y1], anchor=xr)
            if share_x and k > 0:
                layout[xa]["matches"] = "x"
            if share_x and r < rows - 1:
                layout[xa]["showticklabels"] = False
            if share_y and k > 0:
                layout[ya]["matches"] = "y"
            if share_y and c > 0:
                layout[ya]["showticklabels"] = False
            if titles is not None and k < len(titles) and titles[k]:
                annotations.append(dict(text=titles[k], x=(x0 + x1) / 2, y=y1, xref="paper", yref="paper",
                                        xanchor="center", yanchor="bottom", showarrow=False))
            refs.append((xr, yr))
            x0 = x1 + col_gap
    if annotations:
        layout["annotations"] = annotations
    return layout, refs


def valid_steps(mask_row: np.ndarray, window: Window) -> np.ndarray:
    """Time positions to draw: the valid steps of one sequence, cut to the window."""
    length = int(np.asarray(mask_row, bool).sum())
    if window is None:
        start, stop = 0, length
    elif isinstance(window, TokenWindow):
        start, stop = window.start, window.stop
    elif isinstance(window, slice):
        start, stop, _ = window.indices(length)
    else:
        try:
            start, stop = (int(v) for v in window)
        except (TypeError, ValueError):
            raise TypeError("window must be None, a TokenWindow, a slice or a (start, stop) pair") from None
    start, stop = max(start, 0), min(stop, length)
    return np.arange(start, max(start, stop))


def token_labels(tokens: Optional[Sequence[str]], steps: np.ndarray, length: int) -> list[str]:
    """Labels for the drawn positions; tokens may be the valid tokens or the padded row."""
    if tokens is None:
        return [str(t) for t in steps]
    tokens = list(tokens)
    if len(tokens) < length:
        raise ValueError(f"tokens has {len(tokens)} labels but the sequence has {length} valid steps; "
                         "pass one label per input position")
    return [str(tokens[t]) for t in steps]


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Token labels made unique with invisible zero-width spaces, so a category axis keeps a repeated
    token ("the" ... "the") as two columns and the hover still reads the plain token."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        label = label if label else "\u2205"  # an empty token would be dropped as a missing category
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label + "\u200b" * n)
    return out


def slanted(labels: Sequence[str], room_chars: Optional[int] = None) -> bool:
    """Whether token labels are drawn at -45 degrees: more than 8 of them, or (in a small panel with room
    for about `room_chars` characters) more characters than fit side by side."""
    labels = [str(t) for t in labels]
    if len(labels) > 8:
        return True
    return room_chars is not None and sum(len(t) + 2 for t in labels) > room_chars


def tick_band_px(labels: Sequence[str], style: Style, room_chars: Optional[int] = None) -> int:
    """Pixels the token tick labels take under an axis: one line each when upright, else slanted at
    -45 degrees (about 0.6 em per character, times sin 45)."""
    labels = [str(t) for t in labels]
    lines = max((t.count("<br>") + 1 for t in labels), default=1)
    if not slanted(labels, room_chars):
        return int(1.4 * style.tick_size * lines + 0.6 * style.tick_size) + 6
    longest = max((max(len(part) for part in t.split("<br>")) for t in labels), default=1)
    return int(0.45 * style.tick_size * min(longest, 24) + 1.4 * style.tick_size * lines) + 6


def token_axis(labels: Sequence[str], steps: np.ndarray, max_labels: int = MAX_TICK_LABELS) -> dict:
    """x-axis at integer positions with token tick labels (tokens may repeat, so not a category axis)."""
    every = max(1, -(-len(steps) // max_labels))
    return dict(tickmode="array", tickvals=steps[::every].tolist(), ticktext=list(labels[::every]),
                tickangle=-45 if len(steps) > 8 else 0, showgrid=False, zeroline=False)


def unit_ids(units: Units, n_units: int) -> np.ndarray:
    if units is None:
        return np.arange(n_units, dtype=np.int64)
    if isinstance(units, UnitSelection):
        units = units.indices
    ids = np.array([check_index("unit", u, n_units) for u in np.asarray(units).ravel()], dtype=np.int64)
    if ids.size == 0:
        raise ValueError("units is empty; pass None for all units or at least one unit id")
    return ids


def symmetric_limit(*arrays: np.ndarray) -> float:
    """m = max |value| over the arrays (1 when all are zero or empty), for a [-m, m] colour range."""
    m = max((float(np.nanmax(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    return m if np.isfinite(m) and m > 0 else 1.0


def batch_row(trace: Trace, batch_index: int) -> tuple[int, np.ndarray]:
    b = check_index("batch_index", batch_index, trace.batch_size)
    return b, to_numpy(trace.mask[b], bool)

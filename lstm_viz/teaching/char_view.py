"""Karpathy's picture as HTML: code in a monospace block, each character's background coloured by one
unit's activation on a fixed diverging scale (blue -1, white 0, red +1). Pure functions, no Streamlit."""
from __future__ import annotations

import html
from typing import Sequence

import numpy as np

from ..files.inputs import InputError

MAX_CODE_CHARS = 4_000  # longer code is cut (with a note): one page of colour is what a class can read
_NEG = np.array([33, 102, 172])  # RdBu's blue at -1
_MID = np.array([255, 255, 255])  # white at 0
_POS = np.array([178, 24, 43])  # RdBu's red at +1


def check_code(text: str, max_chars: int = MAX_CODE_CHARS) -> tuple[str, str]:
    """(code to show, note) for text a user typed or pasted; raises InputError with what to do."""
    if text is None or not str(text).strip():
        raise InputError("the code box is empty: type or paste a few lines of Python")
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\n\t") or ch == "\ufffd")
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise InputError("this looks like binary data, not source code (it has NUL or many control "
                         "characters): paste Python source text")
    note = ""
    if len(text) > max_chars:
        note = (f"The code has {len(text):,} characters; only the first {max_chars:,} are shown "
                f"(a longer text would not fit on a screen).")
        text = text[:max_chars]
    return text, note


def diverging_colour(value: float) -> str:
    """A CSS colour for a value on the fixed scale [-1, 1] (values beyond are clipped)."""
    v = float(np.clip(value, -1.0, 1.0)) if np.isfinite(value) else 0.0
    end = _POS if v >= 0 else _NEG
    rgb = np.rint(_MID + (end - _MID) * abs(v)).astype(int)
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def _luminance(rgb: np.ndarray) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 per channel)."""
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def _contrasts(value: float) -> tuple[float, float]:
    """(contrast of white text, contrast of black text) on the background of `value` (WCAG ratios)."""
    v = float(np.clip(value, -1.0, 1.0)) if np.isfinite(value) else 0.0
    lum = _luminance(_MID + ((_POS if v >= 0 else _NEG) - _MID) * abs(v))
    return 1.05 / (lum + 0.05), (lum + 0.05) / 0.05


def _text_colour(value: float) -> str:
    """Black or white text, whichever contrasts more with the background of `value` (>= 4.5:1 on the
    whole scale: the two are equal near luminance 0.18, where each has about 4.6:1)."""
    white, black = _contrasts(value)
    return "#ffffff" if white > black else "#000000"


def contrast_ratio(value: float) -> float:
    """The WCAG contrast of the text colour chosen for `value` against its background."""
    return max(_contrasts(value))


def colored_code_html(text: str, values: Sequence[float], *, font_px: int = 16, max_height_px: int = 460,
                      caption: str = "", wrap: bool = False) -> str:
    """HTML for `text` with the background of character k coloured by values[k] on [-1, 1].

    values: one number per character (NaN shows as white). A newline gets a coloured space before the
    line break, so the value on the end of each line is visible too. Hovering a character shows its value.
    wrap: long lines wrap inside the block (projector, zoom) instead of scrolling sideways out of view.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(text):
        raise ValueError(f"need one value per character: {len(text)} characters, {len(values)} values")
    spans = []
    for ch, v in zip(text, values):
        shown = " " if ch == "\n" else ("    " if ch == "\t" else html.escape(ch))
        label = "newline" if ch == "\n" else "tab" if ch == "\t" else html.escape(repr(ch)[1:-1], quote=True)
        spans.append(f'<span style="background:{diverging_colour(v)};color:{_text_colour(v)}" '
                     f'title="{label}: {v:+.2f}">{shown}</span>' + ("\n" if ch == "\n" else ""))
    caption_html = (f'<div style="font:{max(14, font_px - 2)}px sans-serif;color:#222;margin:0 0 4px 0">'
                    f'{html.escape(caption)}</div>') if caption else ""
    return (f'{caption_html}<pre style="font-family:\'DejaVu Sans Mono\',Menlo,Consolas,monospace;'
            f'font-size:{font_px}px;line-height:1.35;color:#111;background:#fff;border:1px solid #bbb;'
            f'padding:8px;margin:0;overflow:auto;max-height:min({max_height_px}px, 70vh);'
            + ("white-space:pre-wrap;overflow-wrap:anywhere" if wrap else "white-space:pre") + '">'
            + "".join(spans) + "</pre>")


def table_html(rows: Sequence[dict], font_px: int = 16) -> str:
    """A plain HTML table (one row per dict, columns from the first row's keys) in `font_px` text, dark on
    white: readable from the back of a room, unlike a data grid's fixed small font. Floats show as +0.00."""
    if not rows:
        return ""
    cell = f"padding:4px 12px;border-bottom:1px solid #bbb;font-size:{font_px}px;color:#111"

    def shown(value) -> str:
        if isinstance(value, float):
            return f"{value:+.2f}"
        return "-" if value is None else html.escape(str(value))

    columns = list(rows[0])
    head = "".join(f'<th style="{cell};text-align:left">{html.escape(str(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(
        f'<td style="{cell};text-align:{"right" if isinstance(row.get(c), float) else "left"}">{shown(row.get(c))}</td>'
        for c in columns) + "</tr>" for row in rows)
    return (f'<table style="border-collapse:collapse;font-family:sans-serif;background:#fff;max-width:100%">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def scale_legend_html(label: str = "unit activation", font_px: int = 16) -> str:
    """A fixed -1 .. 0 .. +1 colour bar with its labels."""
    stops = ", ".join(f"{diverging_colour(v)} {int((v + 1) * 50)}%" for v in (-1.0, -0.5, 0.0, 0.5, 1.0))
    return (f'<div style="display:flex;align-items:center;gap:10px;font:{font_px}px sans-serif;color:#111">'
            f'<span>{html.escape(label)}:</span><span>−1</span>'
            f'<span style="display:inline-block;width:220px;height:18px;border:1px solid #888;'
            f'background:linear-gradient(to right, {stops})"></span><span>+1</span></div>')

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


def _text_colour(value: float) -> str:
    """Dark text on light backgrounds, white on the saturated ends (contrast >= 4.5:1)."""
    return "#ffffff" if np.isfinite(value) and abs(value) > 0.6 else "#111111"


def colored_code_html(text: str, values: Sequence[float], *, font_px: int = 16, max_height_px: int = 460,
                      caption: str = "") -> str:
    """HTML for `text` with the background of character k coloured by values[k] on [-1, 1].

    values: one number per character (NaN shows as white). A newline gets a coloured space before the
    line break, so the value on the end of each line is visible too. Hovering a character shows its value.
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
            f'padding:8px;margin:0;overflow:auto;max-height:{max_height_px}px;white-space:pre">'
            + "".join(spans) + "</pre>")


def scale_legend_html(label: str = "unit activation", font_px: int = 16) -> str:
    """A fixed -1 .. 0 .. +1 colour bar with its labels."""
    stops = ", ".join(f"{diverging_colour(v)} {int((v + 1) * 50)}%" for v in (-1.0, -0.5, 0.0, 0.5, 1.0))
    return (f'<div style="display:flex;align-items:center;gap:10px;font:{font_px}px sans-serif;color:#111">'
            f'<span>{html.escape(label)}:</span><span>−1</span>'
            f'<span style="display:inline-block;width:220px;height:18px;border:1px solid #888;'
            f'background:linear-gradient(to right, {stops})"></span><span>+1</span></div>')

"""Figures taken away: a standalone HTML page (plotly.js inlined, opens offline) or PNG bytes (kaleido)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

from .out_paths import ExportUnavailable, check_writable_folder, target_in, write_atomic


def figure_to_html(fig: Any, title: Optional[str] = None, caption: Optional[str] = None) -> str:
    """A standalone HTML page of a plotly figure with plotly.js inlined, so it opens offline; `caption`
    (plain text, escaped here) is a paragraph under the figure, e.g. which words the model read as <unk>."""
    html = fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False})
    if title:
        html = html.replace("<head>", f"<head><title>{_html_escape(title)}</title>", 1)
    if caption:
        paragraph = (f'<p class="lstm-viz-caption" style="font: 18px sans-serif; color: #222; margin: 12px">'
                     f"{_html_escape(caption)}</p>")
        head, tail = html.rsplit("</body>", 1)
        html = head + paragraph + "</body>" + tail
    return html


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_figure_html(fig: Any, folder: Union[str, os.PathLike], name: str) -> Path:
    """`figure_to_html` into `folder/<sanitised name>.html`."""
    check_writable_folder(folder, "The figure folder")
    path = target_in(folder, name, (".html",))
    return write_atomic(path, figure_to_html(fig))


def figure_to_png(fig: Any, width: Optional[int] = None, height: Optional[int] = None, scale: float = 2.0) -> bytes:
    """PNG bytes through kaleido, which drives a Chromium; `ExportUnavailable` when either is missing."""
    import importlib.util

    if importlib.util.find_spec("kaleido") is None:
        raise ExportUnavailable("PNG export needs the kaleido package: pip install kaleido (it also needs a "
                                "Chromium, e.g. apt-get install chromium). HTML export works without them.")
    try:
        return fig.to_image(format="png", width=width, height=height, scale=scale)
    except (RuntimeError, OSError) as err:  # plotly turns kaleido's ChromeNotFoundError into RuntimeError
        raise ExportUnavailable(f"PNG export failed: kaleido could not run a browser ({_first_line(err)}). Install "
                                "Chromium (apt-get install chromium) or run plotly_get_chrome.") from None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]

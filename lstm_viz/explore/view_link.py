"""A view's state in a link (pure: no Streamlit).

`parse_view_link` turns a page's URL query parameters (untrusted: anyone can type a URL) into a checked
`ViewLink` plus one message per parameter it had to ignore; `view_link_params` turns a ViewLink back into
parameters. Only types and ranges that hold for every model are checked here (a layer is a small whole
number); whether layer 3 exists is up to the page that knows its model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Mapping, Optional, Sequence, Union

from ..record.gate_table import GRU_GATES, LSTM_GATES

MAX_INPUT_CHARS = 2_000  # a sentence in a link; longer text belongs in a file (Inspect a model)
MAX_NAME_CHARS = 120  # a model name
MAX_UNITS = 64  # unit ids in a link (the most a heatmap shows)
MAX_INDEX = 1_000_000  # layer, unit and token ids above this are not real
GATE_NAMES = tuple(dict.fromkeys(LSTM_GATES + GRU_GATES + ("cell", "hidden")))
STREAMLIT_PARAMS = ("embed", "embed_options")  # Streamlit's own, left alone
_TRUE, _FALSE = ("1", "true", "on", "yes"), ("0", "false", "off", "no")
# "run:Tutorial tagger (2)", "file:my_model.pt", "builtin:pos-tagger": a source, then a plain name
_MODEL = re.compile(r"^[a-z]{2,12}:[\w .,()+\-]{1,%d}$" % MAX_NAME_CHARS)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class ViewLink:
    """What a link says about a view; None means the link does not say (the page's own default)."""

    projector: Optional[bool] = None  # the big-screen mode
    model: Optional[str] = None  # the model picker's key, e.g. "run:Tutorial tagger"
    input: Optional[str] = None  # the typed sentence
    layer: Optional[int] = None
    direction: Optional[int] = None  # 0 forward, 1 backward
    units: Optional[tuple[int, ...]] = None  # unit ids shown / followed
    gate: Optional[str] = None  # a gate or state name ("i", "f", ..., "cell", "hidden")
    token: Optional[int] = None  # 0-based position in the input


KNOWN_PARAMS = tuple(f.name for f in fields(ViewLink))


def _one(value: Union[str, Sequence[str]]) -> str:
    if isinstance(value, str):
        return value
    values = list(value)
    return str(values[-1]) if values else ""


def _index(name: str, text: str, top: int) -> int:
    if not re.fullmatch(r"\s*\d{1,7}\s*", text) or int(text) > top:
        raise ValueError(f"URL parameter '{name}' must be a whole number from 0 to {top}")
    return int(text)


def _parse_one(name: str, text: str):
    if name == "projector":
        low = text.strip().lower()
        if low not in _TRUE + _FALSE:
            raise ValueError("URL parameter 'projector' must be 1 or 0")
        return low in _TRUE
    if name == "model":
        if ".." in text or not _MODEL.match(text):
            raise ValueError(f"URL parameter 'model' must look like run:NAME or file:NAME (letters, digits, spaces "
                             f"and . , ( ) + - _ only, at most {MAX_NAME_CHARS} characters, no '..')")
        return text
    if name == "input":
        if len(text) > MAX_INPUT_CHARS:
            raise ValueError(f"URL parameter 'input' is {len(text):,} characters long; a link holds at most "
                             f"{MAX_INPUT_CHARS:,} (type longer text on the page instead)")
        if _CONTROL.search(text):
            raise ValueError("URL parameter 'input' contains control characters (binary data?); type a sentence")
        return text
    if name == "layer":
        return _index(name, text, 63)
    if name == "direction":
        return _index(name, text, 1)
    if name in ("token",):
        return _index(name, text, MAX_INDEX)
    if name == "units":
        parts = [p for p in text.split(",") if p.strip()]
        if not parts or len(parts) > MAX_UNITS:
            raise ValueError(f"URL parameter 'units' must list 1 to {MAX_UNITS} unit ids separated by commas")
        return tuple(dict.fromkeys(_index("units", p, MAX_INDEX) for p in parts))
    if name == "gate":
        if text not in GATE_NAMES:
            raise ValueError(f"URL parameter 'gate' must be one of {', '.join(GATE_NAMES)}")
        return text
    raise AssertionError(name)


def parse_view_link(params: Mapping[str, Union[str, Sequence[str]]]) -> tuple[ViewLink, tuple[str, ...]]:
    """(the checked view, one message per ignored parameter). Never raises on any mapping of strings:
    a bad value is dropped with a message naming the parameter and what it must be."""
    values: dict[str, object] = {}
    problems: list[str] = []
    unknown = []
    for raw_name, raw in params.items():
        name = str(raw_name)
        if name in STREAMLIT_PARAMS:
            continue
        if name not in KNOWN_PARAMS:
            unknown.append(name[:40] + ("..." if len(name) > 40 else ""))
            continue
        try:
            values[name] = _parse_one(name, _one(raw))
        except ValueError as err:
            problems.append(f"{err}: ignored.")
    if unknown:
        problems.append(f"Unknown URL parameter{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(repr(u) for u in unknown[:5])}{' ...' if len(unknown) > 5 else ''} ignored; "
                        f"a link may set {', '.join(KNOWN_PARAMS)}.")
    return ViewLink(**values), tuple(problems)


def view_link_params(link: ViewLink) -> dict[str, str]:
    """The query parameters of a view (only what it sets), the inverse of `parse_view_link`."""
    out = {}
    for f in fields(ViewLink):
        value = getattr(link, f.name)
        if value is None:
            continue
        if isinstance(value, bool):
            out[f.name] = "1" if value else "0"
        elif isinstance(value, tuple):
            out[f.name] = ",".join(str(v) for v in value)
        else:
            out[f.name] = str(value)
    return out

"""What the Character cells page shows, computed without Streamlit: the finding table of the two character
models, the units to offer per property, the texts to colour and the coloured HTML of one unit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np

from ..training.checkpoint import Bundle
from .char_cells import STATE_TITLES, record_states, stored_findings, top_units, unit_values
from .char_data import PROPERTIES, PROPERTY_TITLES, read_source, stdlib_folder
from .char_view import check_code, colored_code_html

ARCH_TITLES = {"lstm": "LSTM", "gru": "GRU"}
SAMPLE_CHARS = 1_500  # characters of a held-out file shown at once (about 40 lines)
DEFAULT_CODE = '''def greet(name, times=2):
    """Say hello a few times."""
    # build the greeting once
    words = "hello, " + name
    for _ in range(times):
        if name:
            print(words)  # a comment
    return len(words)
'''


@dataclass(frozen=True)
class UnitChoice:
    state: str  # "c" or "h"
    unit: int
    r: float  # correlation with the property on the held-out files

    def label(self, arch: str) -> str:
        return f"{ARCH_TITLES.get(arch, arch)} {self.state}[{self.unit}]  r = {self.r:+.2f}"


def finding_rows(bundles: Mapping[str, Bundle]) -> list[dict]:
    """One row per property: the best unit and its r for each model (bundles by arch), for a table."""
    rows = []
    found = {arch: {f.prop: f for f in stored_findings(dict(b.extra))} for arch, b in bundles.items()}
    for prop in PROPERTIES:
        row = {"property": PROPERTY_TITLES[prop]}
        for arch in bundles:
            f = found[arch].get(prop)
            title = ARCH_TITLES.get(arch, arch)
            row[f"{title} unit"] = f"{f.state}[{f.unit}]" if f else "-"
            row[f"{title} r"] = round(f.r, 3) if f else None
        rows.append(row)
    return rows


def model_summary(arch: str, bundle: Bundle) -> str:
    m = bundle.metrics
    return (f"{ARCH_TITLES.get(arch, arch)}: {bundle.model_config.hidden_size} units, next-character accuracy "
            f"{m.get('test_accuracy', float('nan')):.1%} ({m.get('bits_per_char', float('nan')):.2f} bits/char) "
            f"on {m.get('measured_on', 'held-out files')}; trained in "
            f"{m.get('cpu_seconds', float('nan')) / 60:.1f} CPU-minutes")


def unit_choices(bundle: Bundle, prop: str, k: int = 6) -> list[UnitChoice]:
    """k (state, unit) pairs for `prop`: the build's finding first (the unit picked on validation files), then
    the others that correlate best on the held-out files, over every state of the model."""
    extra = dict(bundle.extra)
    states = sorted((extra.get("correlations") or {}).keys())
    pairs = sorted((UnitChoice(s, u, r) for s in states for u, r in top_units(extra, s, prop, k)),
                   key=lambda c: -abs(c.r))
    found = [UnitChoice(f.state, f.unit, f.r) for f in stored_findings(extra) if f.prop == prop]
    return (found + [c for c in pairs if (c.state, c.unit) not in {(f.state, f.unit) for f in found}])[:k]


def held_out_sample(name: str, held_out_files: list, limit: int = SAMPLE_CHARS) -> str:
    """The start of one held-out standard-library file (only names the model lists: no other path is read)."""
    if name not in held_out_files:
        raise ValueError(f"{name!r} is not one of the model's held-out files")
    path = stdlib_folder() / name
    if not path.is_file():
        raise ValueError(f"{name} is not in this Python's standard library ({stdlib_folder()})")
    return read_source(path)[:limit]


def prepare_code(text: Optional[str]) -> tuple[str, str]:
    """The user's code, checked and cut (see char_view.check_code): (text, note); raises InputError."""
    return check_code(text or "")


def unit_html(states: Mapping[str, np.ndarray], text: str, choice: UnitChoice, arch: str, font_px: int,
              wrap: bool = False) -> str:
    """The coloured text of one unit, with a caption naming the unit, the state and its r (wrap: long
    lines wrap instead of scrolling sideways)."""
    values = unit_values(dict(states), choice.state, choice.unit)
    caption = (f"{ARCH_TITLES.get(arch, arch)} unit {choice.unit}, {STATE_TITLES[choice.state]}; "
               f"r = {choice.r:+.2f} on held-out files")
    return colored_code_html(text, values, font_px=font_px, caption=caption, wrap=wrap)


__all__ = ["ARCH_TITLES", "DEFAULT_CODE", "UnitChoice", "finding_rows", "held_out_sample", "model_summary",
           "prepare_code", "record_states", "unit_choices", "unit_html"]

"""Which units of a character model track the structure of code: record c_t and h_t over held-out text,
correlate every unit with every structural property, and keep the best unit per property."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..record.tracing import trace
from ..training.models import Tagger
from ..data.batching import BatchEncoder
from .char_data import PROPERTIES, char_properties
from .char_model import encode_text


@dataclass(frozen=True)
class CellFinding:
    """The unit whose activation correlates best (largest |r|) with one property over the held-out text."""

    prop: str  # one of char_data.PROPERTIES
    state: str  # "c" (LSTM cell state c_t) or "h" (hidden state h_t)
    unit: int
    r: float  # Pearson correlation over every held-out character
    r_validation: float = float("nan")  # its r on the validation slice (training files) that picked it

    def to_dict(self) -> dict:
        return {"property": self.prop, "state": self.state, "unit": self.unit, "r": self.r,
                "r_validation": self.r_validation}


def record_states(model: Tagger, encoder: BatchEncoder, text: str) -> dict[str, np.ndarray]:
    """Activations after reading each character of `text` from a zero state: {"h": [T, H], "c": [T, H]}
    ("c" only for an LSTM)."""
    ids = encode_text(encoder, text)[None]  # [1, T]
    with torch.no_grad():
        x = model.embed_inputs(ids)  # [1, T, E]
    rec = trace(model.rnn, x)
    states = {"h": rec.hidden[0, 0, 0].contiguous().numpy()}  # [T, H]
    if rec.cell is not None:
        states["c"] = rec.cell[0, 0, 0].contiguous().numpy()
    return states


def _pearson(acts: np.ndarray, prop: np.ndarray) -> np.ndarray:
    """acts [N, H], prop [N] -> r per unit [H] (0 where a unit or the property is constant)."""
    a = acts - acts.mean(0)
    p = prop - prop.mean()
    denom = np.sqrt((a * a).sum(0) * (p * p).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * p[:, None]).sum(0) / denom
    return np.nan_to_num(r)


Labeller = Callable[[str], dict]  # source -> {property: values [len(source)]}


def structure_labels(source: str) -> dict[str, np.ndarray]:
    return char_properties(source).as_dict()


def correlations(model: Tagger, encoder: BatchEncoder, sources: Sequence[str], limit: int,
                 labeller: Labeller = structure_labels) -> dict:
    """r of every unit with every property over the first `limit` characters of each source (properties are
    computed on the whole source, so a cut never splits a token's meaning). The cell state is correlated as it
    is (unbounded c_t can count, e.g. the position in a line; tanh would squash the count), though the page
    colours by tanh(c_t). `labeller` gives the properties (default: char_data.PROPERTIES).
    -> {(state, prop): r [H]}"""
    acts: dict[str, list] = {}
    props: dict[str, list] = {}
    for source in sources:
        text = source[:limit]
        for name, values in labeller(source).items():
            props.setdefault(name, []).append(values[: len(text)])
        for state, values in record_states(model, encoder, text).items():
            acts.setdefault(state, []).append(values)
    acts_all = {s: np.concatenate(v).astype(np.float64) for s, v in acts.items()}
    props_all = {p: np.concatenate(v).astype(np.float64) for p, v in props.items()}
    return {(s, p): _pearson(acts_all[s], props_all[p]) for s in acts_all for p in props_all}


def best_units(table: dict, report: Optional[dict] = None,
               props: Sequence[str] = PROPERTIES) -> list[CellFinding]:
    """Per property, the (state, unit) with the largest |r| in `table`; with `report` (another text's
    table, e.g. held-out files), r is that unit's r in `report` and r_validation its r in `table`."""
    findings = []
    for prop in props:
        state, unit, r = max(((s, int(np.abs(r).argmax()), float(r[np.abs(r).argmax()]))
                              for (s, p), r in table.items() if p == prop), key=lambda t: abs(t[2]))
        if report is None:
            findings.append(CellFinding(prop, state, unit, r))
        else:
            findings.append(CellFinding(prop, state, unit, float(report[(state, prop)][unit]), r))
    return findings


STATE_TITLES = {"c": "cell state c_t (shown as tanh(c_t))", "h": "hidden state h_t"}


def unit_values(states: dict[str, np.ndarray], state: str, unit: int) -> np.ndarray:
    """One unit's activation per character on the fixed scale [-1, 1]: h_t as it is, c_t through tanh
    (c_t is unbounded; tanh(c_t) is what the output gate sees). -> [T]"""
    if state not in states:
        raise ValueError(f"this model has no state {state!r}; it has {sorted(states)}")
    values = states[state]
    if not 0 <= unit < values.shape[1]:
        raise ValueError(f"unit must be in 0..{values.shape[1] - 1}, got {unit}")
    column = values[:, unit]
    return np.tanh(column) if state == "c" else column


def stored_findings(extra: dict) -> list[CellFinding]:
    """The best units a build measured (stored in the checkpoint's extra), in PROPERTIES order."""
    rows = {row["property"]: row for row in extra.get("findings") or []}
    return [CellFinding(p, str(rows[p]["state"]), int(rows[p]["unit"]), float(rows[p]["r"]),
                        float(rows[p].get("r_validation", float("nan")))) for p in PROPERTIES if p in rows]


def top_units(extra: dict, state: str, prop: str, k: int = 5) -> list[tuple[int, float]]:
    """The k units with the largest |r| for one property and state, from the stored correlations."""
    r = np.asarray(((extra.get("correlations") or {}).get(state) or {}).get(prop) or [], dtype=float)
    order = np.argsort(-np.abs(r))[:k]
    return [(int(u), float(r[u])) for u in order]

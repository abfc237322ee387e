"""Page-side data preparation for the analysis pages (pure: no Streamlit), so pages stay thin and the
benchmark times exactly what a page rerun does.

- `build_gates_view`: the Gates page's figures for one (sentence, layer, direction, page, ranking, unit).
- `choose_units`: at most N units, in index order or best first by a ranking.
- `sample_traces`: a dataset sample of a subject, traced in batches (Saturation page).
- `truncate_probe`, `input_key`, `token_labels`, `correlation_tags`, `ordered_thresholds`:
  small helpers the pages share.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from .. import figures
from ..analysis import TokenWindow, rank_units, select_units, window_tokens
from ..analysis.trace_access import available_names
from .subject import AnalysisInput
from ..record.results import Trace

ORDERS = ("index", "variance", "saturation", "correlation")  # how the Gates page orders its units
MAX_TOKENS = 100  # tokens per page of a heatmap: beyond this the columns are too thin to read
MAX_UNITS = 64  # rows per heatmap panel: beyond this the rows are too thin to read (and the JSON grows)
FIRST_TOKENS = 30  # columns of the home page's picture: a first screen, not a table


# -- small helpers ---------------------------------------------------------------------------------------------
def input_key(probe: AnalysisInput) -> tuple:
    """A hashable key of a probe's content (tokens, shape and the exact input values)."""
    x = probe.inputs.detach().cpu().contiguous()
    digest = hashlib.sha1(x.numpy().tobytes()).hexdigest()
    return probe.tokens, tuple(x.shape), str(x.dtype), digest, tuple(probe.lengths.tolist())


COMPACT_AFTER = 30  # more tokens than this on one page: "dog/NN" on one line (two-line labels would overlap)


def token_labels(tokens: Sequence[str], predicted: Optional[Sequence] = None,
                 gold: Optional[Sequence] = None, compact: bool = False) -> list[str]:
    """Axis labels: the token, with its predicted tag underneath ("dog<br>NN", or "dog/NN" when compact); a
    prediction that differs from a known gold tag is marked ("dog<br>VB ✗ NN")."""
    tokens = [str(t) for t in tokens]
    if predicted is None:
        return tokens
    predicted = list(predicted)
    if len(predicted) < len(tokens):
        raise ValueError(f"{len(predicted)} predicted tags for {len(tokens)} tokens; need one per token")
    gold = None if gold is None or len(gold) < len(tokens) else list(gold)
    out = []
    for k, tok in enumerate(tokens):
        tag = str(predicted[k])
        if gold is not None and str(gold[k]) != tag:
            tag = f"{tag} ✗ {gold[k]}"
        out.append(f"{tok}{'/' if compact else '<br>'}{tag}")
    return out


def correlation_tags(tags: Optional[Sequence], label_names: Sequence) -> list:
    """The labels (in label_names order) that occur at some but not all tokens of `tags`: only those give
    a defined correlation with a unit."""
    if tags is None:
        return []
    tags = [str(t) for t in tags]
    present = set(tags)
    if len(present) < 2:
        return []
    return [name for name in label_names if str(name) in present]


def ordered_thresholds(low: float, high: float, gap: float = 0.01) -> tuple[float, float, str]:
    """(low, high, note) with 0 <= low < high <= 1: equal values are pulled `gap` apart (a range slider can
    put both handles on one value) and the note says so; out-of-range values are clipped."""
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"thresholds must be finite numbers, got low={low}, high={high}")
    low, high = sorted((min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)))
    if high - low >= gap:
        return low, high, ""
    if high + gap <= 1.0:
        high = round(low + gap, 6)
    else:
        low = round(high - gap, 6)
    return low, high, f"low must be below high: using low {low:g} and high {high:g}"


def truncate_probe(probe: AnalysisInput, max_tokens: int, batch_first: bool) -> AnalysisInput:
    """The probe cut to its first `max_tokens` steps (tokens, inputs, lengths, per-token targets), with a note;
    the probe itself when it is short enough."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    steps = probe.inputs.shape[1] if batch_first else probe.inputs.shape[0]
    if steps <= max_tokens:
        return probe
    inputs = probe.inputs[:, :max_tokens] if batch_first else probe.inputs[:max_tokens]
    targets = probe.targets
    if targets is not None:  # per-token tags are cut too; a sentence label stays
        targets = tuple(t[:max_tokens] if isinstance(t, (tuple, list)) else t for t in targets)
    note = f"Only the first {max_tokens} of {steps} tokens are used here."
    return AnalysisInput(tokens=tuple(t[:max_tokens] for t in probe.tokens), inputs=inputs,
                 lengths=probe.lengths.clamp(max=max_tokens), targets=targets,
                 note=" ".join(n for n in (probe.note, note) if n), unknown=probe.unknown)


# -- units -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class UnitChoice:
    ids: np.ndarray  # int64 unit ids to draw, in drawing order
    scores: Optional[np.ndarray]  # float64 score of each id (None in index order)
    by: str  # the order actually used ("index" after a fallback)
    of: str  # gate or state the ranking was computed on
    total: int  # units available
    note: str  # what was cut or why the ranking fell back; "" when nothing to say


def choose_units(trace: Trace, layer: int = 0, direction: int = 0, by: str = "index", of: str = "hidden",
                 max_units: int = MAX_UNITS, tags: Any = None, tag: Any = None, low: float = 0.1,
                 high: float = 0.9) -> UnitChoice:
    """At most `max_units` units of one layer/direction.

    by="index": every unit in index order, or (when there are more) the top `max_units` by variance of `of`,
    still in index order. Otherwise the top `max_units` by `rank_units(trace, of, ..., by=by)`, best first
    (ranked over every token of sequence 0; by="correlation" correlates with `tag` in `tags`, the labels of
    sequence 0, one per token). A ranking that cannot be computed (a tag that never occurs,
    saturation of an unbounded state) raises ValueError.
    """
    if by not in ORDERS:
        raise ValueError(f"by must be one of {ORDERS}, got {by!r}")
    if by == "index":
        sel = select_units(trace, of, layer, direction, max_units=max_units, by="variance", order="index",
                           batch_index=0)
        note = f"{sel.note} (shown in unit order)" if sel.note else ""
        return UnitChoice(sel.indices, None, "index", of, sel.total, note)
    indicator = None
    if by == "correlation":
        indicator = _tag_indicator(trace, tags, tag)
    ranking = rank_units(trace, of, layer, direction, by=by, tags=indicator, batch_index=0, low=low, high=high)
    k = min(int(max_units), ranking.indices.size)
    what = f"correlation with {tag}" if by == "correlation" else by
    note = "" if k == ranking.indices.size else f"showing the top {k} of {ranking.indices.size} units by {what}"
    return UnitChoice(ranking.indices[:k], ranking.scores[:k], by, ranking.name, int(ranking.indices.size), note)


def _tag_indicator(trace: Trace, tags: Optional[Sequence], tag: Any) -> np.ndarray:
    """bool [B, T]: where sequence 0 has `tag` (other sequences are not ranked on)."""
    if tags is None or tag is None:
        raise ValueError("ordering by correlation needs the tags of the input and one tag to correlate with")
    n = int(trace.lengths[0])
    tags = list(tags)
    if len(tags) < n:
        raise ValueError(f"{len(tags)} tags for {n} tokens; need one tag per token")
    ind = np.zeros(tuple(trace.mask.shape), dtype=bool)
    ind[0, :n] = [str(t) == str(tag) for t in tags[:n]]
    hits = int(ind.sum())
    if hits in (0, n):
        raise ValueError(f"tag {tag!r} {'never occurs' if hits == 0 else 'is at every token'} in this input, so "
                         "its correlation is undefined; pick a tag that occurs at some but not all tokens")
    return ind


# -- the Gates page ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GatesView:
    window: TokenWindow
    units: UnitChoice
    unit: int  # the unit whose line is drawn
    heatmaps: go.Figure
    line: go.Figure
    notes: tuple[str, ...]  # paging / unit selection / fallback notes, in order


def build_gates_view(trace: Trace, tokens: Sequence[str], predicted: Optional[Sequence] = None,
                     gold: Optional[Sequence] = None, layer: int = 0, direction: int = 0, page: int = 0,
                     by: str = "index", of: str = "hidden", tags: Any = None, tag: Any = None,
                     unit: Optional[int] = None, max_tokens: int = MAX_TOKENS, max_units: int = MAX_UNITS,
                     names: Optional[Sequence[str]] = None, font_size: int = figures.FONT_SIZE,
                     style: Optional[figures.Style] = None) -> GatesView:
    """Everything the Gates page draws for sequence 0 of `trace`.

    `tokens`: one per valid step; `predicted` / `gold`: tags per token shown under the heatmap columns
    (see `token_labels`); `tags` / `tag`: what by="correlation" correlates with; `names`: gates / states
    to draw (default all; the unit line always shows all of them); `style`: figures.Style (projector mode).
    A ranking that cannot be computed falls back to index order with a note; an out-of-range page is clamped;
    a `unit` that is not drawn becomes the first drawn unit.
    """
    notes = []
    n_tokens = int(trace.lengths[0])
    window = window_tokens(n_tokens, max_tokens, page)
    try:
        units = choose_units(trace, layer, direction, by, of, max_units, tags, tag)
    except ValueError as err:
        notes.append(f"Could not order the units by {by}: {err}. Showing them by unit index.")
        units = choose_units(trace, layer, direction, "index", of, max_units)
    if window.note:
        notes.append(f"Long input: {window.note}.")
    if units.note:
        notes.append(f"Many units: {units.note}.")
    ids = units.ids.tolist()
    unit = ids[0] if unit not in ids else int(unit)
    labels = token_labels(tokens, predicted, gold, compact=window.stop - window.start > COMPACT_AFTER)
    heatmaps = figures.gate_heatmaps(trace, layer, direction, 0, tokens=labels, units=units.ids, gates=names,
                                     window=window, font_size=font_size, style=style)
    line = figures.unit_line(trace, unit, layer, direction, 0, tokens=tokens, window=window, font_size=font_size,
                             style=style)
    return GatesView(window, units, unit, heatmaps, line, tuple(notes))


def first_picture(trace: Trace, tokens: Sequence[str], name: str, max_units: int,
                  style: Optional[figures.Style] = None) -> tuple[str, int]:
    """The home page's picture of sequence 0: one gate of layer 0 as an HTML heatmap (drawn without the chart
    library), its `max_units` units that vary most, its first FIRST_TOKENS tokens. Returns (html, units shown)."""
    units = choose_units(trace, 0, 0, "variance", name, max_units)
    window = window_tokens(int(trace.lengths[0]), FIRST_TOKENS, 0)
    return figures.gate_heatmap_html(trace, name, tokens=tokens, units=units.ids, window=window,
                                     style=style), len(units.ids)


def rank_targets(trace: Trace) -> tuple[str, ...]:
    """Gates and states a ranking can use, hidden first (it is what the next layer and the head read)."""
    names = available_names(trace)
    return ("hidden", *[n for n in names if n != "hidden"])


# -- dataset samples -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Sample:
    traces: list  # Trace per batch
    n_sequences: int
    n_tokens: int
    source: str  # e.g. "120 dev sentences" / "20 prepared inputs"


def sample_traces(subject: Any, n: int = 100, batch_size: int = 32, seed: int = 0) -> Sample:
    """Trace up to `n` dataset sequences of a subject.

    A subject with `examples(split, n, seed)` and `probe(token_lists)` (a ModelSubject) is traced in batches
    of `batch_size` sequences of similar length (dev split, else train); any other subject traces its
    `preset_inputs(n)` one by one. Raises ValueError when the subject has no data at all.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    examples = subject.examples("dev", n, seed=seed) if hasattr(subject, "examples") else []
    traces = []
    if examples and hasattr(subject, "probe"):
        token_lists = sorted((tuple(ex.tokens) for ex in examples), key=len)  # similar lengths: little padding
        for k in range(0, len(token_lists), batch_size):
            traces.append(subject.trace(subject.probe(token_lists[k:k + batch_size])))
        split = "dev" if getattr(subject, "corpus", None) is not None and subject.corpus.split("dev") else "train"
        source = f"{len(token_lists)} {split} sentences"
        n_seq = len(token_lists)
    else:
        probes = list(subject.preset_inputs(n).values())[:n]
        if not probes:
            raise ValueError("this model has no dataset and no prepared inputs to sample; add inputs on "
                             "Inspect a model")
        traces = [subject.trace(p) for p in probes]
        n_seq = sum(int(p.lengths.numel()) for p in probes)
        source = f"{n_seq} prepared inputs"
    n_tokens = int(sum(int(t.mask.sum()) for t in traces))
    return Sample(traces, n_seq, n_tokens, source)


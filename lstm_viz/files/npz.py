"""A recording as a NumPy `.npz` file and back. Nothing pickles: written and read with `allow_pickle=False`
(strings are fixed-width unicode arrays). Reading checks the file's size and decompressed size against the
budget first, and a malformed file raises `ExportError` naming the file and the entry.

`.npz` layout (`trace_to_npz`); shapes as in `Trace`, L layers, D directions, B batch, T time:
    gate_<name>   float [L, D, B, T, H]  one per gate, e.g. gate_i, gate_f, gate_g, gate_o (LSTM), gate_r...
    hidden        float [L, D, B, T, U]  h_t (U = proj_size when set)
    cell          float [L, D, B, T, H]  c_t, LSTM only
    output        float                  exactly the module's output (batch_first layout when it was set)
    h_n, c_n      float [L*D, B, U|H]    final states (c_n LSTM only)
    mask          bool  [B, T]           False on padding
    lengths       int64 [B]
    tokens        str   [B, T]           when given: as typed; "" on padding (the same as tokens_typed)
    tokens_typed  str   [B, T]           when given: as typed
    tokens_read   str   [B, T]           when given: as the model read them ("<unk>" where it read <unk>);
                                         the typed tokens when no reading was given
    meta_json     str   []               JSON: format, version, kind, gate_names, nonlinearity, batch_first,
                                         meta, analysis keys
    <analysis>    any   (as given)       one per flattened entry of `analysis` (names listed in meta_json),
                                         e.g. truth_table_codes, saturation_left_f
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Optional, Union

import numpy as np
import torch

from ..record.results import GATES_BY_KIND, Trace
from .budgets import Budget, BudgetError, resolve
from .out_paths import ExportError, write_atomic
from .safe_load import ModelFileError, check_zip_expansion, describe_source, read_bytes_limited

NPZ_FORMAT = "lstm-viz-trace"
NPZ_VERSION = 1
MAX_NPZ_BYTES = 500 * 2**20  # reading back a recording: far above what the app records
Tokens = Union[Sequence[str], Sequence[Sequence[str]]]


def _tokens_per_sequence(tokens: Optional[Tokens], trace: Trace) -> Optional[list[list[str]]]:
    """Normalise to one list per sequence; a flat list is the single sequence of a batch of one."""
    if tokens is None:
        return None
    if isinstance(tokens, str):
        raise TypeError("tokens must be a list of strings (one per step), not one string.")
    seqs = list(tokens)
    if seqs and all(isinstance(t, str) for t in seqs):
        seqs = [seqs]
    if len(seqs) != trace.batch_size:
        raise ExportError(f"tokens has {len(seqs)} sequences but the trace has a batch of {trace.batch_size}.")
    out = []
    for b, seq in enumerate(seqs):
        seq = [str(t) for t in seq]
        n = int(trace.lengths[b])
        if len(seq) not in (n, trace.steps):
            raise ExportError(f"sequence {b} has {len(seq)} tokens but {n} valid steps: give one token per step.")
        out.append(seq[:n])
    return out


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _analysis_arrays(analysis: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten analysis results into named arrays: {name: ndarray}, nested names joined with "_".

    Accepts a mapping or a dataclass (e.g. `{"truth_table": TruthTable, "saturation": Saturation}` gives
    truth_table_codes, truth_table_names, saturation_left_i, ...); values may be tensors, arrays, numbers,
    strings, sequences of those, nested mappings/dataclasses, or sequences of dataclasses (one array per
    field, e.g. saturation_always_saturated_unit). None is skipped.
    """
    if _is_record(analysis):
        analysis = {f.name: getattr(analysis, f.name) for f in dataclasses.fields(analysis)}
    if not isinstance(analysis, Mapping):
        raise TypeError(f"analysis must be a mapping or a dataclass of arrays, got {type(analysis).__name__}.")
    out: dict[str, np.ndarray] = {}
    for key, value in analysis.items():
        name = prefix + re.sub(r"[^\w.\-]+", "_", str(key))
        if value is None:
            continue
        if isinstance(value, Mapping) or _is_record(value):
            out.update(_analysis_arrays(value, name + "_"))
            continue
        if isinstance(value, (list, tuple)) and value and all(_is_record(v) for v in value):
            columns = [f.name for f in dataclasses.fields(value[0])]
            out.update(_analysis_arrays({c: [getattr(v, c) for v in value] for c in columns}, name + "_"))
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        array = np.asarray(value)
        if array.dtype == object:
            raise ExportError(f"analysis entry {name!r} is not a plain numeric or string array; it cannot be saved "
                              "without pickling.")
        out[name] = array
    return out


def _token_grid(seqs: list[list[str]], trace: Trace) -> np.ndarray:
    """[B, T] fixed-width unicode, "" on padding."""
    grid = [seq + [""] * (trace.steps - len(seq)) for seq in seqs]
    return np.array(grid, dtype=str).reshape(trace.batch_size, trace.steps)


def read_and_typed(tokens: Optional[Tokens], tokens_read: Optional[Tokens], trace: Trace
                   ) -> tuple[Optional[list[list[str]]], Optional[list[list[str]]]]:
    """(as typed, as read) per sequence, valid steps only; the reading defaults to the typed tokens."""
    typed = _tokens_per_sequence(tokens, trace)
    if tokens_read is None:
        return typed, typed
    if typed is None:
        raise ExportError("tokens_read needs the typed tokens too: pass tokens as well.")
    return typed, _tokens_per_sequence(tokens_read, trace)


def _npz_arrays(trace: Trace, tokens: Optional[Tokens], analysis: Any,
                tokens_read: Optional[Tokens] = None) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name in trace.gate_names:
        arrays[f"gate_{name}"] = trace.gates[name].detach().cpu().numpy()
    arrays["hidden"] = trace.hidden.detach().cpu().numpy()
    arrays["output"] = trace.output.detach().cpu().numpy()
    arrays["h_n"] = trace.h_n.detach().cpu().numpy()
    if trace.cell is not None:
        arrays["cell"] = trace.cell.detach().cpu().numpy()
    if trace.c_n is not None:
        arrays["c_n"] = trace.c_n.detach().cpu().numpy()
    arrays["mask"] = trace.mask.detach().cpu().numpy().astype(bool)
    arrays["lengths"] = trace.lengths.detach().cpu().numpy().astype(np.int64)
    typed, read = read_and_typed(tokens, tokens_read, trace)
    if typed is not None:
        arrays["tokens"] = arrays["tokens_typed"] = _token_grid(typed, trace)
        arrays["tokens_read"] = _token_grid(read, trace)
    extra = _analysis_arrays(analysis) if analysis is not None else {}
    clash = sorted(set(extra) & (set(arrays) | {"meta_json"}))
    if clash:
        raise ExportError(f"analysis names {clash} clash with the recording's own arrays; rename them.")
    arrays.update(extra)
    meta = {"format": NPZ_FORMAT, "version": NPZ_VERSION, "kind": trace.kind, "gate_names": list(trace.gate_names),
            "nonlinearity": trace.nonlinearity, "batch_first": bool(trace.batch_first),
            "meta": json.loads(json.dumps(trace.meta, default=str)), "analysis_keys": list(extra)}
    arrays["meta_json"] = np.array(json.dumps(meta))
    return arrays


def trace_to_npz(trace: Trace, path_or_buffer: Union[str, os.PathLike, BinaryIO], tokens: Optional[Tokens] = None,
                 analysis: Any = None, tokens_read: Optional[Tokens] = None) -> None:
    """Save a recording (and optional tokens and analysis arrays) as a compressed `.npz`; layout above.

    path_or_buffer: a file path (written as given, no suffix added) or a writable binary buffer.
    tokens: one token per step, `list[str]` for a batch of one or one list per sequence, as typed.
    analysis: a mapping (or dataclass) of arrays or analysis results, flattened by `_analysis_arrays`.
    tokens_read: the same tokens as the model read them (e.g. "<unk>" for a word outside its vocabulary).
    """
    arrays = _npz_arrays(trace, tokens, analysis, tokens_read)
    if isinstance(path_or_buffer, (str, os.PathLike)):
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        write_atomic(path_or_buffer, buf.getvalue())  # an interrupted write leaves the previous file intact
    else:
        np.savez_compressed(path_or_buffer, **arrays)


def npz_bytes(trace: Trace, tokens: Optional[Tokens] = None, analysis: Any = None,
              tokens_read: Optional[Tokens] = None) -> bytes:
    """`trace_to_npz` into memory, e.g. for a download button."""
    buf = io.BytesIO()
    trace_to_npz(trace, buf, tokens=tokens, analysis=analysis, tokens_read=tokens_read)
    return buf.getvalue()


@dataclass
class NpzRecording:
    """What `load_npz_recording` read back."""

    trace: Trace
    tokens: Optional[list[list[str]]]  # per sequence, valid steps only, as typed
    analysis: dict[str, np.ndarray]
    tokens_read: Optional[list[list[str]]] = None  # as the model read them (files before tokens_read: as typed)


def load_npz_recording(path_or_bytes: Union[str, os.PathLike, bytes, BinaryIO],
                       max_bytes: int = MAX_NPZ_BYTES, budget: Optional[Budget] = None) -> NpzRecording:
    """Read a file written by `trace_to_npz` (np.load with allow_pickle=False).

    Raises ExportError naming the file and the entry for anything malformed (no raw KeyError/JSONDecodeError),
    and for a file over `max_bytes` or the budget's decompressed size.
    """
    budget = resolve(budget)
    name = describe_source(path_or_bytes, "the recording")
    try:
        data = read_bytes_limited(path_or_bytes, min(max_bytes, budget.limit("file_bytes")),
                                  "The recording file", budget)
        check_zip_expansion(data, f"The recording {name}", budget)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ModelFileError, BudgetError) as err:
        raise ExportError(str(err)) from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError, KeyError, TypeError) as err:
        raise ExportError(f"Not an lstm-viz .npz recording: {name} ({type(err).__name__}: "
                          f"{_first_sentence(err)}).") from None
    if not isinstance(arrays, dict) or "meta_json" not in arrays:
        raise ExportError(f"Not an lstm-viz .npz recording: {name} has no 'meta_json' entry. "
                          f"Found: {', '.join(sorted(arrays)[:10]) if isinstance(arrays, dict) else 'one array'}.")
    meta = _read_meta(arrays["meta_json"], name)
    kind, gate_names = meta["kind"], tuple(meta["gate_names"])
    if kind not in GATES_BY_KIND or gate_names != GATES_BY_KIND[kind]:
        raise ExportError(f"{name}: meta_json has kind {kind!r} with gates {gate_names}, which do not match.")
    needed = ["hidden", "output", "h_n", "mask", "lengths", *(f"gate_{g}" for g in gate_names)]
    needed += ["cell", "c_n"] if kind == "lstm" else []
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise ExportError(f"{name}: the recording lacks the entries {', '.join(missing)}.")
    for key in needed:
        if not (np.issubdtype(arrays[key].dtype, np.number) or arrays[key].dtype == np.bool_):
            raise ExportError(f"{name}: entry {key!r} has dtype {arrays[key].dtype}; expected numbers.")
    try:
        t = {k: torch.from_numpy(np.ascontiguousarray(arrays[k])) for k in needed}
        trace = Trace(kind=kind, gate_names=gate_names, output=t["output"], h_n=t["h_n"], c_n=t.get("c_n"),
                      gates={g: t[f"gate_{g}"] for g in gate_names}, hidden=t["hidden"], cell=t.get("cell"),
                      mask=t["mask"].to(torch.bool), lengths=t["lengths"].to(torch.int64),
                      nonlinearity=meta["nonlinearity"], batch_first=bool(meta["batch_first"]), meta=meta["meta"])
        _check_shapes(trace, name)
        tokens = tokens_read = None
        if "tokens" in arrays:
            tokens = [[str(w) for w in row[: int(n)]] for row, n in zip(arrays["tokens"], arrays["lengths"])]
            tokens_read = tokens
        if "tokens_read" in arrays:
            tokens_read = [[str(w) for w in row[: int(n)]] for row, n in zip(arrays["tokens_read"], arrays["lengths"])]
    except ExportError:
        raise
    except (ValueError, TypeError, RuntimeError, IndexError) as err:
        raise ExportError(f"{name}: the arrays do not form a recording ({type(err).__name__}: "
                          f"{str(err)[:200]}).") from None
    analysis = {k: arrays[k] for k in meta.get("analysis_keys", []) if isinstance(k, str) and k in arrays}
    return NpzRecording(trace=trace, tokens=tokens, analysis=analysis, tokens_read=tokens_read)


def _first_sentence(err: BaseException) -> str:
    """numpy's refusal of pickled arrays goes on to suggest allow_pickle=True, which must not be done here."""
    return str(err).split(". ")[0].rstrip(".")[:200]


_META_FIELDS = {"kind": str, "gate_names": list, "nonlinearity": str, "batch_first": bool, "meta": dict}


def _read_meta(entry: np.ndarray, name: str) -> dict:
    """meta_json parsed and its fields checked; ExportError naming the field otherwise."""
    try:
        meta = json.loads(str(entry))
    except (ValueError, TypeError) as err:
        raise ExportError(f"{name}: entry 'meta_json' is not JSON ({err}).") from None
    if not isinstance(meta, dict):
        raise ExportError(f"{name}: entry 'meta_json' must be a JSON object, got {type(meta).__name__}.")
    if meta.get("format") != NPZ_FORMAT:
        raise ExportError(f"{name} is not an lstm-viz recording: meta_json field 'format' is "
                          f"{meta.get('format')!r}, expected {NPZ_FORMAT!r}.")
    version = meta.get("version", 0)
    if not isinstance(version, int) or version > NPZ_VERSION:
        raise ExportError(f"{name} was written by a newer lstm-viz (meta_json field 'version' {version!r}); "
                          f"this one reads version {NPZ_VERSION}.")
    for key, kind in _META_FIELDS.items():
        if not isinstance(meta.get(key), kind):
            raise ExportError(f"{name}: meta_json field {key!r} is missing or not a {kind.__name__}.")
    return meta


def _check_shapes(trace: Trace, name: str) -> None:
    """Every array agrees on layers, directions, batch and steps with `hidden` [L, D, B, T, U]."""
    if trace.hidden.dim() != 5:
        raise ExportError(f"{name}: entry 'hidden' has shape {tuple(trace.hidden.shape)}; expected [L, D, B, T, U].")
    lead = tuple(trace.hidden.shape[:4])
    for key, value in [*((f"gate_{g}", v) for g, v in trace.gates.items()), ("cell", trace.cell)]:
        if value is not None and (value.dim() != 5 or tuple(value.shape[:4]) != lead):
            raise ExportError(f"{name}: entry {key!r} has shape {tuple(value.shape)}; expected {lead} + [units].")
    batch, steps = lead[2], lead[3]
    if tuple(trace.mask.shape) != (batch, steps) or tuple(trace.lengths.shape) != (batch,):
        raise ExportError(f"{name}: entries 'mask' {tuple(trace.mask.shape)} and 'lengths' "
                          f"{tuple(trace.lengths.shape)} do not fit batch {batch} x {steps} steps.")
    if bool(((trace.lengths < 0) | (trace.lengths > steps)).any()):
        raise ExportError(f"{name}: entry 'lengths' holds values outside 0..{steps}.")


def load_npz_trace(path_or_bytes: Union[str, os.PathLike, bytes, BinaryIO]) -> Trace:
    """The Trace saved by `trace_to_npz`, exactly as it was."""
    return load_npz_recording(path_or_bytes).trace



"""Take a recording away: NumPy `.npz`, an LSTMVis project folder, standalone HTML or PNG figures.

Nothing here pickles: `.npz` files are written and read with `allow_pickle=False` (strings are stored as
fixed-width unicode arrays), LSTMVis files are HDF5 plus plain text. Every file goes inside the folder the
caller names, under a sanitised file name.

`.npz` layout (`trace_to_npz`); shapes as in `Trace`, L layers, D directions, B batch, T time:
    gate_<name>   float [L, D, B, T, H]  one per gate, e.g. gate_i, gate_f, gate_g, gate_o (LSTM), gate_r...
    hidden        float [L, D, B, T, U]  h_t (U = proj_size when set)
    cell          float [L, D, B, T, H]  c_t, LSTM only
    output        float                  exactly the module's output (batch_first layout when it was set)
    h_n, c_n      float [L*D, B, U|H]    final states (c_n LSTM only)
    mask          bool  [B, T]           False on padding
    lengths       int64 [B]
    tokens        str   [B, T]           when given; "" on padding
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
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

import numpy as np
import torch

from ..record.results import GATES_BY_KIND, SIGMOID_GATES, Trace

NPZ_FORMAT = "lstm-viz-trace"
NPZ_VERSION = 1
MAX_NPZ_BYTES = 500 * 2**20  # reading back a recording: far above what the app records
Tokens = Union[Sequence[str], Sequence[Sequence[str]]]


class ExportError(ValueError):
    """An export or import cannot be done with these arguments or this file."""


class ExportUnavailable(RuntimeError):
    """A needed optional tool (kaleido, a Chromium) is not installed; the message says what to install."""


# ------------------------------------------------------------------------------------------ file names


def safe_filename(name: str, default: str = "export") -> str:
    """A user-given name made safe as one file name: no folders, no '..', no leading dot, at most 100 chars."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" ")
    base = re.sub(r"\.{2,}", ".", base).lstrip(".-_ ")
    return base[:100].rstrip(" ") or default


def _target(folder: Union[str, os.PathLike], name: str, suffixes: tuple[str, ...] = ()) -> Path:
    """`folder / safe_filename(name)` with a required suffix, checked to lie inside `folder`."""
    root = Path(folder).resolve()
    fname = safe_filename(name)
    if suffixes and not fname.lower().endswith(suffixes):
        fname += suffixes[0]
    path = root / fname
    if path.is_symlink():
        raise ExportError(f"{path} is a symbolic link; refusing to write through it.")
    if path.resolve().parent != root:
        raise ExportError(f"{name!r} does not name a file inside {root}.")
    return path


# ---------------------------------------------------------------------------------------------- npz


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


def _npz_arrays(trace: Trace, tokens: Optional[Tokens], analysis: Any) -> dict[str, np.ndarray]:
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
    seqs = _tokens_per_sequence(tokens, trace)
    if seqs is not None:
        grid = [seq + [""] * (trace.steps - len(seq)) for seq in seqs]
        arrays["tokens"] = np.array(grid, dtype=str).reshape(trace.batch_size, trace.steps)
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
                 analysis: Any = None) -> None:
    """Save a recording (and optional tokens and analysis arrays) as a compressed `.npz`; layout above.

    path_or_buffer: a file path (written as given, no suffix added) or a writable binary buffer.
    tokens: one token per step, `list[str]` for a batch of one or one list per sequence.
    analysis: a mapping (or dataclass) of arrays or analysis results, flattened by `_analysis_arrays`.
    """
    arrays = _npz_arrays(trace, tokens, analysis)
    if isinstance(path_or_buffer, (str, os.PathLike)):
        with open(path_or_buffer, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    else:
        np.savez_compressed(path_or_buffer, **arrays)


def npz_bytes(trace: Trace, tokens: Optional[Tokens] = None, analysis: Any = None) -> bytes:
    """`trace_to_npz` into memory, e.g. for a download button."""
    buf = io.BytesIO()
    trace_to_npz(trace, buf, tokens=tokens, analysis=analysis)
    return buf.getvalue()


@dataclass
class NpzRecording:
    """What `load_npz_recording` read back."""

    trace: Trace
    tokens: Optional[list[list[str]]]  # per sequence, valid steps only
    analysis: dict[str, np.ndarray]


def load_npz_recording(path_or_bytes: Union[str, os.PathLike, bytes, BinaryIO],
                       max_bytes: int = MAX_NPZ_BYTES) -> NpzRecording:
    """Read a file written by `trace_to_npz` (np.load with allow_pickle=False)."""
    from .model_files import ModelFileError, read_bytes_limited

    try:
        data = read_bytes_limited(path_or_bytes, max_bytes, "The recording file")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ModelFileError as err:
        raise ExportError(str(err)) from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as err:
        raise ExportError(f"Not an lstm-viz .npz recording ({type(err).__name__}: {err}).") from None
    if "meta_json" not in arrays:
        raise ExportError("Not an lstm-viz .npz recording: no 'meta_json' entry. "
                          f"Found: {', '.join(sorted(arrays)[:10])}.")
    meta = json.loads(str(arrays["meta_json"]))
    if meta.get("format") != NPZ_FORMAT:
        raise ExportError(f"Not an lstm-viz recording: format {meta.get('format')!r}.")
    if meta.get("version", 0) > NPZ_VERSION:
        raise ExportError(f"This recording was written by a newer lstm-viz (version {meta['version']}).")
    kind = meta["kind"]
    gate_names = tuple(meta["gate_names"])
    if kind not in GATES_BY_KIND or gate_names != GATES_BY_KIND[kind]:
        raise ExportError(f"Recording has kind {kind!r} with gates {gate_names}, which do not match.")
    needed = ["hidden", "output", "h_n", "mask", "lengths", *(f"gate_{g}" for g in gate_names)]
    needed += ["cell", "c_n"] if kind == "lstm" else []
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise ExportError(f"The recording lacks {', '.join(missing)}.")
    t = {k: torch.from_numpy(np.ascontiguousarray(arrays[k])) for k in needed}
    trace = Trace(kind=kind, gate_names=gate_names, output=t["output"], h_n=t["h_n"], c_n=t.get("c_n"),
                  gates={g: t[f"gate_{g}"] for g in gate_names}, hidden=t["hidden"], cell=t.get("cell"),
                  mask=t["mask"].to(torch.bool), lengths=t["lengths"].to(torch.int64),
                  nonlinearity=meta["nonlinearity"], batch_first=bool(meta["batch_first"]), meta=meta["meta"])
    tokens = None
    if "tokens" in arrays:
        tokens = [[str(w) for w in row[: int(n)]] for row, n in zip(arrays["tokens"], arrays["lengths"])]
    analysis = {k: arrays[k] for k in meta.get("analysis_keys", []) if k in arrays}
    return NpzRecording(trace=trace, tokens=tokens, analysis=analysis)


def load_npz_trace(path_or_bytes: Union[str, os.PathLike, bytes, BinaryIO]) -> Trace:
    """The Trace saved by `trace_to_npz`, exactly as it was."""
    return load_npz_recording(path_or_bytes).trace


# ------------------------------------------------------------------------------------------- LSTMVis
# LSTMVis (Strobelt et al., github.com/HendrikStrobelt/LSTMVis) reads a project folder holding `lstm.yml`,
# an HDF5 states file (one dataset per layer, [total_tokens, units], sequences concatenated), an HDF5 file
# of word ids ([total_tokens]) and a `.dict` file of "word id" lines. By default it shows tanh(value);
# `transform: none` shows values as they are (for data already in [-1, 1] or [0, 1]).

LSTMVIS_STATES = "states.h5"
LSTMVIS_WORDS = "train.h5"
LSTMVIS_DICT = "train.dict"


def _dict_word(token: str) -> str:
    """LSTMVis splits each dict line on whitespace, so a token may hold none and may not be empty."""
    return re.sub(r"\s+", "_", token) or "<empty>"


def _flat_valid(values: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
    """[B, T, U] -> [sum(lengths), U]: valid positions of each sequence, sequences in order."""
    parts = [values[b, : int(n)] for b, n in enumerate(lengths)]
    return torch.cat(parts).detach().cpu().numpy().astype(np.float32)


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def export_lstmvis(trace: Trace, tokens_per_sequence: Tokens, folder: Union[str, os.PathLike],
                   layer: Optional[int] = None, direction: int = 0, name: str = "lstm-viz recording",
                   description: str = "", include_gates: bool = False,
                   states_file: str = LSTMVIS_STATES, words_file: str = LSTMVIS_WORDS,
                   dict_file: str = LSTMVIS_DICT) -> Path:
    """Write an LSTMVis project into `folder` (created if needed) and return the path of its `lstm.yml`.

    layer: 0-based layer to export, None for all (LSTMVis numbers them from 1). direction: 0 forward,
    1 backward (bidirectional only). Per layer l (file numbering l+1): `states{l}` = c_t for an LSTM, h_t for
    a GRU/RNN (type state); `output{l}` = h_t for an LSTM (type output); with include_gates, `gate_<g>{l}`.
    Only valid positions are written; train.h5 also holds `lengths` so sequences can be split again.
    """
    import h5py

    if tokens_per_sequence is None:
        raise ExportError("LSTMVis needs a word for every position: pass tokens_per_sequence.")
    seqs = _tokens_per_sequence(tokens_per_sequence, trace)
    assert seqs is not None
    if not 0 <= direction < trace.num_directions:
        raise ExportError(f"direction must be 0{' or 1' if trace.num_directions == 2 else ''} for this trace, "
                          f"got {direction}.")
    layers = range(trace.num_layers) if layer is None else [layer]
    if layer is not None and not 0 <= layer < trace.num_layers:
        raise ExportError(f"layer must be in 0..{trace.num_layers - 1} (0-based), got {layer}.")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    states_path = _target(root, states_file, (".h5", ".hdf5"))
    words_path = _target(root, words_file, (".h5", ".hdf5"))
    dict_path = _target(root, dict_file, (".dict",))
    yml_path = _target(root, "lstm.yml")
    if len({states_path, words_path, dict_path, yml_path}) != 4:
        raise ExportError("states_file, words_file and dict_file must be different names.")

    lengths = trace.lengths
    words = [_dict_word(t) for seq in seqs for t in seq]
    ids = {w: i for i, w in enumerate(dict.fromkeys(words), start=1)}  # LSTMVis's own tool counts from 1
    # h_t of an LSTM/GRU/tanh-RNN without projection lies in [-1, 1]: show it as it is, not squashed again
    bounded_h = trace.nonlinearity == "tanh" and trace.hidden.shape[-1] == trace.hidden_size
    types = []
    with h5py.File(states_path, "w") as h5:
        for l in layers:
            n = l + 1
            h = _flat_valid(trace.hidden[l, direction], lengths)
            if trace.cell is not None:
                h5.create_dataset(f"states{n}", data=_flat_valid(trace.cell[l, direction], lengths))
                h5.create_dataset(f"output{n}", data=h)
                types.append({"type": "state", "layer": n, "path": f"states{n}"})
                types.append({"type": "output", "layer": n, "path": f"output{n}",
                              **({"transform": "none"} if bounded_h else {})})
            else:
                h5.create_dataset(f"states{n}", data=h)
                types.append({"type": "state", "layer": n, "path": f"states{n}",
                              **({"transform": "none"} if bounded_h else {})})
            if include_gates:
                for g in trace.gate_names:
                    h5.create_dataset(f"gate_{g}{n}", data=_flat_valid(trace.gates[g][l, direction], lengths))
                    types.append({"type": "state", "layer": n, "path": f"gate_{g}{n}", "transform": "none",
                                  **({"unsigned": True} if g in SIGMOID_GATES else {})})
    with h5py.File(words_path, "w") as h5:
        h5.create_dataset("word_ids", data=np.array([ids[w] for w in words], dtype=np.int64))
        h5.create_dataset("lengths", data=lengths.detach().cpu().numpy().astype(np.int64))
    dict_path.write_text("".join(f"{w} {i}\n" for w, i in ids.items()), encoding="utf-8")

    where = f"direction {'backward' if direction else 'forward'}" if trace.num_directions == 2 else ""
    desc = description or f"{trace.kind.upper()} recorded by lstm-viz, {len(seqs)} sequence(s)"
    desc = f"{desc} ({where})" if where else desc

    def flow(entry: dict) -> str:
        return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in entry.items()) + "}"

    lines = [
        f"name: {_yaml_str(name)}",
        f"description: {_yaml_str(desc)}",
        "",
        "files:  # LSTMVis needs .h5/.hdf5 and .dict endings",
        f"  states: {_yaml_str(states_path.name)}",
        f"  train: {_yaml_str(words_path.name)}",
        f"  words: {_yaml_str(dict_path.name)}",
        "",
        "word_sequence:",
        "  file: train",
        "  path: word_ids",
        "  dict_file: words",
        "",
        "states:",
        "  file: states",
        "  types: [",
        ",\n".join(f"    {flow(t)}" for t in types),
        "  ]",
        "",
    ]
    yml_path.write_text("\n".join(lines), encoding="utf-8")
    return yml_path


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return {"true": True, "false": False, "null": None, "~": None}.get(text.lower(), text)


def _strip_comment(line: str) -> str:
    """Drop a `# comment` that is outside quotes."""
    quote, escaped = None, False
    for i, ch in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def parse_lstm_yml(text: str) -> dict:
    """The subset of YAML that LSTMVis configs use: nested `key: value` blocks and a flow list of flow
    mappings (`types: [ {type: state, layer: 1, path: states1}, ... ]`). PyYAML is used when installed."""
    try:
        import yaml  # optional: LSTMVis itself depends on it, lstm-viz does not
    except ImportError:
        yaml = None
    if yaml is not None:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ExportError(f"lstm.yml does not parse: {err}") from None
        if not isinstance(loaded, dict):
            raise ExportError("lstm.yml must be a mapping at the top level.")
        return loaded
    return _parse_lstm_yml_subset(text)


def _parse_lstm_yml_subset(text: str) -> dict:
    root: dict = {}
    stack: list[tuple[int, dict]] = [(-1, root)]
    lines = iter(text.splitlines())
    for raw in lines:
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, sep, rest = line.strip().partition(":")
        if not sep:
            raise ExportError(f"lstm.yml: cannot read line {raw!r}.")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        rest = rest.strip()
        if rest.startswith("["):
            body = rest
            while "]" not in _strip_comment(body):
                body += " " + _strip_comment(next(lines, "]"))
            inner = _strip_comment(body).strip()[1:].rsplit("]", 1)[0]
            items = []
            for chunk in re.findall(r"\{([^}]*)\}", inner):
                entry = {}
                for pair in filter(str.strip, chunk.split(",")):
                    k, _, v = pair.partition(":")
                    entry[k.strip()] = _scalar(v)
                items.append(entry)
            parent[key.strip()] = items
        elif rest:
            parent[key.strip()] = _scalar(rest)
        else:
            child: dict = {}
            parent[key.strip()] = child
            stack.append((indent, child))
    return root


@dataclass
class LSTMVisProject:
    """What `read_lstmvis` read back from a project folder."""

    config: dict  # parsed lstm.yml
    words: list[str]  # one per position, all sequences concatenated
    word_ids: np.ndarray  # int [N]
    states: dict[str, np.ndarray]  # HDF5 path (e.g. "states1") -> [N, units]
    lengths: Optional[np.ndarray]  # per sequence, when written by lstm-viz

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """[N, ...] -> one array per sequence (needs `lengths`)."""
        if self.lengths is None:
            raise ExportError("This LSTMVis project has no sequence lengths (it was not written by lstm-viz).")
        return np.split(values, np.cumsum(self.lengths)[:-1])


def read_lstmvis(folder: Union[str, os.PathLike]) -> LSTMVisProject:
    """Read an LSTMVis project folder (its `lstm.yml`, states, word ids and dictionary)."""
    import h5py

    root = Path(folder)
    yml = root / "lstm.yml"
    if not yml.is_file():
        raise ExportError(f"{root} has no lstm.yml: not an LSTMVis project folder.")
    config = parse_lstm_yml(yml.read_text(encoding="utf-8"))
    try:
        files = config["files"]
        ws = config["word_sequence"]
        st = config["states"]
        types = st["types"]
    except (KeyError, TypeError) as err:
        raise ExportError(f"lstm.yml lacks the section {err}.") from None

    def file_of(ref: str) -> Path:
        if ref not in files:
            raise ExportError(f"lstm.yml refers to file {ref!r}, which its files section does not list.")
        path = _target(root, files[ref])
        if not path.is_file():
            raise ExportError(f"{path.name} (listed in lstm.yml) is missing.")
        return path

    mapping: dict[int, str] = {}
    for number, line in enumerate(file_of(ws["dict_file"]).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not re.fullmatch(r"-?\d+", parts[1]):
            raise ExportError(f"dictionary line {number} is not 'word id': {line!r}.")
        mapping[int(parts[1])] = parts[0]
    with h5py.File(file_of(ws["file"]), "r") as h5:
        word_ids = np.asarray(h5[ws["path"]][()])
        lengths = np.asarray(h5["lengths"][()]) if "lengths" in h5 else None
    unknown = sorted(set(word_ids.tolist()) - set(mapping))
    if unknown:
        raise ExportError(f"word ids {unknown[:5]} are not in the dictionary.")
    states: dict[str, np.ndarray] = {}
    for entry in types:
        with h5py.File(file_of(entry.get("file", st["file"])), "r") as h5:
            states[entry["path"]] = np.asarray(h5[entry["path"]][()])
    return LSTMVisProject(config=config, words=[mapping[i] for i in word_ids.tolist()], word_ids=word_ids,
                          states=states, lengths=lengths)


def lstmvis_zip_bytes(trace: Trace, tokens_per_sequence: Tokens, **kwargs: Any) -> bytes:
    """An LSTMVis project as a .zip in memory (files at the top of one folder "lstmvis/"), for a download."""
    with tempfile.TemporaryDirectory(prefix="lstmvis-") as tmp:
        export_lstmvis(trace, tokens_per_sequence, tmp, **kwargs)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                zf.write(path, f"lstmvis/{path.name}")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------- figures


def figure_to_html(fig: Any, title: Optional[str] = None) -> str:
    """A standalone HTML page of a plotly figure with plotly.js inlined, so it opens offline."""
    html = fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False})
    if title:
        html = html.replace("<head>", f"<head><title>{_html_escape(title)}</title>", 1)
    return html


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_figure_html(fig: Any, folder: Union[str, os.PathLike], name: str) -> Path:
    """`figure_to_html` into `folder/<sanitised name>.html`."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = _target(folder, name, (".html",))
    path.write_text(figure_to_html(fig), encoding="utf-8")
    return path


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

"""An LSTMVis project folder (Strobelt et al., github.com/HendrikStrobelt/LSTMVis) written from a recording,
and read back. The config `lstm.yml` is written and read with PyYAML (`safe_dump`/`safe_load`); states are
HDF5. Reading names the file and the field for anything malformed (`ExportError`), never a raw KeyError.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from ..record.results import SIGMOID_GATES, Trace
from .npz import Tokens, read_and_typed
from .out_paths import ExportError, check_writable_folder, target_in

# LSTMVis (Strobelt et al., github.com/HendrikStrobelt/LSTMVis) reads a project folder holding `lstm.yml`,
# an HDF5 states file (one dataset per layer, [total_tokens, units], sequences concatenated), an HDF5 file
# of word ids ([total_tokens]) and a `.dict` file of "word id" lines. By default it shows tanh(value);
# `transform: none` shows values as they are (for data already in [-1, 1] or [0, 1]).

LSTMVIS_STATES = "states.h5"
LSTMVIS_WORDS = "train.h5"
LSTMVIS_DICT = "train.dict"
LSTMVIS_TYPED_DICT = "typed.dict"  # the words as typed, next to train.dict's words as the model read them


def _dict_word(token: str) -> str:
    """LSTMVis splits each dict line on whitespace, so a token may hold none and may not be empty."""
    return re.sub(r"\s+", "_", token) or "<empty>"


def _flat_valid(values: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
    """[B, T, U] -> [sum(lengths), U]: valid positions of each sequence, sequences in order."""
    parts = [values[b, : int(n)] for b, n in enumerate(lengths)]
    return torch.cat(parts).detach().cpu().numpy().astype(np.float32)


def export_lstmvis(trace: Trace, tokens_per_sequence: Tokens, folder: Union[str, os.PathLike],
                   layer: Optional[int] = None, direction: int = 0, name: str = "lstm-viz recording",
                   description: str = "", include_gates: bool = False,
                   states_file: str = LSTMVIS_STATES, words_file: str = LSTMVIS_WORDS,
                   dict_file: str = LSTMVIS_DICT, tokens_read: Optional[Tokens] = None) -> Path:
    """Write an LSTMVis project into `folder` (created if needed) and return the path of its `lstm.yml`.

    layer: 0-based layer to export, None for all (LSTMVis numbers them from 1). direction: 0 forward,
    1 backward (bidirectional only). Per layer l (file numbering l+1): `states{l}` = c_t for an LSTM, h_t for
    a GRU/RNN (type state); `output{l}` = h_t for an LSTM (type output); with include_gates, `gate_<g>{l}`.
    Only valid positions are written; train.h5 also holds `lengths` so sequences can be split again.
    The word sequence LSTMVis shows is what the model read (`tokens_read`, e.g. "<unk>" for a word outside its
    vocabulary; the typed tokens when not given); with `tokens_read`, train.h5 `typed_ids` with `typed.dict`
    keep what was typed.
    """
    import h5py

    check_writable_folder(folder, "The LSTMVis folder")
    if tokens_per_sequence is None:
        raise ExportError("LSTMVis needs a word for every position: pass tokens_per_sequence.")
    typed, seqs = read_and_typed(tokens_per_sequence, tokens_read, trace)
    assert typed is not None and seqs is not None
    if not 0 <= direction < trace.num_directions:
        raise ExportError(f"direction must be 0{' or 1' if trace.num_directions == 2 else ''} for this trace, "
                          f"got {direction}.")
    layers = range(trace.num_layers) if layer is None else [layer]
    if layer is not None and not 0 <= layer < trace.num_layers:
        raise ExportError(f"layer must be in 0..{trace.num_layers - 1} (0-based), got {layer}.")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    states_path = target_in(root, states_file, (".h5", ".hdf5"))
    words_path = target_in(root, words_file, (".h5", ".hdf5"))
    dict_path = target_in(root, dict_file, (".dict",))
    yml_path = target_in(root, "lstm.yml")
    typed_path = target_in(root, LSTMVIS_TYPED_DICT)
    if len({states_path, words_path, dict_path, yml_path, typed_path}) != 5:
        raise ExportError(f"states_file, words_file and dict_file must be different names (and not "
                          f"{LSTMVIS_TYPED_DICT}).")

    lengths = trace.lengths
    words = [_dict_word(t) for seq in seqs for t in seq]
    ids = {w: i for i, w in enumerate(dict.fromkeys(words), start=1)}  # LSTMVis's own tool counts from 1
    typed_words = [_dict_word(t) for seq in typed for t in seq] if tokens_read is not None else None
    typed_ids = {w: i for i, w in enumerate(dict.fromkeys(typed_words or ()), start=1)}
    # h_t of an LSTM/GRU/tanh-RNN without projection lies in [-1, 1]: show it as it is, not squashed again
    bounded_h = trace.nonlinearity == "tanh" and trace.hidden.shape[-1] == trace.hidden_size
    types = []
    with h5py.File(states_path, "w") as h5:
        for layer_index in layers:
            n = layer_index + 1
            h = _flat_valid(trace.hidden[layer_index, direction], lengths)
            if trace.cell is not None:
                h5.create_dataset(f"states{n}", data=_flat_valid(trace.cell[layer_index, direction], lengths))
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
                    h5.create_dataset(f"gate_{g}{n}", data=_flat_valid(trace.gates[g][layer_index, direction], lengths))
                    types.append({"type": "state", "layer": n, "path": f"gate_{g}{n}", "transform": "none",
                                  **({"unsigned": True} if g in SIGMOID_GATES else {})})
    with h5py.File(words_path, "w") as h5:
        h5.create_dataset("word_ids", data=np.array([ids[w] for w in words], dtype=np.int64))
        if typed_words is not None:
            h5.create_dataset("typed_ids", data=np.array([typed_ids[w] for w in typed_words], dtype=np.int64))
        h5.create_dataset("lengths", data=lengths.detach().cpu().numpy().astype(np.int64))
    dict_path.write_text("".join(f"{w} {i}\n" for w, i in ids.items()), encoding="utf-8")
    if typed_words is not None:
        typed_path.write_text("".join(f"{w} {i}\n" for w, i in typed_ids.items()), encoding="utf-8")

    where = f"direction {'backward' if direction else 'forward'}" if trace.num_directions == 2 else ""
    desc = description or f"{trace.kind.upper()} recorded by lstm-viz, {len(seqs)} sequence(s)"
    desc = f"{desc} ({where})" if where else desc

    config = {
        "name": name,
        "description": desc,
        # "words": as the model read them; "typed_words": as typed (lstm-viz's own, LSTMVis ignores it)
        "files": {"states": states_path.name, "train": words_path.name, "words": dict_path.name,
                  **({"typed_words": typed_path.name} if typed_words is not None else {})},
        "word_sequence": {"file": "train", "path": "word_ids", "dict_file": "words"},
        "states": {"file": "states", "types": types},
    }
    text = "# LSTMVis project written by lstm-viz (LSTMVis needs .h5/.hdf5 and .dict endings)\n"
    import yaml  # the lstmvis extra (pip install lstm-viz[lstmvis]), like h5py

    yml_path.write_text(text + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120),
                        encoding="utf-8")
    return yml_path


@dataclass
class LSTMVisProject:
    """What `read_lstmvis` read back from a project folder."""

    config: dict  # parsed lstm.yml
    words: list[str]  # one per position, all sequences concatenated (as the model read them)
    word_ids: np.ndarray  # int [N]
    states: dict[str, np.ndarray]  # HDF5 path (e.g. "states1") -> [N, units]
    lengths: Optional[np.ndarray]  # per sequence, when written by lstm-viz
    typed_words: Optional[list[str]] = None  # as typed, when written by lstm-viz (typed.dict, typed_ids)

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """[N, ...] -> one array per sequence (needs `lengths`)."""
        if self.lengths is None:
            raise ExportError("This LSTMVis project has no sequence lengths (it was not written by lstm-viz).")
        return np.split(values, np.cumsum(self.lengths)[:-1])


MAX_LSTM_YML_BYTES = 1 * 2**20  # an LSTMVis config is a few hundred bytes
MAX_STATES_VALUES = 200_000_000  # values read from one LSTMVis HDF5 dataset (800 MB of float32)


def parse_lstm_yml(text: str, where: str = "lstm.yml") -> dict:
    """An LSTMVis config (`yaml.safe_load`: plain data only); ExportError when it does not parse or is not
    a mapping."""
    import yaml  # the lstmvis extra, like h5py

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ExportError(f"{where} does not parse as YAML: {' '.join(str(err).split())[:200]}") from None
    if not isinstance(loaded, dict):
        raise ExportError(f"{where} must be a mapping (key: value lines) at the top level.")
    return loaded


def _section(config: dict, path: str, kind: type, where: str) -> Any:
    """config["a"]["b"] for path "a.b", checked to be a `kind`; ExportError naming the field otherwise."""
    value: Any = config
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, kind):
        wanted = "name" if kind is str else kind.__name__
        raise ExportError(f"{where}: the field {path!r} is missing or not a {wanted}.")
    return value


def _read_dataset(path: Path, key: str, where: str) -> np.ndarray:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            if key not in h5 or not isinstance(h5[key], h5py.Dataset):
                raise ExportError(f"{path.name} (listed in {where}) has no dataset {key!r}.")
            dataset = h5[key]
            if dataset.size > MAX_STATES_VALUES:
                raise ExportError(f"{path.name}: dataset {key!r} holds {dataset.size:,} values, over the limit "
                                  f"of {MAX_STATES_VALUES:,}.")
            return np.asarray(dataset[()])
    except ExportError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ExportError(f"{path.name} (listed in {where}) is not a readable HDF5 file: "
                          f"{' '.join(str(err).split())[:160]}") from None


def read_lstmvis(folder: Union[str, os.PathLike]) -> LSTMVisProject:
    """Read an LSTMVis project folder (its `lstm.yml`, states, word ids and dictionary)."""
    root = Path(folder)
    yml = root / "lstm.yml"
    if not yml.is_file():
        raise ExportError(f"{root} has no lstm.yml: not an LSTMVis project folder.")
    where = str(yml)
    if yml.stat().st_size > MAX_LSTM_YML_BYTES:
        raise ExportError(f"{where} is {yml.stat().st_size:,} bytes; an LSTMVis config is a few hundred.")
    try:
        text = yml.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExportError(f"{where} is not UTF-8 text (byte {err.start}).") from None
    config = parse_lstm_yml(text, where)
    files = _section(config, "files", dict, where)
    ws = {key: _section(config, f"word_sequence.{key}", str, where) for key in ("file", "path", "dict_file")}
    default_file = _section(config, "states.file", str, where)
    types = _section(config, "states.types", list, where)

    def file_of(ref: object) -> Path:
        if not isinstance(ref, str) or ref not in files or not isinstance(files[ref], str):
            raise ExportError(f"{where} refers to file {ref!r}, which its files section does not list.")
        path = target_in(root, files[ref])
        if not path.is_file():
            raise ExportError(f"{path.name} (listed in {where}) is missing.")
        return path

    words_path = file_of(ws["file"])
    dict_path = file_of(ws["dict_file"])
    words = _words_of(_read_dataset(words_path, ws["path"], where).reshape(-1), _read_dict(dict_path), words_path,
                      dict_path, ws["path"])
    typed = None
    if "typed_words" in files:  # lstm-viz's own: the words as typed
        typed_dict = file_of("typed_words")
        typed = _words_of(_read_dataset(words_path, "typed_ids", where).reshape(-1), _read_dict(typed_dict),
                          words_path, typed_dict, "typed_ids")
    import h5py

    with h5py.File(words_path, "r") as h5:
        lengths = np.asarray(h5["lengths"][()]) if "lengths" in h5 else None
    states: dict[str, np.ndarray] = {}
    for number, entry in enumerate(types):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ExportError(f"{where}: states.types entry {number} has no 'path' name.")
        states[entry["path"]] = _read_dataset(file_of(entry.get("file", default_file)), entry["path"], where)
    return LSTMVisProject(config=config, words=words[0], word_ids=words[1], states=states, lengths=lengths,
                          typed_words=None if typed is None else typed[0])


def _read_dict(dict_path: Path) -> dict[int, str]:
    """An LSTMVis dictionary: id -> word, from "word id" lines."""
    mapping: dict[int, str] = {}
    try:
        lines = dict_path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise ExportError(f"{dict_path.name} is not UTF-8 text (byte {err.start}).") from None
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not re.fullmatch(r"-?\d+", parts[1]):
            raise ExportError(f"{dict_path.name} line {number} is not 'word id'.")
        mapping[int(parts[1])] = parts[0]
    return mapping


def _words_of(word_ids: np.ndarray, mapping: dict[int, str], words_path: Path, dict_path: Path,
              key: str) -> tuple[list[str], np.ndarray]:
    """(words, ids) of a word-id dataset, every id checked against its dictionary."""
    if not np.issubdtype(word_ids.dtype, np.integer):
        raise ExportError(f"{words_path.name}: dataset {key!r} has dtype {word_ids.dtype}; expected integers.")
    unknown = sorted(set(word_ids.tolist()) - set(mapping))
    if unknown:
        raise ExportError(f"{words_path.name}: word ids {unknown[:5]} are not in the dictionary {dict_path.name}.")
    return [mapping[i] for i in word_ids.tolist()], word_ids


def lstmvis_zip_bytes(trace: Trace, tokens_per_sequence: Tokens, **kwargs: Any) -> bytes:
    """An LSTMVis project as a .zip in memory (files at the top of one folder "lstmvis/"), for a download."""
    with tempfile.TemporaryDirectory(prefix="lstmvis-") as tmp:
        export_lstmvis(trace, tokens_per_sequence, tmp, **kwargs)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                zf.write(path, f"lstmvis/{path.name}")
    return buf.getvalue()

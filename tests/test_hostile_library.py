"""Hostile-input catalogue, library: every bad file gets the library's own error type with a message naming the
file/field and what to do (never a raw KeyError, JSONDecodeError or allocator message), before anything is
expanded. Memory and time of the tampered files are measured in a child process (test_tampered_files_...)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from lstm_viz.data import DataError, load_corpus
from lstm_viz.data.archives import safe_extract
from lstm_viz.data.conllu import read_conllu
from lstm_viz.files import budgets
from lstm_viz.files.budgets import APP, Budget
from lstm_viz.files.inputs import InputError, load_input_tensor, load_vocab_file
from lstm_viz.files.lstmvis import export_lstmvis, read_lstmvis
from lstm_viz.files.model_files import ModelFileError, inspect_model
from lstm_viz.files.npz import load_npz_recording, npz_bytes
from lstm_viz.files.out_paths import (
    ExportError, OutputNotWritable, check_writable_file, check_writable_folder, write_atomic,
)
from lstm_viz.files.safe_load import safe_load
from lstm_viz.files.server_paths import ServerPathError, resolve_server_path, server_path_policy
from lstm_viz.record.tracing import trace
from lstm_viz.training.checkpoint import CheckpointError, load_checkpoint

from . import hostile_files as hf

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]
GOOD_CONLLU = "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n"


# ------------------------------------------------------------------------------------------ model files

MODEL_CASES = {  # name -> (bytes builder, budget, expected message)
    "empty file": (lambda tmp: b"", None, "empty"),
    "random bytes": (lambda tmp: os.urandom(300), None, "Not a PyTorch file"),
    # random bytes that hold a call opcode (NEWOBJ_EX) before they stop parsing are garbage, not code (a CI flake)
    "garbage after a call opcode": (lambda tmp: b"N\x92" + bytes(range(0xF0, 0x100)) * 4, None, "Not a PyTorch file"),
    "truncated zip": (lambda tmp: hf.torch_bytes(nn.LSTM(3, 4).state_dict())[:700], None, "truncated"),
    "code-running torch pickle": (lambda tmp: hf.code_pickle(tmp / "pwned"), None, "Python objects"),
    "code-running raw pickle": (lambda tmp: hf.raw_code_pickle(tmp / "pwned"), None, "Python objects"),
    "stride-0 hidden 6000": (lambda tmp: hf.stride0_state_dict(6000), None, "stores only"),
    "stride-0 hidden 100000": (lambda tmp: hf.stride0_state_dict(100_000), None, "stores only"),
    "sparse weights": (lambda tmp: hf.torch_bytes({"weight_ih_l0": torch.zeros(8, 2).to_sparse(),
                                                   "weight_hh_l0": torch.zeros(8, 2)}), None, "sparse"),
    "over the element budget": (lambda tmp: hf.torch_bytes(nn.LSTM(30, 40).state_dict()),
                                Budget(elements=1_000), "field 'elements'"),
    "over the byte budget": (lambda tmp: hf.torch_bytes(nn.LSTM(30, 40).state_dict()),
                             Budget(file_bytes=1_000), "over the limit"),
    "too many layers for the app": (lambda tmp: hf.torch_bytes(nn.LSTM(2, 2, num_layers=9).state_dict()),
                                    APP, "number of layers"),
    "hidden size over budget": (lambda tmp: hf.torch_bytes(nn.GRU(2, 20).state_dict()),
                                Budget(hidden=16), "its hidden size"),
    "a tensor, not a state_dict": (lambda tmp: hf.torch_bytes(torch.zeros(3)), None, "Expected a state_dict"),
    "a list of strings": (lambda tmp: hf.torch_bytes(["a", "b"]), None, "Expected a state_dict"),
    "no recurrent weights": (lambda tmp: hf.torch_bytes(nn.Linear(2, 3).state_dict()), None, "No recurrent weights"),
    "LSTMCell weights": (lambda tmp: hf.torch_bytes(nn.LSTMCell(2, 3).state_dict()), None, "LSTMCell"),
    "integer weights": (lambda tmp: hf.torch_bytes({k: v.to(torch.int64)
                                                    for k, v in nn.RNN(2, 3).state_dict().items()}),
                        None, "floating point"),
    "a missing layer": (lambda tmp: hf.torch_bytes({k: v for k, v in nn.LSTM(2, 3, num_layers=2).state_dict().items()
                                                    if not k.endswith("hh_l1")}), None, "is missing"),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_hostile_model_file_is_refused_clearly(case, tmp_path):
    build, budget, message = MODEL_CASES[case]
    data = build(tmp_path)
    with pytest.raises(ModelFileError, match=message):
        inspect_model(data, budget=budget)
    assert not (tmp_path / "pwned").exists()  # nothing in the file ran


def test_deflated_torch_file_is_refused_before_inflating(tmp_path):
    path = hf.deflated_torch_file(tmp_path / "bomb.pt", mib=96)
    assert path.stat().st_size < 2**20  # a < 1 MB file holding 96 MiB
    with pytest.raises(ModelFileError, match="never compresses"):
        safe_load(path)
    with pytest.raises(ModelFileError, match="once decompressed.*'expanded_bytes'"):
        safe_load(path, budget=Budget(expanded_bytes=64 * 2**20))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nonfinite_weights_load_with_a_warning(value):
    found = inspect_model(hf.nan_lstm(value))
    assert found.warnings and "NaN or infinite" in found.warnings[0] and "weight_hh_l0" in found.warnings[0]
    assert inspect_model(hf.nan_lstm(0.5)).warnings == ()


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "nul byte"])
def test_model_path_that_is_not_a_regular_file(kind, tmp_path):
    path = {"folder": lambda: tmp_path, "fifo": lambda: hf.make_fifo(tmp_path / "pipe.pt"),
            "device": lambda: Path("/dev/zero"), "nul byte": lambda: str(tmp_path / "a\x00b.pt")}[kind]()
    with pytest.raises(ModelFileError, match="is not a file|NUL byte"):
        inspect_model(path)  # a FIFO would block a plain open(): the test's timeout catches a hang


def test_budget_message_names_the_limit_and_the_environment_variable(monkeypatch):
    data = hf.torch_bytes(nn.LSTM(30, 40).state_dict())
    with pytest.raises(ModelFileError) as err:
        inspect_model(data, budget=Budget(elements=1_000))
    assert "LSTM_VIZ_MAX_ELEMENTS" in str(err.value) and "1,000" in str(err.value)
    monkeypatch.setenv("LSTM_VIZ_MAX_ELEMENTS", "100000")  # the operator raised it
    assert inspect_model(data, budget=Budget(elements=1_000)).spec.hidden_size == 40


# ------------------------------------------------------------------------------------------ checkpoints

CHECKPOINT_CASES = {
    "num_layers = 10**6": (dict(num_layers=10**6), "num_layers"),
    "hidden_size = 100,000": (dict(hidden_size=100_000), "hidden_size"),
    "embed_dim = 10**8": (dict(embed_dim=10**8), "embed_dim"),
    "bidirectional flipped": (dict(bidirectional=True), "bidirectional"),
    "arch gru over lstm weights": (dict(arch="gru"), "arch|rows must be"),
    "char features invented": (dict(char_embed_dim=10**6, char_hidden=10**6), "embed_dim|char"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_tampered_checkpoint_is_refused_before_building(case):
    overrides, message = CHECKPOINT_CASES[case]
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(hf.tampered_checkpoint(**overrides))


@pytest.mark.parametrize("field, value, message", [
    ("format_version", "one", "format version"),
    ("model_config", [1, 2], "'model_config' is missing"),
    ("vocab", {"itos": 5}, "invalid configuration or vocabulary"),
    ("state_dict", {"rnn.weight_ih_l0": "not a tensor"}, "must map parameter names to tensors"),
])
def test_malformed_checkpoint_fields_are_named(field, value, message):
    data = hf.small_checkpoint()
    data[field] = value
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(hf.torch_bytes(data))


def test_checkpoint_with_a_stride0_weight_is_refused():
    data = hf.small_checkpoint()
    data["state_dict"]["embedding.weight"] = torch.zeros(1).expand(10**7, 6)
    with pytest.raises(CheckpointError, match="stores only"):
        load_checkpoint(hf.torch_bytes(data))


# ------------------------------------------------------------------------------------------------ inputs

def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


INPUT_CASES = {  # name -> (file name, bytes builder, budget, message)
    "stride-0 [1, 50M, 4] .pt": ("x.pt", lambda tmp: hf.stride0_inputs(), None, "stores only"),
    "object .npy": ("x.npy", lambda tmp: _npy(np.array([{"a": 1}], dtype=object)), None, "not a plain numeric"),
    "truncated .npy": ("x.npy", lambda tmp: _npy(np.zeros((3, 4), np.float32))[:90], None,
                       "not a NumPy file|not a plain numeric"),
    "too many steps for the app": ("x.npy", lambda tmp: _npy(np.zeros((6000, 4), np.float32)), APP, "number of steps"),
    "too many sequences for the app": ("x.npy", lambda tmp: _npy(np.zeros((300, 2, 4), np.float32)), APP,
                                       "number of sequences"),
    "NaN inputs": ("x.npy", lambda tmp: _npy(np.full((3, 4), np.nan, np.float32)), None, "NaN"),
    "inf inputs": ("x.pt", lambda tmp: hf.torch_bytes(torch.full((3, 4), float("inf"))), None, "NaN or infinite"),
    ".npz bomb": ("x.npz", lambda tmp: hf.npz_bomb(tmp / "b.npz").read_bytes(), APP, "once decompressed"),
    "code pickle as input": ("x.pt", lambda tmp: hf.code_pickle(tmp / "pwned"), None, "Python objects"),
    "token ids": ("x.npy", lambda tmp: _npy(np.arange(12).reshape(3, 4)), None, "token ids"),
}


@pytest.mark.parametrize("case", list(INPUT_CASES))
def test_hostile_input_file_is_refused_clearly(case, tmp_path):
    name, build, budget, message = INPUT_CASES[case]
    with pytest.raises(InputError, match=message):
        load_input_tensor(build(tmp_path), name, 4, budget=budget)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("encoding, ok", [("utf-8-sig", True), ("utf-16", True), ("latin-1", False)])
def test_vocabulary_encodings_are_read_or_named(encoding, ok):
    data = "\n".join(["<pad>", "<unk>", "café", "naïve"]).encode(encoding)
    if ok:
        assert load_vocab_file(data) == ["<pad>", "<unk>", "café", "naïve"]
    else:
        with pytest.raises(InputError, match=r"not UTF-8 text \(byte \d+.*Latin-1"):
            load_vocab_file(data)


# --------------------------------------------------------------------------------------------- recordings

@pytest.fixture(scope="module")
def recording():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    rec = trace(lstm, torch.randn(5, 1, 3))
    with np.load(io.BytesIO(npz_bytes(rec, tokens=list("abcde"))), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return rec, arrays


def _with(arrays: dict, **changes) -> bytes:
    arrays = {**arrays, **changes}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _meta(arrays: dict, **changes) -> np.ndarray:
    meta = json.loads(str(arrays["meta_json"]))
    meta.update(changes)
    return np.array(json.dumps({k: v for k, v in meta.items() if v is not None}))


NPZ_CASES = {
    "no meta_json": (lambda a: _with(a, meta_json=None), "no 'meta_json'"),
    "meta_json not JSON": (lambda a: _with(a, meta_json=np.array("{oops")), "'meta_json' is not JSON"),
    "meta_json a list": (lambda a: _with(a, meta_json=np.array("[1, 2]")), "must be a JSON object"),
    "another format": (lambda a: _with(a, meta_json=_meta(a, format="other")), "field 'format'"),
    "newer version": (lambda a: _with(a, meta_json=_meta(a, version=99)), "newer lstm-viz"),
    "kind missing": (lambda a: _with(a, meta_json=_meta(a, kind=None)), "field 'kind'"),
    "gates of another kind": (lambda a: _with(a, meta_json=_meta(a, gate_names=["r", "z", "n"])), "do not match"),
    "a gate array missing": (lambda a: _with(a, gate_f=None), "lacks the entries gate_f"),
    "a gate of the wrong shape": (lambda a: _with(a, gate_i=np.zeros((2, 2))), "entry 'gate_i' has shape"),
    "lengths out of range": (lambda a: _with(a, lengths=np.array([99])), "'lengths' holds values"),
    "string hidden states": (lambda a: _with(a, hidden=np.array(["x"])), "entry 'hidden' has dtype"),
    "pickled object array": (lambda a: _with(a, meta_json=np.array([{"f": 1}], dtype=object)), "Not an lstm-viz .npz"),
    "random bytes": (lambda a: os.urandom(200), "Not an lstm-viz .npz"),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_malformed_recording_names_the_entry(case, recording):
    build, message = NPZ_CASES[case]
    with pytest.raises(ExportError, match=message):
        load_npz_recording(build(recording[1]))


def test_npz_bomb_recording_is_refused(tmp_path):
    with pytest.raises(ExportError, match="once decompressed"):
        load_npz_recording(hf.npz_bomb(tmp_path / "b.npz"), budget=APP)


# ------------------------------------------------------------------------------------------------ LSTMVis

@pytest.fixture
def project(recording, tmp_path):
    export_lstmvis(recording[0], list("abcde"), tmp_path / "p")
    return tmp_path / "p"


LSTMVIS_CASES = {
    "no lstm.yml": (lambda p: (p / "lstm.yml").unlink(), "no lstm.yml"),
    "not YAML": (lambda p: (p / "lstm.yml").write_text("a: [unclosed\n"), "does not parse as YAML"),
    "a list, not a mapping": (lambda p: (p / "lstm.yml").write_text("- 1\n- 2\n"), "must be a mapping"),
    "python tag": (lambda p: (p / "lstm.yml").write_text("x: !!python/object/apply:os.system ['touch pwned']\n"),
                   "does not parse as YAML"),
    "no states.types": (lambda p: (p / "lstm.yml").write_text(
        (p / "lstm.yml").read_text().replace("types:", "typos:")), "'states.types'"),
    "a file outside the folder": (lambda p: (p / "lstm.yml").write_text(
        (p / "lstm.yml").read_text().replace("states: states.h5", "states: ../../../etc/passwd.h5")), "is missing"),
    "dictionary line": (lambda p: (p / "train.dict").write_text("word id extra\n"), "is not 'word id'"),
    "states not HDF5": (lambda p: (p / "states.h5").write_bytes(b"not hdf5"), "not a readable HDF5"),
    "a states dataset missing": (lambda p: h5py.File(p / "states.h5", "w").close(), "has no dataset"),
    "yml not UTF-8": (lambda p: (p / "lstm.yml").write_bytes(b"name: \xff\xfe\x00"), "not UTF-8|parse"),
}


@pytest.mark.parametrize("case", list(LSTMVIS_CASES))
def test_malformed_lstmvis_folder_names_the_field(case, project):
    LSTMVIS_CASES[case][0](project)
    with pytest.raises(ExportError, match=LSTMVIS_CASES[case][1]):
        read_lstmvis(project)
    assert not Path("pwned").exists()


# ------------------------------------------------------------------------------------------------ corpora

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_conllu_with_a_byte_order_mark_is_read(encoding, tmp_path):
    path = tmp_path / "bom.conllu"
    path.write_bytes(GOOD_CONLLU.encode(encoding))
    assert read_conllu(path)[0].tokens == ("The", "dog")


def test_csv_in_latin1_is_named_precisely(tmp_path):
    (tmp_path / "bad.csv").write_bytes("text,label\ncafé,pos\nok,neg\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"bad\.csv:2: .*byte offset 14.*Latin-1.*Save the file as UTF-8"):
        load_corpus(tmp_path / "bad.csv")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16"])
def test_csv_in_utf16_is_read(encoding, tmp_path):
    (tmp_path / "u.csv").write_bytes("text,label\nok fine,pos\nno,neg\n".encode(encoding))
    corpus = load_corpus(tmp_path / "u.csv")
    assert [ex.tokens for ex in corpus.train] == [("ok", "fine"), ("no",)]


def test_csv_without_a_label_column_says_what_to_rename(tmp_path):
    (tmp_path / "t.csv").write_text("words,mood\nhi,pos\nho,neg\n")
    with pytest.raises(DataError, match="Rename the column to 'text'"):
        load_corpus(tmp_path / "t.csv")


def test_corpus_over_budget_is_refused_before_reading(tmp_path, monkeypatch):
    (tmp_path / "big.csv").write_text("text,label\n" + "word,pos\nother,neg\n" * 200)
    monkeypatch.setenv("LSTM_VIZ_MAX_CORPUS_BYTES", "1000")
    with pytest.raises(DataError, match="over the limit.*LSTM_VIZ_MAX_CORPUS_BYTES"):
        load_corpus(tmp_path / "big.csv")


def test_corpus_path_with_a_nul_byte(tmp_path):
    with pytest.raises(DataError, match="NUL byte"):
        load_corpus(str(tmp_path / "a\x00.csv"))


@pytest.mark.parametrize("kind", ["zip bomb", "tar link"])
def test_hostile_archive_is_refused_before_extracting(kind, tmp_path):
    archive = tmp_path / ("a.zip" if kind == "zip bomb" else "a.tar")
    if kind == "zip bomb":
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open(hf.deflated("zeros"), "w", force_zip64=True) as out:
                for _ in range(40):
                    out.write(bytes(1 << 20))
        budget, message = Budget(expanded_bytes=16 * 2**20), "once extracted"
    else:
        with tarfile.open(archive, "w") as tf:
            info = tarfile.TarInfo("link")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(info)
        budget, message = None, "a link or device"
    with pytest.raises(DataError, match=message):
        safe_extract(archive, tmp_path / "out", budget=budget)
    assert not any((tmp_path / "out").iterdir())


# ------------------------------------------------------------------------------------------- server paths

@pytest.fixture
def allowed(tmp_path, monkeypatch):
    """An allowed folder (LSTM_VIZ_ALLOWED_DIRS) and a secret file outside it."""
    (tmp_path / "allowed").mkdir()
    (tmp_path / "secret.txt").write_text("root:$6$secret-hash")
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(tmp_path / "allowed"))
    return tmp_path


def test_server_paths_are_off_by_default_and_on_for_localhost(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_VIZ_ALLOWED_DIRS", raising=False)
    for address in (None, "", "0.0.0.0", "192.168.1.5"):
        with pytest.raises(ServerPathError, match="turned off"):
            resolve_server_path("/etc/passwd", server_path_policy(address))
    (tmp_path / "m.pt").write_bytes(b"x")
    assert resolve_server_path(str(tmp_path / "m.pt"), server_path_policy("127.0.0.1")) == tmp_path / "m.pt"
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", "none")
    with pytest.raises(ServerPathError, match="turned off"):
        resolve_server_path(str(tmp_path / "m.pt"), server_path_policy("localhost"))


SERVER_PATH_CASES = {  # name -> (path builder from the tmp folder, message)
    "outside the allowed folder": (lambda t: str(t / "secret.txt"), "outside the folders"),
    "dot-dot out": (lambda t: str(t / "allowed" / ".." / "secret.txt"), "outside the folders"),
    "symlink out": (lambda t: (os.symlink(t / "secret.txt", t / "allowed" / "l.txt"), str(t / "allowed" / "l.txt"))[1],
                    "outside the folders"),
    "folder holding a link out": (lambda t: (os.symlink(t / "secret.txt", t / "allowed" / "train.csv"),
                                             str(t / "allowed"))[1], "holds a link"),
    "another user's home": (lambda t: "~nonexistentuser/x.csv", "~name"),
    "NUL byte": (lambda t: str(t / "allowed" / "a\x00.csv"), "NUL byte"),
    "FIFO": (lambda t: str(hf.make_fifo(t / "allowed" / "p.csv")), "device, pipe or socket"),
    "missing file": (lambda t: str(t / "allowed" / "missing.csv"), "does not exist"),
    "over the size limit": (lambda t: ((t / "allowed" / "big.csv").write_bytes(b"x" * 5000),
                                       str(t / "allowed" / "big.csv"))[1], "over this app's limit"),
}


@pytest.mark.parametrize("case", list(SERVER_PATH_CASES))
def test_hostile_server_path_is_refused(case, allowed):
    build, message = SERVER_PATH_CASES[case]
    with pytest.raises(ServerPathError, match=message) as err:
        resolve_server_path(build(allowed), server_path_policy("0.0.0.0"), "any", max_bytes=1000)
    assert "secret-hash" not in str(err.value)


def test_device_is_refused_even_inside_an_allowed_folder(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", "/dev")
    with pytest.raises(ServerPathError, match="device, pipe or socket"):
        resolve_server_path("/dev/zero", server_path_policy(None))


# ------------------------------------------------------------------------------------------------ outputs

@pytest.mark.parametrize("target, message", [
    ("/proc/x.pt", "cannot write in /proc"),
    ("/nonexistent-folder/x.pt", "does not exist"),
    (".", "is a folder"),
    ("/dev/null", "not a regular file"),
])
def test_unwritable_output_fails_before_any_work(target, message):
    with pytest.raises(OutputNotWritable, match=message):
        check_writable_file(target)


def test_export_into_an_unwritable_folder_fails_first(recording):
    with pytest.raises(OutputNotWritable, match="cannot"):
        check_writable_folder("/proc/lstmvis")
    with pytest.raises(OutputNotWritable):
        export_lstmvis(recording[0], list("abcde"), "/proc/lstmvis")


def test_an_interrupted_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    path.write_bytes(b"previous")

    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new content")
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


# ----------------------------------------------------------------------------- memory and time, in a child

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import torch
    from lstm_viz.files.budgets import APP, LIBRARY
    from lstm_viz.files.model_files import inspect_model
    from lstm_viz.files.inputs import load_input_tensor
    from lstm_viz.training.checkpoint import load_checkpoint
    from torch import nn

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import io
    buf = io.BytesIO()
    torch.save(nn.LSTM(3, 4).state_dict(), buf)
    inspect_model(buf.getvalue())  # warm up torch's allocator and lazy imports
    folder = sys.argv[1]
    calls = {
        "inspect stride-0 hidden 6000 (app)": lambda: inspect_model(f"{folder}/h6000.pt", budget=APP),
        "inspect stride-0 hidden 6000 (library)": lambda: inspect_model(f"{folder}/h6000.pt", budget=LIBRARY),
        "inspect stride-0 hidden 100000": lambda: inspect_model(f"{folder}/h100000.pt"),
        "inspect deflated 320 MiB (app)": lambda: inspect_model(f"{folder}/bomb.pt", budget=APP),
        "inspect deflated 320 MiB (library)": lambda: inspect_model(f"{folder}/bomb.pt", budget=LIBRARY),
        "input stride-0 [1, 50M, 4]": lambda: load_input_tensor(f"{folder}/x.pt", "x.pt", 4, budget=APP),
        "input .npz bomb": lambda: load_input_tensor(f"{folder}/b.npz", "b.npz", 4, budget=APP),
        "checkpoint num_layers 10**6": lambda: load_checkpoint(f"{folder}/layers.pt"),
        "checkpoint hidden 100000": lambda: load_checkpoint(f"{folder}/hidden.pt"),
    }
    baseline = peak_mb()
    out = {}
    for name, call in calls.items():
        start = time.perf_counter()
        try:
            call()
            error = None
        except ValueError as err:
            error = f"{type(err).__name__}: {err}"
        out[name] = {"seconds": time.perf_counter() - start, "peak_above_baseline_mb": peak_mb() - baseline,
                     "error": error}
    print(json.dumps(out))
""")


def test_tampered_files_are_refused_fast_and_small_in_a_child(tmp_path):
    (tmp_path / "h6000.pt").write_bytes(hf.stride0_state_dict(6000))
    (tmp_path / "h100000.pt").write_bytes(hf.stride0_state_dict(100_000))
    hf.deflated_torch_file(tmp_path / "bomb.pt", mib=320)
    (tmp_path / "x.pt").write_bytes(hf.stride0_inputs())
    hf.npz_bomb(tmp_path / "b.npz", mib=300)
    (tmp_path / "layers.pt").write_bytes(hf.tampered_checkpoint(num_layers=10**6))
    (tmp_path / "hidden.pt").write_bytes(hf.tampered_checkpoint(hidden_size=100_000))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=1))  # the figures for the report (pytest -s)
    for name, r in results.items():
        assert r["error"] is not None, f"{name} was accepted"
        assert "Traceback" not in r["error"] and "alloc" not in r["error"].lower(), r["error"]
        assert r["seconds"] < 5, (name, r)  # a bound on a hang (10**6 layers took minutes), not a speed target
        assert r["peak_above_baseline_mb"] < 300, (name, r)


def test_library_budget_is_the_default_and_the_app_one_is_tighter():
    assert budgets.current() == budgets.LIBRARY
    for field in ("file_bytes", "expanded_bytes", "elements", "layers", "hidden", "steps", "corpus_bytes"):
        assert getattr(APP, field) < getattr(budgets.LIBRARY, field), field

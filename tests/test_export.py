"""Exports: .npz round trip, LSTMVis project folder, standalone HTML and PNG figures, safe file names."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from torch import nn

from lstm_viz.files.figure_files import figure_to_html, figure_to_png, write_figure_html
from lstm_viz.files.lstmvis import export_lstmvis, lstmvis_zip_bytes, parse_lstm_yml, read_lstmvis
from lstm_viz.files.npz import load_npz_recording, load_npz_trace, npz_bytes, trace_to_npz
from lstm_viz.files.out_paths import ExportError, ExportUnavailable, safe_filename
from lstm_viz.record.tracing import trace
from lstm_viz.record.results import Trace

pytestmark = pytest.mark.timeout(120)

TOKENS = [["The", "dog", "ate", "the", "apple"], ["Everybody", "read", "a b"]]  # "a b": a token with a space


@pytest.fixture(scope="module")
def lstm_trace() -> Trace:
    torch.manual_seed(0)
    module = nn.LSTM(3, 4, num_layers=2, bidirectional=True).eval()
    x = torch.randn(5, 2, 3)
    return trace(module, x, lengths=torch.tensor([5, 3]))


@pytest.fixture(scope="module")
def gru_trace() -> Trace:
    torch.manual_seed(1)
    module = nn.GRU(3, 2, batch_first=True).eval()
    return trace(module, torch.randn(1, 4, 3))


def _assert_same_trace(a: Trace, b: Trace) -> None:
    assert (a.kind, a.gate_names, a.nonlinearity, a.batch_first, a.meta) == \
           (b.kind, b.gate_names, b.nonlinearity, b.batch_first, b.meta)
    for name in ("output", "h_n", "c_n", "hidden", "cell", "mask", "lengths"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and torch.equal(x, y), name
    assert list(a.gates) == list(b.gates)
    for g in a.gates:
        assert torch.equal(a.gates[g], b.gates[g]), g


# --------------------------------------------------------------------------------------------- npz


def test_npz_round_trip_is_exact(lstm_trace, tmp_path):
    from lstm_viz.analysis import saturation, truth_table

    tt, sat = truth_table(lstm_trace), saturation(lstm_trace)
    path = tmp_path / "rec.npz"
    trace_to_npz(lstm_trace, path, tokens=TOKENS, analysis={"truth_table": tt, "saturation": sat,
                                                           "note": torch.tensor([1.5, 2.5])})
    with np.load(path, allow_pickle=False) as npz:  # documented names, readable without lstm-viz
        names = set(npz.files)
        assert {"gate_i", "gate_f", "gate_g", "gate_o", "cell", "hidden", "output", "h_n", "c_n", "mask",
                "lengths", "tokens", "meta_json", "truth_table_codes", "saturation_left_f",
                "saturation_right_f", "note"} <= names
        assert npz["tokens"].dtype.kind == "U" and npz["tokens"][1].tolist() == ["Everybody", "read", "a b", "", ""]
        assert npz["gate_f"].shape == (2, 2, 2, 5, 4)
    rec = load_npz_recording(path)
    _assert_same_trace(lstm_trace, rec.trace)
    assert rec.tokens == TOKENS
    assert np.array_equal(rec.analysis["truth_table_codes"], tt.codes)
    assert np.array_equal(rec.analysis["saturation_left_f"], sat.left["f"])
    assert rec.analysis["note"].tolist() == [1.5, 2.5]
    _assert_same_trace(lstm_trace, load_npz_trace(path.read_bytes()))


def test_npz_gru_in_memory(gru_trace):
    data = npz_bytes(gru_trace, tokens=["a", "b", "c", "d"])
    rec = load_npz_recording(io.BytesIO(data))
    _assert_same_trace(gru_trace, rec.trace)
    assert rec.trace.cell is None and rec.trace.batch_first and rec.tokens == [["a", "b", "c", "d"]]


def test_npz_bad_input(lstm_trace, gru_trace, tmp_path):
    with pytest.raises(ExportError, match="3 tokens but 5 valid steps"):
        npz_bytes(lstm_trace, tokens=[["a", "b", "c"], ["x", "y", "z"]])
    with pytest.raises(ExportError, match="1 sequences but the trace has a batch of 2"):
        npz_bytes(lstm_trace, tokens=["a", "b", "c", "d", "e"])
    with pytest.raises(ExportError, match="clash"):
        npz_bytes(gru_trace, analysis={"mask": np.zeros(3)})
    with pytest.raises(ExportError, match="without pickling"):
        npz_bytes(gru_trace, analysis={"odd": [object()]})
    with pytest.raises(ExportError, match="Not an lstm-viz .npz"):
        load_npz_trace(b"not a zip file")
    buf = io.BytesIO()
    np.savez(buf, hidden=np.zeros(3))
    with pytest.raises(ExportError, match="no 'meta_json'"):
        load_npz_trace(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, meta_json=np.array([{"format": "x"}], dtype=object))  # a pickled object array: refused
    with pytest.raises(ExportError, match="Not an lstm-viz .npz"):
        load_npz_trace(buf.getvalue())


# ----------------------------------------------------------------------------------------- LSTMVis


def _valid(values: torch.Tensor, lengths) -> np.ndarray:
    """[B, T, U] -> concatenated valid rows, computed independently of the exporter."""
    return np.concatenate([values[b, :n].numpy() for b, n in enumerate(lengths.tolist())])


def test_lstmvis_round_trip(lstm_trace, tmp_path):
    folder = tmp_path / "project"
    yml = export_lstmvis(lstm_trace, TOKENS, folder, name="my tagger")
    assert yml == folder.resolve() / "lstm.yml"
    assert sorted(p.name for p in folder.iterdir()) == ["lstm.yml", "states.h5", "train.dict", "train.h5"]
    with h5py.File(folder / "states.h5", "r") as h5:
        assert sorted(h5) == ["output1", "output2", "states1", "states2"]
        assert h5["states1"].shape == (8, 4) and h5["states1"].dtype == np.float32
    with h5py.File(folder / "train.h5", "r") as h5:
        assert h5["word_ids"].shape == (8,)
    dict_lines = (folder / "train.dict").read_text().splitlines()
    assert all(len(line.split()) == 2 for line in dict_lines)  # LSTMVis reads "word id" with line.split()
    assert dict_lines[0] == "The 1" and "a_b 8" in dict_lines

    project = read_lstmvis(folder)
    cfg = project.config
    assert cfg["name"] == "my tagger"
    assert cfg["files"] == {"states": "states.h5", "train": "train.h5", "words": "train.dict"}
    assert cfg["word_sequence"] == {"file": "train", "path": "word_ids", "dict_file": "words"}
    assert cfg["states"]["file"] == "states"
    assert {"type": "state", "layer": 2, "path": "states2"} in cfg["states"]["types"]
    assert {"type": "output", "layer": 1, "path": "output1", "transform": "none"} in cfg["states"]["types"]
    assert project.words == [w.replace(" ", "_") for seq in TOKENS for w in seq]
    lengths = lstm_trace.lengths
    for layer in (0, 1):
        assert np.array_equal(project.states[f"states{layer + 1}"], _valid(lstm_trace.cell[layer, 0], lengths))
        assert np.array_equal(project.states[f"output{layer + 1}"], _valid(lstm_trace.hidden[layer, 0], lengths))
    assert project.lengths.tolist() == [5, 3]
    assert [len(s) for s in project.split(project.states["states1"])] == [5, 3]


def test_lstmvis_yml_is_valid_yaml(lstm_trace, tmp_path):
    export_lstmvis(lstm_trace, TOKENS, tmp_path, layer=1, direction=1, include_gates=True,
                   name='quotes " and # hash', description="a: colon")
    text = (tmp_path / "lstm.yml").read_text()
    subset = parse_lstm_yml(text)
    import yaml

    assert yaml.safe_load(text) == subset
    assert subset["name"] == 'quotes " and # hash' and subset["description"].startswith("a: colon")
    paths = [t["path"] for t in subset["states"]["types"]]
    assert paths == ["states2", "output2", "gate_i2", "gate_f2", "gate_g2", "gate_o2"]
    gate_f = next(t for t in subset["states"]["types"] if t["path"] == "gate_f2")
    assert gate_f == {"type": "state", "layer": 2, "path": "gate_f2", "transform": "none", "unsigned": True}
    project = read_lstmvis(tmp_path)
    assert np.array_equal(project.states["gate_f2"], _valid(lstm_trace.gates["f"][1, 1], lstm_trace.lengths))
    assert np.array_equal(project.states["states2"], _valid(lstm_trace.cell[1, 1], lstm_trace.lengths))


def test_lstmvis_gru_and_zip(gru_trace):
    data = lstmvis_zip_bytes(gru_trace, ["w", "x", "w", "y"])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["lstmvis/lstm.yml", "lstmvis/states.h5", "lstmvis/train.dict",
                                         "lstmvis/train.h5"]
        assert zf.read("lstmvis/train.dict").decode() == "w 1\nx 2\ny 3\n"
        with h5py.File(io.BytesIO(zf.read("lstmvis/states.h5")), "r") as h5:
            assert list(h5) == ["states1"]  # GRU: h_t is the state
            assert np.array_equal(h5["states1"][()], gru_trace.hidden[0, 0, 0].numpy())


def test_lstmvis_bad_arguments(lstm_trace, gru_trace, tmp_path):
    with pytest.raises(ExportError, match="direction must be 0 for this trace"):
        export_lstmvis(gru_trace, ["a"] * 4, tmp_path, direction=1)
    with pytest.raises(ExportError, match=r"layer must be in 0\.\.1"):
        export_lstmvis(lstm_trace, TOKENS, tmp_path, layer=2)
    with pytest.raises(ExportError, match="must be different names"):
        export_lstmvis(gru_trace, ["a"] * 4, tmp_path, states_file="x.h5", words_file="x.h5")
    with pytest.raises(ExportError, match="no lstm.yml"):
        read_lstmvis(tmp_path / "nothing")


# ----------------------------------------------------------------------------------- safe file names


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"), ("..\\..\\win.ini", "win.ini"), ("..", "export"), ("/", "export"),
    (".hidden", "hidden"), ("a..b.h5", "a.b.h5"), ("gate heatmap: f?", "gate heatmap_ f_"), ("", "export"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_writes_stay_inside_the_folder(gru_trace, tmp_path):
    folder = tmp_path / "out"
    export_lstmvis(gru_trace, ["a"] * 4, folder, states_file="../../escape.h5", words_file="/etc/words.h5",
                   dict_file="..\\vocab")
    assert sorted(p.name for p in folder.iterdir()) == ["escape.h5", "lstm.yml", "vocab.dict", "words.h5"]
    assert not (tmp_path / "escape.h5").exists() and not Path("/etc/words.h5").exists()
    assert read_lstmvis(folder).words == ["a"] * 4
    fig = go.Figure(go.Scatter(y=[1, 2]))
    html_path = write_figure_html(fig, folder, "../../figure")
    assert html_path == folder.resolve() / "figure.html" and html_path.is_file()
    (folder / "link.h5").symlink_to(tmp_path / "outside.h5")
    with pytest.raises(ExportError, match="symbolic link"):
        export_lstmvis(gru_trace, ["a"] * 4, folder, states_file="link.h5")
    assert not (tmp_path / "outside.h5").exists()


# -------------------------------------------------------------------------------------------- figures


def test_html_is_standalone_and_holds_the_data():
    fig = go.Figure(go.Heatmap(z=[[0.125, 0.875]], name="forget-gate-unique-name"))
    html = figure_to_html(fig, title="Gates <f>")
    assert html.lstrip().lower().startswith(("<!doctype html>", "<html>")) and "<title>Gates &lt;f&gt;</title>" in html
    assert "forget-gate-unique-name" in html and "0.875" in html
    assert not re.findall(r"<script[^>]*\bsrc=", html)  # plotly.js inlined, nothing fetched: works offline
    assert len(html) > 1_000_000


def test_png_unavailable_is_explained(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kaleido" else real(name, *a))
    with pytest.raises(ExportUnavailable, match="pip install kaleido"):
        figure_to_png(go.Figure())


def test_png_export():
    pytest.importorskip("kaleido", reason="kaleido is optional: pip install kaleido")
    try:
        png = figure_to_png(go.Figure(go.Heatmap(z=[[0, 1], [1, 0]])), width=200, height=150, scale=1)
    except ExportUnavailable as err:
        pytest.skip(f"no browser for kaleido here: {err}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 500


def test_png_without_a_browser(monkeypatch):
    pytest.importorskip("kaleido", reason="kaleido is optional: pip install kaleido")
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")  # kaleido's own override of where Chrome is
    with pytest.raises(ExportUnavailable, match="apt-get install chromium"):
        figure_to_png(go.Figure())


def test_every_format_records_what_the_model_read_next_to_what_was_typed(tmp_path):
    """'zebra' is outside the tutorial tagger's vocabulary: the model read <unk>; npz, LSTMVis and HTML keep
    both the typed word and <unk>."""
    from lstm_viz.data import tutorial_corpus
    from lstm_viz.explore.subject import ModelSubject
    from lstm_viz.explore.tokens_read import read_rows, tokens_read
    from lstm_viz.training import TRAIN_PRESETS, Trainer
    from lstm_viz.training.models import preset

    trainer = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    subject = ModelSubject("tagger", trainer.model.eval(), trainer.encoder)
    probe = subject.probe([("The", "zebra", "ate", "the", "apple"), ("Everybody", "read", "zebra")])
    read = tokens_read(probe)
    assert read.read == [["The", "<unk>", "ate", "the", "apple"], ["Everybody", "read", "<unk>"]]
    assert read.unknown == ["zebra"] and read.n_unknown == 2 and read.n_tokens == 8
    assert read.labels(1) == ["Everybody", "read", "zebra→unk"]
    assert read_rows(read, 0) == [{"position": 1, "typed": "zebra", "the model read": "<unk>"}]
    assert read.note() == "The model read 2 of 8 tokens as <unk> (not in its vocabulary): zebra."
    rec = subject.trace(probe)
    # the <unk> row is what the recording really holds: the same trace as typing a known <unk> stand-in
    assert torch.equal(subject.trace(subject.probe([("The", "<unk>", "ate", "the", "apple"),
                                                    ("Everybody", "read", "<unk>")])).hidden, rec.hidden)

    back = load_npz_recording(npz_bytes(rec, read.typed, tokens_read=read.read))
    assert back.tokens == read.typed and back.tokens_read == read.read
    with np.load(io.BytesIO(npz_bytes(rec, read.typed, tokens_read=read.read))) as npz:
        assert list(npz["tokens_typed"][1]) == ["Everybody", "read", "zebra", "", ""]
        assert list(npz["tokens_read"][1]) == ["Everybody", "read", "<unk>", "", ""]
    plain = load_npz_recording(npz_bytes(rec, read.typed))  # no reading given: read as typed
    assert plain.tokens_read == plain.tokens == read.typed
    with pytest.raises(ExportError, match="typed tokens too"):
        npz_bytes(rec, None, tokens_read=read.read)

    export_lstmvis(rec, read.typed, tmp_path / "vis", tokens_read=read.read)
    project = read_lstmvis(tmp_path / "vis")
    assert project.words == [t for seq in read.read for t in seq]
    assert project.typed_words == [t for seq in read.typed for t in seq]
    assert "<unk> " in (tmp_path / "vis" / "train.dict").read_text() and "zebra" not in \
        (tmp_path / "vis" / "train.dict").read_text()
    assert "zebra " in (tmp_path / "vis" / "typed.dict").read_text()

    html = figure_to_html(go.Figure(), title="t", caption=read.note())
    assert '<p class="lstm-viz-caption"' in html and "2 of 8 tokens as &lt;unk&gt;" in html
    assert html.index("lstm-viz-caption") < html.rindex("</body>")

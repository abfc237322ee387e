"""AppTest: open a user's own model on 'Inspect a model', analyse it on Gates, take it away on 'Export'."""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from lstm_viz.files import load_npz_recording, read_lstmvis

from .apptest_util import assert_clean, open_page
from .test_inspect_subject import EMB, HIDDEN, VOCAB, make_user_model

pytestmark = pytest.mark.timeout(240)


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def user_model():
    return make_user_model()


@pytest.fixture(scope="module")
def model_file(user_model) -> bytes:
    """A larger model's state_dict: the user's tagger plus a GRU decoder, so there are two layers to pick from."""
    torch.manual_seed(5)
    decoder = nn.GRU(2 * HIDDEN, 4)
    return _torch_bytes({**user_model.state_dict(), **{f"decoder.{k}": v for k, v in decoder.state_dict().items()}})


@pytest.fixture()
def downloads(monkeypatch):
    """file name -> bytes of every download button (deferred ones are made by calling their callable)."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    got: dict[str, object] = {}  # media without a file name (e.g. the page icon) are not downloads
    add_deferred, load = MediaFileManager.add_deferred, MemoryMediaFileStorage.load_and_get_id

    def spy_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        got[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kw)

    def spy_load(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None:
            got[filename] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy_load)
    return got


def _errors(at) -> str:
    return " | ".join(e.value for e in at.error)


def _upload(at, key: str, name: str, data: bytes):
    at.file_uploader(key=key).upload(name, data)
    at.run()
    assert_clean(at)
    return at


def _use_user_model(at, model_file: bytes, steps: int = 12, batch: int = 1):
    """Upload, pick the LSTM, confirm, text through its embedding + a vocabulary file, random inputs, use it."""
    _upload(at, "inspect_model_upload", "tagger.pt", model_file)
    assert not at.error, _errors(at)
    prefix = at.selectbox(key="inspect_prefix")
    assert prefix.options == ["lstm.", "decoder."] and prefix.value == "lstm."
    prefix.set_value("decoder.").run()
    assert [m.value for m in at.metric][:2] == ["GRU", "10"]
    at.selectbox(key="inspect_prefix").set_value("lstm.").run()
    assert [m.value for m in at.metric] == ["LSTM", "7", "5", "2", "2", "none"]
    assert at.button(key="inspect_use").disabled  # not before the architecture is confirmed
    at.checkbox(key="inspect_confirm").check().run()
    assert at.selectbox(key="inspect_embedding").value == "embedding.weight"
    _upload(at, "inspect_vocab_upload", "vocab.txt", "\n".join(VOCAB).encode())
    at.number_input(key="inspect_steps").set_value(steps).run()
    at.number_input(key="inspect_batch").set_value(batch).run()
    at.button(key="inspect_use").click().run()
    assert_clean(at)
    assert not at.error, _errors(at)
    assert any("is now the active model" in s.value for s in at.success)
    return at


def test_use_an_uploaded_model_on_the_gates_page(model_file):
    at = _use_user_model(open_page("app_pages/inspect_model.py"), model_file)
    assert at.session_state["lstm_viz_state"].active == "file:tagger · lstm"  # the model every page now shows
    at.switch_page("app_pages/gates.py")
    at.run()
    assert_clean(at)
    assert not at.error, _errors(at)
    # typed text goes through the file's embedding; the random input is one of the prepared inputs
    assert at.text_input(key="gates_text").value == "The dog ate the apple"
    assert at.get("plotly_chart")
    at.radio(key="gates_mode").set_value("Pick an input").run()
    assert at.selectbox(key="gates_preset").value == "Random inputs (12 steps, seed 0)"
    assert_clean(at)
    assert at.get("plotly_chart")


def test_local_path_and_saved_input_tensor(user_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(tmp_path))  # typed server paths are off unless allowed
    path = tmp_path / "lstm_only.pt"
    torch.save(user_model.lstm.state_dict(), path)
    at = open_page("app_pages/inspect_model.py")
    at.radio(key="inspect_model_how").set_value("Path on the machine running the app").run()
    at.text_input(key="inspect_model_path").set_value(str(path)).run()
    assert_clean(at)
    assert not at.error, _errors(at)
    assert [m.value for m in at.metric][0] == "LSTM"
    assert any("no typed text" in c.value for c in at.caption)  # a bare LSTM file has no embedding
    at.checkbox(key="inspect_confirm").check()
    at.checkbox(key="inspect_tensor_on").check().run()
    x = np.random.default_rng(0).standard_normal((2, 9, EMB)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, x)
    _upload(at, "inspect_tensor_upload", "batch.npy", buf.getvalue())
    assert any("shape (2, 9, 7)" in c.value for c in at.caption), [c.value for c in at.caption]
    at.button(key="inspect_use").click().run()
    assert_clean(at)
    assert not at.error, _errors(at)
    at.switch_page("app_pages/export.py")
    at.run()
    assert_clean(at)
    assert at.selectbox(key="export_preset").options[0] == "batch.npy (2 × 9 steps)"


@pytest.mark.parametrize("name, data, message", [
    ("linear.pt", _torch_bytes(nn.Linear(3, 2).state_dict()), "No recurrent weights found"),
    ("empty.pt", b"", "empty"),
    ("notes.pt", b"just some text, not a torch file", "Not a PyTorch file"),
    ("pickle.pt", pickle.dumps({"a": 1}), "Not a PyTorch file"),
    ("module.pt", _torch_bytes(nn.LSTM(2, 3)), "Python objects"),
    ("bad.pt", _torch_bytes({**nn.LSTM(3, 4, num_layers=2).state_dict(), "weight_hh_l1": torch.zeros(16, 3)}),
     r"weight_hh_l1 has shape (16, 3), expected (16, 4)"),
], ids=lambda v: v if isinstance(v, str) and v.endswith(".pt") else "")  # named by file (the bytes vary per run)
def test_bad_model_files_show_an_error(name, data, message):
    at = _upload(open_page("app_pages/inspect_model.py"), "inspect_model_upload", name, data)
    assert message in _errors(at)
    assert not at.metric  # the page stopped before showing an architecture


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_running_pickle_and_bad_inputs(user_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(tmp_path))  # typed server paths are off unless allowed
    marker = tmp_path / "ran.txt"
    at = _upload(open_page("app_pages/inspect_model.py"), "inspect_model_upload", "evil.pt",
                 _torch_bytes({"weight_ih_l0": torch.zeros(4, 2), "x": _Evil(str(marker))}))
    assert "Python objects that would run code" in _errors(at) and not marker.exists()
    # a path that does not exist
    at.radio(key="inspect_model_how").set_value("Path on the machine running the app").run()
    at.text_input(key="inspect_model_path").set_value(str(tmp_path / "missing.pt")).run()
    assert_clean(at)
    assert "does not exist" in _errors(at)
    # a good model, then inputs of the wrong width and a broken vocabulary: errors, the page keeps going
    at.radio(key="inspect_model_how").set_value("Upload").run()
    _upload(at, "inspect_model_upload", "tagger.pt", _torch_bytes(user_model.state_dict()))
    assert not at.error, _errors(at)
    at.checkbox(key="inspect_tensor_on").check().run()
    _upload(at, "inspect_tensor_upload", "wide.pt", _torch_bytes(torch.randn(6, 5)))
    assert "expects input_size 7" in _errors(at)
    _upload(at, "inspect_vocab_upload", "vocab.txt", b"the\n\ndog\n")
    assert "Line 2 of the vocabulary file is empty" in _errors(at)
    assert at.button(key="inspect_use") is not None and not at.exception


def test_export_downloads_load_back(model_file, downloads, tmp_path):
    at = _use_user_model(open_page("app_pages/inspect_model.py"), model_file, steps=8, batch=2)
    at.switch_page("app_pages/export.py")
    at.run()
    assert_clean(at)
    at.radio(key="export_mode").set_value("Pick an input").run()
    assert_clean(at)
    assert not at.error, _errors(at)
    assert {"tagger_lstm.npz", "tagger_lstm-lstmvis.zip"} <= set(downloads), list(downloads)
    html_name = next(n for n in downloads if n.endswith(".html"))
    assert html_name.startswith("tagger_lstm-gates-l0-d0-s1")

    rec = load_npz_recording(downloads["tagger_lstm.npz"]())
    assert rec.trace.kind == "lstm" and tuple(rec.trace.hidden.shape) == (2, 2, 2, 8, HIDDEN)
    assert rec.tokens == [[str(t) for t in range(8)]] * 2
    assert {"truth_table_codes", "saturation_left_f"} <= set(rec.analysis)
    # the recording is the user's own LSTM on the random inputs the page offered
    x = torch.randn(2, 8, EMB, generator=torch.Generator().manual_seed(0))
    model = make_user_model()
    with torch.no_grad():
        out, _ = model.lstm(x)
    torch.testing.assert_close(rec.trace.output.transpose(0, 1), out, rtol=0, atol=1e-6)

    with zipfile.ZipFile(io.BytesIO(downloads["tagger_lstm-lstmvis.zip"]())) as zf:
        zf.extractall(tmp_path)
    project = read_lstmvis(tmp_path / "lstmvis")
    assert len(project.words) == 16 and set(project.states) == {"states1", "output1", "states2", "output2"}
    np.testing.assert_allclose(project.states["output2"][:8], rec.trace.hidden[1, 0, 0].numpy(), atol=1e-6)

    html = downloads[html_name]()
    assert html.lstrip().lower().startswith("<!doctype html>") and "plotly" in html
    assert "<title>tagger · lstm</title>" in html

    # another layer, direction and sequence: the figure and its file name follow
    at.selectbox(key="export_layer").set_value(1).run()
    at.radio(key="export_direction").set_value(1).run()
    at.selectbox(key="export_seq").set_value(1).run()
    assert_clean(at)
    assert any(n.startswith("tagger_lstm-gates-l1-d1-s2") for n in downloads)


def test_export_with_the_tutorial_tagger(downloads):
    at = open_page("app_pages/export.py")
    at.button(key="quick_the Export page").click().run()
    assert_clean(at)
    assert at.text_input(key="export_text").value == "The dog ate the apple"
    rec = load_npz_recording(downloads["Tutorial_tagger.npz"]())  # (a fresh session first showed the EWT model)
    assert rec.tokens == [["The", "dog", "ate", "the", "apple"]]


def test_export_records_what_the_model_read_next_to_what_was_typed(downloads, tmp_path):
    """'zebra' is outside the tutorial tagger's vocabulary: the model read <unk>, and every file says so."""
    at = open_page("app_pages/export.py")
    at.button(key="quick_the Export page").click().run()
    at.text_input(key="export_text").set_value("The dog ate the zebra").run()
    assert_clean(at)
    assert any("read 1 of 5 tokens as <unk>" in w.value and "zebra" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    table = at.dataframe[0].value
    assert list(table["typed"]) == ["zebra"] and list(table["the model read"]) == ["<unk>"]
    typed, read = ["The", "dog", "ate", "the", "zebra"], ["The", "dog", "ate", "the", "<unk>"]
    rec = load_npz_recording(downloads["Tutorial_tagger.npz"]())  # (a fresh session first showed the EWT model)
    assert rec.tokens == [typed] and rec.tokens_read == [read]
    with zipfile.ZipFile(io.BytesIO(downloads["Tutorial_tagger-lstmvis.zip"]())) as zf:
        zf.extractall(tmp_path)
    project = read_lstmvis(tmp_path / "lstmvis")
    assert project.words == read and project.typed_words == typed
    html = downloads["Tutorial_tagger-gates-l0-d0-s1.html"]()
    assert "read 1 of 5 tokens as &lt;unk&gt; (not in its vocabulary): zebra." in html
    heat = [c for c in at.get("plotly_chart")][0]
    assert "zebra→unk" in heat.proto.spec
    # all words known: no warning, the files carry the same words twice
    at.text_input(key="export_text").set_value("The dog ate the apple").run()
    assert not at.warning and any("read all 5 tokens as typed" in c.value for c in at.caption)
    rec = load_npz_recording(downloads["Tutorial_tagger.npz"]())
    assert rec.tokens == rec.tokens_read == [["The", "dog", "ate", "the", "apple"]]


def test_lstm_viz_checkpoint_opens_with_its_head():
    from lstm_viz.training.checkpoint import checkpoint_bytes
    from lstm_viz.data import tutorial_corpus
    from lstm_viz.training.models import preset
    from lstm_viz.training import TRAIN_PRESETS, Trainer
    from lstm_viz.training.loaded_run import LoadedRun

    trainer = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    trainer.run()
    ckpt = checkpoint_bytes(trainer.model, preset("tutorial"), trainer.encoder)  # what the Train page saves
    at = _upload(open_page("app_pages/inspect_model.py"), "inspect_model_upload", "tutorial.pt", ckpt)
    assert not at.error, _errors(at)
    assert any("lstm-viz checkpoint" in i.value for i in at.info)
    at.checkbox(key="inspect_confirm").check().run()
    at.button(key="inspect_use").click().run()
    assert_clean(at)
    state = at.session_state["lstm_viz_state"]
    run = state.runs["tutorial"]  # one path for checkpoints: a finished run, as the Train page loads it
    assert isinstance(run, LoadedRun) and state.active == "run:tutorial" and not state.inspected
    tags = run.predict([["The", "dog", "ate", "the", "apple"]])
    assert [list(t) for t in tags] == [["DET", "NN", "V", "DET", "NN"]]
    at.switch_page("app_pages/gates.py")
    at.run()
    assert_clean(at)
    assert not at.error, _errors(at)


def test_plain_rnn_with_relu_exports_without_gates(downloads):
    torch.manual_seed(3)
    rnn = nn.RNN(4, 6, nonlinearity="relu")
    at = _upload(open_page("app_pages/inspect_model.py"), "inspect_model_upload", "rnn.pt",
                 _torch_bytes(rnn.state_dict()))
    assert at.radio(key="inspect_nonlinearity").value == "tanh"  # torch's default until the user says otherwise
    at.radio(key="inspect_nonlinearity").set_value("relu").run()
    assert "nonlinearity='relu'" in at.code[0].value
    at.checkbox(key="inspect_confirm").check().run()
    at.button(key="inspect_use").click().run()
    at.switch_page("app_pages/export.py")
    at.run()
    assert_clean(at)
    assert not at.error, _errors(at)
    assert at.checkbox(key="export_vis_gates").disabled
    rec = load_npz_recording(downloads["rnn.npz"]())
    assert (rec.trace.kind, rec.trace.nonlinearity, rec.analysis) == ("rnn", "relu", {})
    x = torch.randn(1, 20, 4, generator=torch.Generator().manual_seed(0)).transpose(0, 1)
    with torch.no_grad():
        torch.testing.assert_close(rec.trace.output, rnn(x)[0], rtol=0, atol=1e-6)


def test_confirmation_is_asked_again_for_another_layer(model_file):
    at = _upload(open_page("app_pages/inspect_model.py"), "inspect_model_upload", "tagger.pt", model_file)
    at.checkbox(key="inspect_confirm").check().run()
    assert not at.button(key="inspect_use").disabled
    at.selectbox(key="inspect_prefix").set_value("decoder.").run()
    assert_clean(at)
    assert not at.checkbox(key="inspect_confirm").value and at.button(key="inspect_use").disabled

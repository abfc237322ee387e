"""Hostile-input catalogue, app pages (AppTest on the real router): every hostile upload or typed path ends in a
message on the page, no exception element, no server file's content shown, nothing written outside the app's
folders. With the default settings (streamlit binds every interface) typed server paths are off."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from torch import nn

from . import hostile_files as hf
from .apptest_util import assert_clean, open_page

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[1]
INSPECT, TRAIN = "app_pages/inspect_model.py", "app_pages/train.py"
SECRET = "root:$6$secret-hash-of-the-server"


def page_text(at: AppTest) -> str:
    """Everything a user can read on the page (messages, captions, markdown, code, metrics)."""
    parts = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown", "code", "text", "exception"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [str(m.value) for m in at.metric]
    return "\n".join(parts)


def app_folders_snapshot() -> set[str]:
    """Top-level entries of the repository and of runs/ (the app's only write folder)."""
    runs = ROOT / "runs"
    return {p.name for p in ROOT.iterdir()} | ({f"runs/{p.name}" for p in runs.rglob("*")} if runs.is_dir() else set())


@pytest.fixture
def secret(tmp_path) -> Path:
    """A server file outside every folder the app may read."""
    path = tmp_path / "elsewhere" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET + "\nsecond line\n")
    return path


@pytest.fixture
def allowed(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(folder))
    return folder


@pytest.fixture(autouse=True)
def nothing_written_outside(secret):
    before, secret_before = app_folders_snapshot(), sorted(os.listdir(secret.parent))
    yield
    assert app_folders_snapshot() - before <= {"runs", "runs/uploads"}  # at most the (empty) upload folder
    assert not any((ROOT / "runs" / "uploads").glob("*")) if (ROOT / "runs" / "uploads").is_dir() else True
    assert sorted(os.listdir(secret.parent)) == secret_before


def _check(at: AppTest) -> str:
    assert_clean(at)  # no stException element
    text = page_text(at)
    assert SECRET not in text and "secret-hash" not in text
    return text


# ------------------------------------------------------------------------------- default settings: paths off

def test_default_settings_offer_no_server_paths_on_inspect(monkeypatch):
    monkeypatch.delenv("LSTM_VIZ_ALLOWED_DIRS", raising=False)
    at = open_page(INSPECT)
    assert at.radio(key="inspect_model_how").options == ["Upload"]
    _check(at)


def test_default_settings_refuse_a_local_path_on_train(secret, monkeypatch):
    monkeypatch.delenv("LSTM_VIZ_ALLOWED_DIRS", raising=False)
    at = open_page(TRAIN)
    at.radio(key="tr_source").set_value("Local path").run()
    at.text_input(key="tr_path").set_value(str(secret)).run()
    at.button(key="tr_start").click().run()
    text = _check(at)
    assert "turned off" in text and "LSTM_VIZ_ALLOWED_DIRS" in text


# ----------------------------------------------------------------------- allowed folders: paths stay inside

def _typed_model_path(at: AppTest, text: str) -> str:
    at.radio(key="inspect_model_how").set_value("Path on the machine running the app").run()
    at.text_input(key="inspect_model_path").set_value(text).run()
    return _check(at)


TYPED_PATH_CASES = {  # name -> (path text from (secret, allowed folder), message)
    "a file outside": (lambda s, a: str(s), "outside the folders"),
    "dot-dot out": (lambda s, a: f"{a}/../elsewhere/shadow", "outside the folders"),
    "a symlink out": (lambda s, a: (os.symlink(s, a / "m.pt"), str(a / "m.pt"))[1], "outside the folders"),
    "another user's home": (lambda s, a: "~nonexistentuser/x.pt", "~name"),
    "a NUL byte": (lambda s, a: f"{a}/m\x00.pt", "NUL byte"),
    "a FIFO": (lambda s, a: str(hf.make_fifo(a / "p.pt")), "device, pipe or socket"),
    "a device": (lambda s, a: "/dev/zero", "outside the folders"),
    "a folder": (lambda s, a: str(a), "is a folder"),
}


@pytest.mark.parametrize("case", list(TYPED_PATH_CASES))
def test_typed_model_path_stays_inside_the_allowed_folders(case, secret, allowed):
    build, message = TYPED_PATH_CASES[case]
    text = _typed_model_path(open_page(INSPECT), build(secret, allowed))
    assert message in text


def test_train_local_path_outside_and_tilde_user(secret, allowed):
    at = open_page(TRAIN)
    at.radio(key="tr_source").set_value("Local path").run()
    for typed, message in ((str(secret), "outside the folders"), ("~nonexistentuser/x.csv", "~name"),
                           (f"{allowed}/x\x00.csv", "NUL byte")):
        at.text_input(key="tr_path").set_value(typed).run()
        at.button(key="tr_start").click().run()
        assert message in _check(at)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(5, 3)
        self.lstm = nn.LSTM(3, 4)


def test_vocabulary_from_a_server_path_is_counted_not_shown(allowed):
    (allowed / "vocab.txt").write_text("\n".join([SECRET, "tok-b", "tok-c", "tok-d", "tok-e"]))
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("tagger.pt", hf.torch_bytes(Tagger().state_dict()))
    at.run()
    at.radio(key="inspect_vocab_how").set_value("Path on the machine running the app").run()
    at.text_input(key="inspect_vocab_path").set_value(str(allowed / "vocab.txt")).run()
    text = _check(at)
    assert "5 tokens read from vocab.txt" in text and "tok-b" not in text


# --------------------------------------------------------------------------------------- hostile uploads

def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


MODEL_UPLOADS = {  # name -> (bytes builder, message on the page)
    "stride-0 hidden 6000": (lambda tmp: hf.stride0_state_dict(6000), "stores only"),
    "stride-0 hidden 100,000": (lambda tmp: hf.stride0_state_dict(100_000), "stores only"),
    "deflated 320 MiB": (lambda tmp: hf.deflated_torch_file(tmp / "b.pt", 320).read_bytes(), "once decompressed"),
    "code-running pickle": (lambda tmp: hf.code_pickle(tmp / "pwned"), "Python objects"),
    "nine layers": (lambda tmp: hf.torch_bytes(nn.LSTM(2, 2, num_layers=9).state_dict()), "number of layers"),
    "random bytes": (lambda tmp: os.urandom(500), "Not a PyTorch file"),
}


@pytest.mark.parametrize("case", list(MODEL_UPLOADS))
def test_hostile_model_upload_shows_a_message(case, tmp_path):
    build, message = MODEL_UPLOADS[case]
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("m.pt", build(tmp_path))
    at.run()
    assert message in _check(at)
    assert not (tmp_path / "pwned").exists()


def test_nan_weights_show_a_warning():
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("nan.pt", hf.nan_lstm())
    at.run()
    _check(at)
    assert any("NaN or infinite" in w.value for w in at.warning)


def test_tampered_checkpoint_opens_without_its_head_and_says_why():
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("ckpt.pt", hf.tampered_checkpoint(num_layers=10**6))
    at.run()
    at.checkbox(key="inspect_confirm").check().run()
    at.button(key="inspect_use").click().run()
    _check(at)
    assert any("is now the active model" in s.value for s in at.success)  # the recurrent layer itself is fine
    assert any("without its head" in w.value and "num_layers = 1000000" in w.value for w in at.warning)


INPUT_UPLOADS = {
    "stride-0 [1, 50M, 4]": ("x.pt", lambda: hf.stride0_inputs(features=4), "stores only"),
    "NaN inputs": ("x.npy", lambda: _npy(np.full((3, 4), np.nan, np.float32)), "NaN"),
    "too many steps": ("x.npy", lambda: _npy(np.zeros((6000, 4), np.float32)), "number of steps"),
    "object array": ("x.npy", lambda: _npy(np.array([{"a": 1}], dtype=object)), "not a plain numeric"),
}


@pytest.mark.parametrize("case", list(INPUT_UPLOADS))
def test_hostile_input_upload_shows_a_message(case):
    name, build, message = INPUT_UPLOADS[case]
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("lstm.pt", hf.torch_bytes(nn.LSTM(4, 3).state_dict()))
    at.run()
    at.checkbox(key="inspect_tensor_on").check().run()
    at.file_uploader(key="inspect_tensor_upload").upload(name, build())
    at.run()
    assert message in _check(at)


@pytest.mark.parametrize("case, data, message", [
    ("num_layers 10**6", lambda: hf.tampered_checkpoint(num_layers=10**6), "num_layers"),
    ("hidden 100,000", lambda: hf.tampered_checkpoint(hidden_size=100_000), "hidden_size"),
    ("stride-0 weights", lambda: hf.stride0_state_dict(6000), "stores only"),
])
def test_train_page_checkpoint_loader_refuses_tampered_files(case, data, message):
    at = open_page(TRAIN)
    at.file_uploader(key="tr_ckpt").set_value(("c.pt", data(), "application/octet-stream")).run()
    assert message in _check(at)


# ---------------------------------------------------------------------------------------- the page guard

def _failing_page():
    from app_pages.page_guard import run_page

    class Navigation:
        title = "broken"

        def run(self):
            raise RuntimeError("/srv/secret/path leaked in a traceback")

    run_page(Navigation())


def test_unexpected_error_is_a_short_message_and_a_log_line(caplog):
    at = AppTest.from_function(_failing_page)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "Something went wrong on this page" in at.error[0].value
    assert "/srv/secret" not in at.error[0].value
    assert any("/srv/secret" in r.exc_text for r in caplog.records if r.exc_text)



def _failing_render():
    from app_pages.page_guard import run_page

    def render():  # router.py's whole render step: navigation, sidebar, page
        raise TypeError("'float' object is not subscriptable")  # e.g. a crafted widget value breaks the sidebar

    run_page(render)


def test_the_guard_also_covers_code_outside_the_page():
    at = AppTest.from_function(_failing_render)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "reload the page" in at.error[0].value and "float" not in at.error[0].value


def test_an_error_outside_the_guard_is_redacted_by_the_server_settings(tmp_path):
    """.streamlit/config.toml's client.showErrorDetails: an error Streamlit itself shows carries no message."""
    script = tmp_path / "broken.py"
    script.write_text('raise ValueError("/srv/secret/path")\n')
    at = AppTest.from_file(str(script))
    at.run()
    assert len(at.exception) == 1 and "/srv/secret" not in at.exception[0].value
    assert "redacted" in at.exception[0].value and not at.exception[0].stack_trace


def test_nan_weights_are_named_on_the_pages_that_draw_them():
    at = open_page(INSPECT)
    at.file_uploader(key="inspect_model_upload").upload("nan.pt", hf.nan_lstm())
    at.run()
    at.checkbox(key="inspect_confirm").check().run()
    at.button(key="inspect_use").click().run()
    for page in ("app_pages/gates.py", "app_pages/saturation.py"):
        at.switch_page(page)
        at.run()
        _check(at)
        assert any("NaN or infinite" in w.value for w in at.warning), page

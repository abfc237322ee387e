"""AppTest: the Train page — live training in a thread, stop, NaN, bad input, save/reload, session isolation."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from lstm_viz.training.checkpoint import load_checkpoint
from lstm_viz.training.run import TRAINED_HERE
from app_pages._common import subject_of

from .apptest_util import assert_clean, open_page

pytestmark = pytest.mark.timeout(240)

PAGE = "app_pages/train.py"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def runs(at) -> dict:
    return at.session_state["lstm_viz_state"].runs if "lstm_viz_state" in at.session_state else {}


def wait_until_ended(at, limit_s: float = 90.0) -> None:
    """`run_every` fragments do not fire in AppTest: rerun the page until no run of the session is running."""
    deadline = time.time() + limit_s
    while any(r.is_running for r in runs(at).values()):
        assert time.time() < deadline, "training did not end in time"
        time.sleep(0.2)
        at.run()
    at.run()


@pytest.fixture
def sessions():
    """Fresh sessions of the app on the Train page; every run still training is stopped afterwards."""
    opened = []

    def new():
        at = open_page(PAGE)
        opened.append(at)
        return at

    yield new
    for at in opened:
        for run in runs(at).values():
            run.stop()
            if run.origin == TRAINED_HERE:
                run.trainer.join(10)


def start(at) -> None:
    at.button(key="tr_start").click().run()


def test_cold_start_tutorial_trains_saves_and_reloads(sessions):
    at = sessions()
    assert_clean(at)
    assert any("No run yet" in i.value for i in at.info)
    start(at)
    assert_clean(at)
    assert len(runs(at)) == 1
    assert at.session_state["lstm_viz_state"].active == at.session_state["model_picker"] == "run:tutorial"
    wait_until_ended(at)
    assert_clean(at)
    (run,) = runs(at).values()
    assert run.status == "finished" and run.name == "tutorial"
    assert any("finished 300 epochs" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Train accuracy"] == "100.0%" and metrics["Dev accuracy"] == "100.0%"
    assert len(at.get("plotly_chart")) == 2  # loss/accuracy curves and per-gate gradient norms
    table = at.dataframe[0].value
    assert list(table["status"]) == ["finished"] and list(table["steps"]) == [600]
    # Save: the download offers a checkpoint that reloads into the same tagger
    (button,) = at.get("download_button")
    assert "tutorial" in button.label
    (data,) = at.session_state["tr_checkpoint"].values()
    model, bundle = load_checkpoint(data)
    assert bundle.extra["dataset"] == "tutorial" and bundle.metrics["steps"] == 600
    from lstm_viz.training import predict
    assert predict(model, bundle.encoder, [["The", "dog", "ate", "the", "apple"]]) == [("DET", "NN", "V", "DET", "NN")]
    # Reload: the checkpoint becomes a finished run next to the first one
    at.file_uploader(key="tr_ckpt").set_value(("tutorial.pt", data, "application/octet-stream")).run()
    assert_clean(at)
    assert [r.status for r in runs(at).values()] == ["finished", "finished"]
    loaded = runs(at)["tutorial (loaded)"]
    assert loaded.snapshot().step == 600 and loaded.corpus is not None  # its built-in dataset came back
    subject = subject_of(loaded)
    assert subject.predict([["The", "dog", "ate", "the", "apple"]]) == [("DET", "NN", "V", "DET", "NN")]
    assert any("Loaded" in s.value for s in at.success)
    # the new run is the picked model (set from the upload's callback, before the sidebar picker is drawn)
    assert at.session_state["lstm_viz_state"].active == at.session_state["model_picker"] == "run:tutorial (loaded)"
    assert len(at.dataframe[0].value) == 2
    # A file that is not a checkpoint: a clear error, nothing lost
    at.file_uploader(key="tr_ckpt").set_value(("junk.pt", b"not a checkpoint at all", "application/octet-stream"))
    at.run()
    assert_clean(at)
    assert any("not a torch checkpoint" in e.value for e in at.error) and len(runs(at)) == 2


def test_stop_keeps_the_run(sessions):
    at = sessions()
    at.selectbox(key="tr_preset").set_value("pos-bilstm").run()  # generated-pos, a BiLSTM tagger
    at.number_input(key="tr_epochs").set_value(200).run()
    at.number_input(key="tr_limit").set_value(400).run()
    start(at)
    assert_clean(at)
    (run,) = runs(at).values()
    assert run.is_running and run.dataset == "generated-pos"
    assert at.button(key="tr_start").disabled  # one training run per session at a time
    deadline = time.time() + 60
    while run.snapshot().step < 3:
        assert time.time() < deadline
        time.sleep(0.2)
        at.run()
    assert_clean(at)
    assert at.get("progress") and "ETA" in at.get("progress")[0].proto.text
    at.button(key="tr_stop").click()
    t0 = time.time()
    at.run()
    assert run.trainer.join(5.0), "the run did not stop"
    stopped_after = time.time() - t0
    wait_until_ended(at)
    assert_clean(at)
    assert run.status == "stopped" and runs(at)[run.name] is run  # kept, with its model
    assert stopped_after < 5.0
    assert any("stopped at step" in w.value for w in at.warning)
    assert list(at.dataframe[0].value["status"]) == ["stopped"]
    assert subject_of(run).predict([["the", "dog", "can", "run"]])  # the model is still usable
    assert not at.button(key="tr_start").disabled and at.get("download_button")


def test_nan_run_fails_with_the_trainers_message(sessions):
    at = sessions()
    at.selectbox(key="tr_preset").set_value("custom").run()
    at.selectbox(key="tr_arch").set_value("rnn").run()
    at.selectbox(key="tr_nonlin").set_value("relu").run()
    at.select_slider(key="tr_lr").set_value(1000.0).run()
    start(at)
    wait_until_ended(at)
    assert_clean(at)
    (run,) = runs(at).values()
    assert run.status == "failed"
    messages = [e.value for e in at.error]
    assert any("loss became NaN" in m and "lower the learning rate (now 1000)" in m for m in messages), messages
    assert all(torch.isfinite(p).all() for p in run.trainer.model.parameters())  # the last good weights
    assert list(at.dataframe[0].value["status"]) == ["failed"]


def test_bad_inputs_show_clear_errors(sessions, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(tmp_path))  # typed server paths are off unless allowed
    at = sessions()
    start(at)  # a good run first: the bad inputs below must not lose it
    wait_until_ended(at)
    at.radio(key="tr_source").set_value("Local path").run()

    def errors_after_start(path: str) -> list[str]:
        at.text_input(key="tr_path").set_value(path).run()
        start(at)
        assert_clean(at)
        return [e.value for e in at.error]

    assert any("type the path" in e for e in errors_after_start(""))
    assert any("neither a known dataset name nor an existing file" in e
               for e in errors_after_start(str(tmp_path / "missing.conllu")))
    (tmp_path / "notes.txt").write_text("hello")
    assert any("unknown file type '.txt'" in e for e in errors_after_start(str(tmp_path / "notes.txt")))
    (tmp_path / "tags.conllu").write_text("1\tThe\tthe\tDET\tDT\t_\t0\troot\t_\t_\n\n")
    at.radio(key="tr_task").set_value("sentiment").run()
    mismatch = errors_after_start(str(tmp_path / "tags.conllu"))
    assert any("is a 'pos' dataset, but task='sentiment'" in e for e in mismatch)
    at.radio(key="tr_task").set_value("pos").run()
    (tmp_path / "empty.conllu").write_text("# only a comment\n")
    assert any("no sentences found" in e for e in errors_after_start(str(tmp_path / "empty.conllu")))
    # uploads: too large, or content in the wrong format
    uploads = Path(__file__).resolve().parents[1] / "runs" / "uploads"
    before = set(uploads.iterdir()) if uploads.is_dir() else set()
    at.radio(key="tr_source").set_value("Upload").run()
    start(at)
    assert any("choose a file to upload first" in e.value for e in at.error)
    at.file_uploader(key="tr_upload").set_value(("big.conllu", b"x" * (50 * 2**20 + 1), "text/plain")).run()
    start(at)
    assert_clean(at)
    assert any("limited to 50 MB" in e.value for e in at.error)
    at.file_uploader(key="tr_upload").set_value(("bad.conllu", b"1\tonly-two-columns\n\n", "text/plain")).run()
    start(at)
    assert_clean(at)
    assert any(e.value.startswith("Cannot start: 'bad.conllu':1: expected 10 tab-separated CoNLL-U columns")
               for e in at.error), [e.value for e in at.error]
    assert [r.status for r in runs(at).values()] == ["finished"]  # nothing lost, nothing added
    assert (set(uploads.iterdir()) if uploads.is_dir() else set()) == before  # no upload left on disk


def test_upload_trains_on_the_uploaded_file(sessions):
    at = sessions()
    sentences = "".join(f"1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_\n2\tdog{k}\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
                        for k in range(12))
    at.radio(key="tr_source").set_value("Upload").run()
    at.file_uploader(key="tr_upload").set_value(("my tags.conllu", sentences.encode(), "text/plain")).run()
    at.number_input(key="tr_epochs").set_value(2).run()
    start(at)
    wait_until_ended(at)
    assert_clean(at)
    (run,) = runs(at).values()
    assert run.status == "finished" and run.dataset == "my tags.conllu"
    assert len(run.corpus.dev) >= 1  # a dev split was held out of the single file
    uploads = Path(__file__).resolve().parents[1] / "runs" / "uploads"
    assert not uploads.exists() or not any("my tags" in p.name for p in uploads.iterdir())  # never the user's name


@pytest.mark.skipif(not (DATA / "ud" / "UD_English-EWT").is_dir(), reason="../shared/data is absent: no UD English-EWT")
def test_local_ud_treebank(sessions, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_ALLOWED_DIRS", str(DATA))  # typed server paths are off unless allowed
    at = sessions()
    at.radio(key="tr_source").set_value("Local path").run()
    at.text_input(key="tr_path").set_value(str(DATA / "ud" / "UD_English-EWT")).run()
    at.number_input(key="tr_limit").set_value(60).run()
    at.number_input(key="tr_epochs").set_value(1).run()
    start(at)
    wait_until_ended(at)
    assert_clean(at)
    (run,) = runs(at).values()
    assert run.status == "finished" and len(run.corpus.train) == 60 and "NOUN" in run.corpus.labels


def test_two_sessions_do_not_see_each_others_runs(sessions):
    a, b = sessions(), sessions()
    start(a)
    start(b)  # both train at once
    assert len(runs(a)) == 1 and len(runs(b)) == 1
    ra, rb = next(iter(runs(a).values())), next(iter(runs(b).values()))
    assert ra is not rb and ra.trainer is not rb.trainer and ra.trainer.model is not rb.trainer.model
    wait_until_ended(a)
    wait_until_ended(b)
    assert len(a.dataframe[0].value) == 1 and len(b.dataframe[0].value) == 1
    c = sessions()
    assert runs(c) == {} and any("No run yet" in i.value for i in c.info)


def test_an_alarm_shows_with_a_link_to_the_page_that_shows_it(sessions):
    """Forget biases set to +8 after training saturate the forget gate: the run's AlarmWatcher, fed the run's own
    probe recordings of those weights, raises the saturation alarm, and the page links to Saturation."""
    at = sessions()
    start(at)
    wait_until_ended(at)
    (run,) = runs(at).values()
    assert not any("saturated" in w.value for w in at.warning)  # a normal run raises none
    watcher = at.session_state["tr_alarms"][run.name]
    model = run.trainer.model
    hidden = model.rnn.hidden_size
    with torch.no_grad():  # LSTM gate order i, f, g, o: rows hidden..2*hidden are the forget gate's
        model.rnn.bias_ih_l0[hidden:2 * hidden] = 8.0
        model.rnn.bias_hh_l0[hidden:2 * hidden] = 0.0
    for step in (1000, 1001, 1002):  # "for several probes in a row"
        watcher.observe(run.trainer.probes.record(model, step, 1), step=step)
    at.run()
    assert_clean(at)
    assert any("gate f" in w.value and "saturated" in w.value for w in at.warning)
    links = [el for el in at.get("page_link") if "Saturation" in el.proto.label]
    assert len(links) == 1 and links[0].proto.page == "saturation"

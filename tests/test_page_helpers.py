"""Pure helpers behind the Cell anatomy, Train and Timeline pages: replay of probe snapshots, run summaries,
a checkpoint seen as a finished run, gate regions, typed inputs, safe uploads."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_viz.explore import cell_step
from lstm_viz.analysis import truth_table
from lstm_viz.explore.cell_demo import gate_region, parse_numbers, steps_to_trace
from lstm_viz.training.checkpoint import checkpoint_bytes, load_checkpoint
from lstm_viz.data import DataError, generated_pos_corpus, generated_sentiment_corpus
from lstm_viz.training.loaded_run import LoadedRun
from lstm_viz.training.models import ModelConfig
from lstm_viz.training.history import prediction_rows, probe_to_trace, truth_share_history
from lstm_viz.training.summary import (
    arch_label,
    bin_means,
    checkpoint_metrics,
    curve_events,
    every,
    format_seconds,
    grad_norm_events,
    planned_steps,
    progress_text,
    run_row,
    thin,
)
from lstm_viz.record.tracing import trace
from lstm_viz.training import TrainConfig, Trainer
from lstm_viz.record.results import Trace
from lstm_viz.files.uploads import save_upload, upload_suffix

pytestmark = pytest.mark.timeout(120)

FAST = TrainConfig(device="cpu", epochs=1, batch_size=16, max_steps=12, probe_every=4, grad_norm_every=3,
                   probe_sentences=3, eval_every=1, threads=1)  # one thread: tiny models on a shared machine


@pytest.fixture(scope="module")
def pos_corpus():
    return generated_pos_corpus(n_train=64, n_dev=8, n_test=0)


def _train(config: ModelConfig, corpus, train: TrainConfig = FAST) -> Trainer:
    trainer = Trainer(config, train, corpus)
    trainer.run()
    return trainer


@pytest.fixture(scope="module", params=["lstm", "gru", "rnn"])
def trained(request, pos_corpus):
    config = ModelConfig(task="pos", arch=request.param, embed_dim=8, hidden_size=6, num_layers=2, bidirectional=True)
    return _train(config, pos_corpus)


# -- replay -------------------------------------------------------------------------------------------------------
def test_probe_to_trace_equals_a_fresh_trace_of_the_final_weights(trained):
    snap = trained.snapshot()
    probe = snap.probes[-1]
    assert probe.step == snap.step  # the last probe records the final weights
    b = trained.probes.batch
    model = trained.model.eval()
    with torch.no_grad():
        ref = trace(model.rnn, model.embed_inputs(b.tokens, b.chars), lengths=b.lengths)
        out, _ = model.run_rnn(model.embed_inputs(b.tokens, b.chars), b.lengths)
    got = probe_to_trace(probe)
    assert got.kind == ref.kind and got.gate_names == ref.gate_names
    assert got.hidden.dtype == torch.float32 and got.hidden.shape == ref.hidden.shape
    tol = dict(atol=2e-3, rtol=0)  # float16 storage
    torch.testing.assert_close(got.hidden, ref.hidden, **tol)
    for g in ref.gate_names:
        torch.testing.assert_close(got.gates[g], ref.gates[g], **tol)
    if ref.cell is not None:
        torch.testing.assert_close(got.cell, ref.cell, atol=5e-3, rtol=1e-3)
        torch.testing.assert_close(got.c_n, ref.c_n, atol=5e-3, rtol=1e-3)
    else:
        assert got.cell is None and got.c_n is None
    torch.testing.assert_close(got.h_n, ref.h_n, **tol)  # final states: forward at len-1, backward at 0
    torch.testing.assert_close(got.output, out, **tol)  # what the model's rnn returns, batch_first
    assert torch.equal(got.mask, ref.mask) and torch.equal(got.lengths, ref.lengths)


def test_probe_to_trace_one_sentence_is_a_slice(trained):
    probe = trained.snapshot().probes[-1]
    whole = probe_to_trace(probe)
    k = len(probe.lengths) - 1
    one = probe_to_trace(probe, k)
    n = probe.lengths[k]
    assert one.hidden.shape[2:4] == (1, n) and one.lengths.tolist() == [n] and bool(one.mask.all())
    torch.testing.assert_close(one.hidden[:, :, 0], whole.hidden[:, :, k, :n])
    for g in probe.gate_names:
        torch.testing.assert_close(one.gates[g][:, :, 0], whole.gates[g][:, :, k, :n])
    torch.testing.assert_close(one.h_n[:, 0], whole.h_n[:, k])
    with pytest.raises(ValueError, match="out of range"):
        probe_to_trace(probe, len(probe.lengths))
    with pytest.raises(TypeError, match="ProbeSnapshot"):
        probe_to_trace("not a probe")


def test_truth_share_history_and_predictions(trained):
    probes = trained.snapshot().probes
    if probes[0].kind == "rnn":
        with pytest.raises(ValueError, match="has none"):
            truth_share_history(probes)
        return
    hist = truth_share_history(probes, layer=1, direction=1)
    assert hist.steps == tuple(p.step for p in probes) and hist.shares.shape == (len(probes), len(hist.names))
    np.testing.assert_allclose(hist.shares.sum(axis=1), 1.0)
    last = truth_table(probe_to_trace(probes[-1]))
    np.testing.assert_allclose(hist.shares[-1], last.shares_per_layer[1, 1])
    rows = prediction_rows(probes[-1], 0)
    assert [r["token"] for r in rows] == list(probes[-1].tokens[0])
    assert all(r["correct"] == (r["gold"] == r["predicted"]) for r in rows)
    with pytest.raises(ValueError, match="no probe snapshots"):
        truth_share_history([])


def test_prediction_rows_sentiment():
    corpus = generated_sentiment_corpus(n_train=32, n_dev=4, n_test=0)
    trainer = _train(ModelConfig(task="sentiment", embed_dim=8, hidden_size=6), corpus,
                     replace(FAST, max_steps=2, grad_norm_every=0))
    probe = trainer.snapshot().probes[-1]
    (row,) = prediction_rows(probe, 1)
    assert row["text"] == " ".join(probe.tokens[1]) and row["gold"] == corpus.dev[1].label
    assert row["predicted"] in corpus.labels and row["correct"] == (row["gold"] == row["predicted"])


# -- run summaries ------------------------------------------------------------------------------------------------
def test_thin_keeps_ends_and_bounds():
    assert thin(list(range(5)), 10) == [0, 1, 2, 3, 4]
    out = thin(list(range(1001)), 11)
    assert out == list(range(0, 1001, 100))
    out = thin(list(range(12345)), 1000)
    assert len(out) <= 1000 and out[0] == 0 and out[-1] == 12344 and out == sorted(set(out))
    with pytest.raises(ValueError):
        thin([1, 2], 1)


def test_summaries_of_a_real_snapshot(trained):
    snap = trained.snapshot()
    points = curve_events(snap)
    steps = [p["step"] for p in points if "loss" in p]
    assert steps == [e.step for e in snap.events]  # few events: one point each
    dev = [p for p in points if "dev_accuracy" in p]
    assert [p["dev_accuracy"] for p in dev] == [e.accuracy for e in snap.evals if e.split == "dev"] and dev
    norms = grad_norm_events(snap)
    assert [p["step"] for p in norms] == list(range(3, snap.step + 1, 3)) == [3]
    assert all(isinstance(p["gate_grad_norms"], dict) and p["gate_grad_norms"] for p in norms)
    assert planned_steps(64, 1, 16, 12) == trained.total_steps == 4  # 64 / 16 batches, under max_steps
    row = run_row("r", "generated-pos", trained.model_config, snap)
    assert row["status"] == "finished" and row["steps"] == snap.step
    assert row["loss"] == pytest.approx(snap.metrics["loss"]) and 0 <= row["dev accuracy"] <= 1
    assert row["arch"] == arch_label(trained.model_config)
    assert progress_text(snap, 1).startswith(f"step {snap.step} / {snap.total_steps} · epoch 1 / 1")
    metrics = checkpoint_metrics(snap)
    assert metrics["steps"] == snap.step and metrics["status"] == "finished"
    assert all(isinstance(v, (int, float, str)) for v in metrics.values())


def test_bin_means_averages_consecutive_events():
    from types import SimpleNamespace as E

    events = [E(step=k + 1, loss=float(k), accuracy=(k % 2) * 1.0) for k in range(10)]
    points = bin_means(events, 4)  # bins of 3: steps 1-3, 4-6, 7-9, 10
    assert [p["step"] for p in points] == [3, 6, 9, 10]
    assert [p["loss"] for p in points] == [1.0, 4.0, 7.0, 9.0]
    assert [p["accuracy"] for p in points] == pytest.approx([1 / 3, 2 / 3, 1 / 3, 1.0])
    assert bin_means(events, 100) == [{"step": e.step, "loss": e.loss, "accuracy": e.accuracy} for e in events]
    assert bin_means([], 5) == []
    with pytest.raises(ValueError):
        bin_means(events, 0)


def test_arch_label_format_seconds_every():
    assert arch_label(ModelConfig(arch="lstm", hidden_size=256, num_layers=2, bidirectional=True)) == \
        "BiLSTM x2, 256 units"
    assert arch_label(ModelConfig(arch="rnn", nonlinearity="relu", hidden_size=6)) == "RNN (ReLU), 6 units"
    assert arch_label(ModelConfig(char_embed_dim=8, char_hidden=8, hidden_size=4)) == "LSTM, 4 units, chars"
    assert [format_seconds(s) for s in (None, float("nan"), 0.0391, 0.5, 2.345, 42.4, 185, 7260)] == \
        ["?", "?", "0.039 s", "0.5 s", "2.3 s", "42 s", "3 min 05 s", "2 h 01 min"]
    assert every(600, 30) == 20 and every(10, 30) == 1
    with pytest.raises(ValueError):
        every(10, 0)


# -- a checkpoint as a finished run --------------------------------------------------------------------------------
def test_loaded_run_behaves_like_a_finished_run(pos_corpus):
    from app_pages._common import Run, subject_of  # one path for trained and loaded runs

    trainer = _train(ModelConfig(task="pos", embed_dim=8, hidden_size=6), pos_corpus, replace(FAST, probe_every=0))
    snap = trainer.snapshot()
    data = checkpoint_bytes(trainer.model, trainer.model_config, trainer.encoder, checkpoint_metrics(snap),
                            trainer.train_config, {"dataset": "generated-pos"})
    model, bundle = load_checkpoint(data)
    loaded = LoadedRun("loaded", model, bundle, pos_corpus, source="x.pt")
    s = loaded.snapshot()
    assert s.status == "finished" and not loaded.is_running and s.step == snap.step and s.progress == 1.0
    assert s.metrics["loss"] == pytest.approx(snap.metrics["loss"]) and "status" not in s.metrics
    assert "x.pt" in s.message and "x.pt" in loaded.origin and loaded.train_config == trainer.train_config
    sents = [ex.tokens for ex in pos_corpus.dev[:3]]
    assert loaded.predict(sents) == trainer.predict(sents)
    assert loaded.evaluate("dev").accuracy == pytest.approx(trainer.evaluate("dev").accuracy)
    subject = subject_of(loaded)
    assert loaded.status == "finished" and subject.corpus is pos_corpus and subject.preset_inputs()
    assert subject.trace(subject.input_from_text("the dog can run")).kind == "lstm"
    assert subject_of(loaded) is subject  # the same weights give the same subject (page caches stay valid)
    loaded.stop()  # nothing to stop, and it cannot be started: it is no Trainer
    assert loaded.status == "finished" and not hasattr(loaded, "start")
    trained = Run("trained", trainer, "generated-pos")
    for member in ("name", "dataset", "created", "origin", "model_config", "train_config", "encoder", "corpus",
                   "is_running", "status", "step", "stop_requested", "snapshot", "model_copy", "stop"):
        assert hasattr(trained, member) and hasattr(loaded, member), member  # both satisfy training.run.Run
    assert subject_of(trained).predict(sents) == subject.predict(sents)
    no_corpus = LoadedRun("bare", model, bundle)
    assert subject_of(no_corpus).preset_inputs() == {}
    with pytest.raises(ValueError, match="without its dataset"):
        no_corpus.evaluate()
    with pytest.raises(ValueError, match="task"):
        LoadedRun("wrong", model, bundle, generated_sentiment_corpus(n_train=4, n_dev=0, n_test=0))


# -- cell demo ------------------------------------------------------------------------------------------------------
def _grid_trace(kind: str, a: np.ndarray, b: np.ndarray) -> Trace:
    names = ("i", "f", "g", "o") if kind == "lstm" else ("r", "z", "n")
    shape = (1, 1, 1, a.size, 1)
    first, second = (("i", "f") if kind == "lstm" else ("r", "z"))
    gates = {g: torch.zeros(shape) for g in names}
    gates[first] = torch.tensor(a, dtype=torch.float32).view(shape)
    gates[second] = torch.tensor(b, dtype=torch.float32).view(shape)
    h = torch.zeros(shape)
    return Trace(kind, names, h[0, 0], h[0, :, :, -1], None, gates, h, h if kind == "lstm" else None,
                 torch.ones(1, a.size, dtype=torch.bool), torch.tensor([a.size]))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gate_region_agrees_with_the_truth_table(kind):
    vals = np.array([0.0, 0.05, 0.1, 0.3, 0.5, 0.9, 0.95, 1.0], dtype=np.float32)
    a, b = (g.ravel() for g in np.meshgrid(vals, vals))
    for low, high in ((0.1, 0.9), (0.3, 0.5)):
        table = truth_table(_grid_trace(kind, a, b), low, high)
        expected = [table.names[c] for c in table.codes[0, 0, 0, :, 0]]
        assert [gate_region(kind, x, y, low, high) for x, y in zip(a, b)] == expected


def test_gate_region_examples_and_errors():
    assert gate_region("lstm", 0.0025, 0.9975) == "remember"
    assert gate_region("lstm", 0.9975, 0.0025) == "overwrite"
    assert gate_region("lstm", 0.9, 0.95) == "in between"  # strict comparison at the threshold
    assert gate_region("gru", 0.0, 0.95) == "keep"
    with pytest.raises(ValueError, match="kind"):
        gate_region("rnn", 0.5, 0.5)
    with pytest.raises(ValueError, match="thresholds"):
        gate_region("lstm", 0.5, 0.5, low=0.9, high=0.1)


def test_parse_numbers():
    assert parse_numbers(" 1, -0.5 0.8;2e-1 ") == (1.0, -0.5, 0.8, 0.2)
    for bad, msg in (("", "at least one"), ("1, x", "entry 2"), ("1, nan", "finite"), ("1 " * 300, "at most")):
        with pytest.raises(ValueError, match=msg):
            parse_numbers(bad)


def test_steps_to_trace_matches_run_preset():
    for preset in (cell_step.LSTM_PRESETS["counter"], cell_step.GRU_PRESETS["gate on input sign"]):
        steps = cell_step.run_preset(preset)
        tr = steps_to_trace(steps)
        names = ("i", "f", "g", "o") if preset.weights.kind == "lstm" else ("r", "z", "n")
        assert tr.steps == len(preset.inputs) and tr.gate_names == names
        for g in tr.gate_names:
            np.testing.assert_allclose(tr.gates[g][0, 0, 0, :, 0].numpy(), [s[g][0] for s in steps])
        np.testing.assert_allclose(tr.hidden[0, 0, 0, :, 0].numpy(), [s["h"][0] for s in steps])
    counter = steps_to_trace(cell_step.run_preset(cell_step.LSTM_PRESETS["counter"]))
    assert counter.cell[0, 0, 0, -1, 0].item() == pytest.approx(5.0, abs=0.1)  # counts 5 steps
    with pytest.raises(ValueError):
        steps_to_trace([])


# -- uploads ----------------------------------------------------------------------------------------------------------
def test_save_upload_uses_a_random_name_inside_the_folder(tmp_path):
    folder = tmp_path / "uploads"
    p1 = save_upload(b"a\tb\n", "../../etc/evil.TSV", folder)
    p2 = save_upload(b"a\tb\n", "../../etc/evil.TSV", folder)
    assert p1.parent == folder and p2.parent == folder and p1 != p2
    assert p1.suffix == ".tsv" and "evil" not in p1.name and p1.read_bytes() == b"a\tb\n"
    assert upload_suffix("x.conllu") == ".conllu"
    with pytest.raises(DataError, match="unsupported file type"):
        save_upload(b"x", "model.pt", folder)
    with pytest.raises(DataError, match="empty"):
        save_upload(b"", "x.csv", folder)
    with pytest.raises(DataError, match="limited to"):
        save_upload(b"x" * 101, "x.csv", folder, max_bytes=100)
    assert sorted(folder.iterdir()) == sorted([p1, p2])  # refused uploads leave nothing behind


def test_helpers_do_not_import_streamlit():
    import subprocess
    import sys

    code = ("import sys, lstm_viz.training.history, lstm_viz.training.summary, lstm_viz.training.loaded_run, "
            "lstm_viz.training.run, lstm_viz.training.live_copy, lstm_viz.explore.cell_demo, lstm_viz.files.uploads; "
            "assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])

"""Checkpoints: plain-data round trip, atomic writes, and refusal of foreign, tampered or malicious files."""
from __future__ import annotations

import io
import os
import pickle
from dataclasses import replace

import pytest
import torch

from lstm_viz.training.checkpoint import (
    CheckpointError, checkpoint_bytes, checkpoint_dict, load_checkpoint, save_checkpoint,
)
from lstm_viz.data import generated_pos_corpus
from lstm_viz.training.models import ModelConfig
from lstm_viz.training import TrainConfig, Trainer, predict

pytestmark = pytest.mark.timeout(120)

CFG = ModelConfig(task="pos", arch="gru", embed_dim=6, hidden_size=5, bidirectional=True, num_layers=2,
                  char_embed_dim=3, char_hidden=4, lowercase=True, dropout=0.2)


@pytest.fixture(scope="module")
def trained():
    corpus = generated_pos_corpus(n_train=40, n_dev=10, n_test=10)
    trainer = Trainer(CFG, TrainConfig(device="cpu", max_steps=5, batch_size=8, probe_every=0), corpus)
    trainer.run()
    return trainer, corpus


def test_round_trip_gives_the_same_predictions(trained, tmp_path):
    trainer, corpus = trained
    path = save_checkpoint(tmp_path / "model.pt", trainer.model, CFG, trainer.encoder,
                           metrics={"dev_accuracy": 0.5, "curve": [1.0, 0.5]}, train_config=trainer.train_config,
                           extra={"dataset": corpus.name})
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]  # no temporary file left behind
    model, bundle = load_checkpoint(path)
    assert not model.training and type(model) is type(trainer.model)
    assert bundle.model_config == CFG and bundle.encoder == trainer.encoder
    assert bundle.metrics == {"dev_accuracy": 0.5, "curve": [1.0, 0.5]}
    assert TrainConfig.from_dict(bundle.train_config) == trainer.train_config
    assert bundle.extra == {"dataset": "generated-pos"}
    tokens = [ex.tokens for ex in corpus.test]
    assert predict(model, bundle.encoder, tokens) == predict(trainer.model, trainer.encoder, tokens)
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    # the same from bytes and from a file object
    data = checkpoint_bytes(trainer.model, CFG, trainer.encoder)
    assert predict(load_checkpoint(data)[0], bundle.encoder, tokens[:3]) == predict(model, bundle.encoder, tokens[:3])
    assert load_checkpoint(io.BytesIO(data))[1].model_config == CFG


def test_checkpoint_is_plain_data(trained):
    trainer, _ = trained
    buf = io.BytesIO()
    torch.save(checkpoint_dict(trainer.model, CFG, trainer.encoder), buf)
    buf.seek(0)
    data = torch.load(buf, map_location="cpu", weights_only=True)  # loads with the safe unpickler alone
    assert data["format"] == "lstm-viz-checkpoint" and data["model_config"]["arch"] == "gru"
    assert data["vocab"]["itos"][:2] == ["<pad>", "<unk>"] and isinstance(data["labels"]["itos"], list)
    with pytest.raises(TypeError, match="plain data"):
        checkpoint_dict(trainer.model, CFG, trainer.encoder, metrics={"x": object()})


class _Evil:
    """Unpickling this would create a marker file, as a stand-in for running any code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"format": "lstm-viz-checkpoint", "state_dict": {}, "x": _Evil(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Evil(marker)))  # protocol 4+: torch stops at its FRAME opcode
    with pytest.raises(CheckpointError, match="not a plain-data checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a plain-data checkpoint"):
        load_checkpoint(path.read_bytes())
    assert not marker.exists()


def _tampered(trained, **changes) -> bytes:
    trainer, _ = trained
    data = checkpoint_dict(trainer.model, CFG, trainer.encoder)
    for key, value in changes.items():
        data[key] = value(data[key]) if callable(value) else value
    buf = io.BytesIO()
    torch.save(data, buf)
    return buf.getvalue()


def test_foreign_damaged_and_tampered_files(trained, tmp_path):
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        load_checkpoint(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        load_checkpoint(checkpoint_bytes(trained[0].model, CFG, trained[0].encoder)[:500])  # truncated
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(2)}, buf)
    with pytest.raises(CheckpointError, match="not an lstm-viz checkpoint"):
        load_checkpoint(buf.getvalue())
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(_tampered(trained, format_version=99))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(_tampered(trained, state_dict=lambda sd: {**sd, "output.weight": torch.zeros(3, 3)}))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(_tampered(trained, vocab=lambda v: {**v, "itos": v["itos"] + ["extra-word"]}))
    with pytest.raises(CheckpointError, match="unknown model config fields"):
        load_checkpoint(_tampered(trained, model_config=lambda c: {**c, "secret": 1}))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(_tampered(trained, state_dict=lambda sd: {
            **sd, "output.bias": torch.full_like(sd["output.bias"], float("nan"))}))
    with pytest.raises(CheckpointError, match="'labels' is missing"):
        load_checkpoint(_tampered(trained, labels=None))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="path, bytes"):
        load_checkpoint(123)


def test_save_errors(trained, tmp_path):
    trainer, _ = trained
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "model.pt", trainer.model, CFG, trainer.encoder)
    with pytest.raises(IsADirectoryError):
        save_checkpoint(tmp_path, trainer.model, CFG, trainer.encoder)
    # an existing checkpoint is replaced whole
    target = tmp_path / "m.pt"
    target.write_bytes(b"old")
    save_checkpoint(target, trainer.model, replace(CFG), trainer.encoder)
    assert load_checkpoint(target)[1].model_config == CFG

"""A checkpoint of a classifier whose output layer reads more than D*H features ("mean+max" pooling: 2*D*H)
loads, and the loaded model predicts what the saved one did (checkpoint.check_config_fits_weights)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from lstm_viz.data import generated_sentiment_corpus
from lstm_viz.training import TrainConfig, Trainer, predict
from lstm_viz.training.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from lstm_viz.training.models import ModelConfig

pytestmark = pytest.mark.timeout(120)


def test_mean_max_classifier_checkpoint_round_trips():
    corpus = generated_sentiment_corpus()
    config = ModelConfig(task="sentiment", embed_dim=8, hidden_size=6, bidirectional=True, pooling="mean+max")
    trainer = Trainer(config, TrainConfig(device="cpu", max_steps=3, probe_every=0, grad_norm_every=0,
                                          eval_every=0, threads=1), corpus)
    trainer.run()
    assert trainer.model.output.weight.shape == (len(trainer.encoder.labels), 2 * 2 * 6)
    data = checkpoint_bytes(trainer.model, config, trainer.encoder)
    model, bundle = load_checkpoint(data)
    texts = [ex.tokens for ex in corpus.train[:5]]
    assert predict(model, bundle.encoder, texts) == predict(trainer.model.eval(), trainer.encoder, texts)
    # a config that claims another pooling than the weights were trained with is still refused
    wrong = checkpoint_bytes(trainer.model, replace(config, pooling="max"), trainer.encoder)
    with pytest.raises(CheckpointError, match="output.weight"):
        load_checkpoint(wrong)
    assert torch.equal(model.output.weight, trainer.model.output.weight)

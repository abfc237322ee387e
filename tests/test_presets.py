"""Training presets and the epoch-time estimate the Train page states before Start."""
from __future__ import annotations

import math

import pytest
import torch

from lstm_viz.training.models import PRESETS, build_model, preset
from lstm_viz.training.presets import TRAIN_PRESETS, estimate_epoch_seconds

pytestmark = pytest.mark.timeout(120)


def test_lecture_presets_are_small_models_for_each_task():
    assert {preset("pos-lecture").task, preset("sentiment-lecture").task} == {"pos", "sentiment"}
    big = sum(p.numel() for p in build_model(PRESETS["sentiment-bilstm"], 5000, 2).parameters())
    for name in ("pos-lecture", "sentiment-lecture"):
        small = sum(p.numel() for p in build_model(PRESETS[name], 5000, 17).parameters())
        assert small * 5 < big
    assert TRAIN_PRESETS["lecture"].optimizer == "adam" and TRAIN_PRESETS["lecture"].lr > TRAIN_PRESETS["default"].lr


def test_estimate_epoch_seconds_measures_the_configuration():
    lengths = [20] * 200
    cfg = TRAIN_PRESETS["default"]
    tiny = estimate_epoch_seconds(preset("tutorial"), cfg, lengths, vocab_size=50, num_labels=3)
    big = estimate_epoch_seconds(preset("sentiment-bilstm"), cfg, lengths, vocab_size=5000, num_labels=2,
                                 measure_tokens=640)
    assert math.isfinite(tiny) and 0 < tiny < big  # a 6-unit LSTM against a 2-layer BiLSTM 256
    chars = estimate_epoch_seconds(preset("pos-bilstm-char"), cfg, lengths, vocab_size=500, num_labels=17,
                                   char_vocab_size=60, measure_tokens=320, steps=1)
    assert chars > 0
    with pytest.raises(ValueError, match="lengths is empty"):
        estimate_epoch_seconds(preset("tutorial"), cfg, [], vocab_size=50, num_labels=3)


def test_estimate_leaves_the_callers_random_state_and_threads_alone():
    """The estimate trains a throwaway model with real Trainer steps; the caller's RNG and thread count stay."""
    torch.manual_seed(123)
    state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    seconds = estimate_epoch_seconds(preset("pos-lecture"), TRAIN_PRESETS["lecture"], [5, 12, 30, 7] * 40,
                                     vocab_size=300, num_labels=17, steps=2, min_seconds=0.0)
    assert math.isfinite(seconds) and seconds > 0
    assert torch.equal(torch.random.get_rng_state(), state) and torch.get_num_threads() == threads


RECIPES = ("polarity-bilstm", "sst2-bilstm", "imdb-bilstm", "ewt-bilstm-char")


@pytest.mark.parametrize("name", RECIPES)
def test_accuracy_recipe_trains_with_its_own_training_preset(name):
    """Each accuracy recipe (benchmarks/bench_accuracy.py) is a model preset plus the training preset of the same
    name; a few real steps on generated data go through the Trainer and keep the best dev epoch."""
    from dataclasses import replace

    from lstm_viz.data import generated_pos_corpus, generated_sentiment_corpus
    from lstm_viz.training import Trainer

    model_config, train_config = PRESETS[name], TRAIN_PRESETS[name]
    assert train_config.restore_best and train_config.eval_every == 1 and train_config.epochs >= 2
    corpus = (generated_pos_corpus if model_config.task == "pos" else generated_sentiment_corpus)(
        n_train=64, n_dev=16, n_test=16)
    trainer = Trainer(model_config, replace(train_config, device="cpu", epochs=2, batch_size=16, threads=1,
                                            probe_every=0, grad_norm_every=0), corpus)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    snap = trainer.run()
    assert snap.status == "finished" and snap.step == 8 and len(snap.evals) == 2
    assert snap.metrics["best_dev_accuracy"] == max(e.accuracy for e in snap.evals)
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())

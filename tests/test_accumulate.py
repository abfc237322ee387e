"""Token-capped pieces accumulated into one optimizer step (TrainConfig.accumulate): the step equals the whole
batch's step, Stop between pieces leaves the weights whole, and the run makes one step per batch."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from lstm_viz.data import generated_pos_corpus
from lstm_viz.data.corpus import Corpus, LabelledText
from lstm_viz.training import TrainConfig, Trainer, build_encoder
from lstm_viz.training.models import ModelConfig, build_model

pytestmark = pytest.mark.timeout(180)

# one batch of 12 sequences per step; a 60-token cap cuts each into several pieces
ONE_STEP = TrainConfig(device="cpu", optimizer="sgd", lr=0.5, epochs=1, batch_size=12, shuffle=False,
                       probe_every=0, grad_norm_every=0, eval_every=0, threads=1, clip_grad_norm=None,
                       restore_best=False, max_steps=1)
POS = ModelConfig(task="pos", embed_dim=8, hidden_size=8, bidirectional=True, dropout=0.0)
SENTIMENT = ModelConfig(task="sentiment", embed_dim=8, hidden_size=8, dropout=0.0)


def _sentiment_corpus() -> Corpus:
    words = "good bad film plot actor slow great boring fine dull".split()
    train = tuple(LabelledText(tuple(words[(k * 3 + j) % 10] for j in range(3 + 2 * k)), ("pos", "neg")[k % 2])
                  for k in range(12))
    return Corpus("toy reviews", "sentiment", train, (), ())


def _trained(model_config, corpus, cfg):
    encoder = build_encoder(model_config, corpus)
    torch.manual_seed(0)
    model = build_model(model_config, len(encoder.vocab), len(encoder.labels), 0)
    trainer = Trainer(model_config, cfg, corpus, encoder=encoder, model=model)
    return trainer, trainer.run()


@pytest.mark.parametrize("model_config, corpus", [(POS, generated_pos_corpus(n_train=12, n_dev=2, n_test=2, seed=1)),
                                                  (SENTIMENT, _sentiment_corpus())], ids=["tagger", "sentiment"])
def test_pieces_add_up_to_the_whole_batchs_step(model_config, corpus):
    whole, whole_snap = _trained(model_config, corpus, replace(ONE_STEP, max_batch_tokens=None))
    split, split_snap = _trained(model_config, corpus, replace(ONE_STEP, max_batch_tokens=60, accumulate=True))
    assert len(split.batches.epoch()[0]) > 1  # the cap did cut the batch
    assert whole_snap.step == split_snap.step == 1
    for (name, a), b in zip(whole.model.state_dict().items(), split.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert split_snap.events[-1].loss == pytest.approx(whole_snap.events[-1].loss, rel=1e-5)
    assert split_snap.events[-1].accuracy == whole_snap.events[-1].accuracy


def test_without_accumulate_each_piece_is_a_step_of_its_own():
    corpus = generated_pos_corpus(n_train=12, n_dev=2, n_test=2, seed=1)
    trainer, snap = _trained(POS, corpus, replace(ONE_STEP, max_batch_tokens=60, max_steps=None))
    assert snap.step == len(trainer.batches.epoch()) > 1 and all(len(step) == 1 for step in trainer.batches.epoch())


def test_stop_between_pieces_keeps_the_last_whole_steps_weights():
    corpus = generated_pos_corpus(n_train=12, n_dev=2, n_test=2, seed=1)
    trainer = Trainer(POS, replace(ONE_STEP, max_batch_tokens=60, accumulate=True), corpus)  # not run yet
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.stop()  # as if Stop came while the first piece trained
    assert trainer._train_step(trainer.batches.epoch()[0], 1) == "stopped"
    assert trainer.step == 0
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, before[k]), k

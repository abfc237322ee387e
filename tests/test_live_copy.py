"""The weight-copy handshake between a training thread and readers (lstm_viz.training.live_copy)."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import torch

from lstm_viz.data import generated_pos_corpus
from lstm_viz.training import TrainConfig, Trainer
from lstm_viz.training.live_copy import LiveCopy
from lstm_viz.training.models import ModelConfig

pytestmark = pytest.mark.timeout(120)

TINY = ModelConfig(task="pos", embed_dim=8, hidden_size=8)
QUIET = TrainConfig(device="cpu", probe_every=0, grad_norm_every=0, eval_every=0, threads=1, batch_size=4)


def _states(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_reader_gets_whole_weights_of_a_step_while_training():
    trainer = Trainer(TINY, replace(QUIET, epochs=10_000), generated_pos_corpus(n_train=200, n_dev=5, n_test=5))
    at_step_end = {}  # step -> weights right after that optimizer step (recorded in the training thread)
    trainer.add_callback("on_step_end", lambda t: at_step_end.__setitem__(t.step, _states(t.model)))
    live = LiveCopy(trainer)  # registered after the recorder: it serves with that step's weights recorded
    trainer.start()
    try:
        while trainer.snapshot().step < 3:
            time.sleep(0.01)
        copies = [live.get(wait_s=10.0) for _ in range(3)]
    finally:
        trainer.stop()
        assert trainer.join(10)
    steps = [step for step, _ in copies]
    assert steps == sorted(steps) and steps[0] >= 3
    for step, model in copies:
        assert not model.training and next(model.parameters()).device.type == "cpu"
        expected = at_step_end[step]
        for key, value in model.state_dict().items():
            torch.testing.assert_close(value, expected[key], rtol=0, atol=0)  # exactly the weights of that step
        assert model is not trainer.model


def test_the_training_thread_copies_only_when_asked(monkeypatch):
    from lstm_viz.training import live_copy

    made = []
    monkeypatch.setattr(live_copy, "cpu_copy", lambda model: made.append(1) or model)
    corpus = generated_pos_corpus(n_train=40, n_dev=5, n_test=5)
    trainer = Trainer(TINY, replace(QUIET, max_steps=40, epochs=100), corpus)
    live = LiveCopy(trainer)
    trainer.run()  # nobody asks during 40 steps: no copy is made
    assert trainer.snapshot().step == 40 and made == []
    live.get()
    assert made == [1]  # the final weights, once asked


def test_a_reader_waiting_when_the_run_ends_gets_the_final_weights():
    trainer = Trainer(TINY, replace(QUIET, epochs=10_000), generated_pos_corpus(n_train=200, n_dev=5, n_test=5))
    live = LiveCopy(trainer)
    release = threading.Event()
    trainer.add_callback("on_step_end", lambda t: release.wait() if t.step == 5 else None)  # hold at step 5
    trainer.start()
    got = {}
    reader = threading.Thread(target=lambda: got.update(copy=live.get(wait_s=30.0)))
    try:
        while trainer.state.step < 5:
            time.sleep(0.01)
        trainer.stop()  # the run ends after step 5: no step end serves the waiting reader
        reader.start()
        time.sleep(0.2)
        release.set()
        reader.join(30)
    finally:
        release.set()
        assert trainer.join(10)
    step, model = got["copy"]
    assert trainer.snapshot().status == "stopped" and step == trainer.snapshot().step
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, trainer.model.state_dict()[key].cpu(), rtol=0, atol=0)
    assert live.get(wait_s=0.0)[1] is model  # the final copy is kept, not made again


def test_a_finished_run_copies_once():
    trainer = Trainer(TINY, replace(QUIET, max_steps=5), generated_pos_corpus(n_train=40, n_dev=5, n_test=5))
    live = LiveCopy(trainer)
    trainer.run()
    step, model = live.get()
    assert step == 5 and live.get()[1] is model

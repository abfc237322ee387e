"""Alarms while training: saturated forget gates, dead units and a vanishing cell-state gradient are reported
within the first probes; normal runs raise none."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from lstm_viz import trace
from lstm_viz.data import generated_pos_corpus, tutorial_corpus
from lstm_viz.training import TRAIN_PRESETS, TrainConfig, Trainer, build_encoder
from lstm_viz.training.alarms import AlarmConfig, AlarmWatcher, dead_units, gate_saturation
from lstm_viz.training.building import seeded_model
from lstm_viz.training.models import ModelConfig, preset

pytestmark = pytest.mark.timeout(180)

SMALL = ModelConfig(task="pos", embed_dim=16, hidden_size=16, bidirectional=True)
PROBING = TrainConfig(device="cpu", batch_size=8, epochs=2, probe_every=10, grad_norm_every=0, eval_every=0,
                      threads=1, monitor_budget=0.0)


def watched_run(model_config, train_config, corpus, edit=None):
    """Train with an AlarmWatcher attached; `edit(model)` changes the initial weights."""
    encoder = build_encoder(model_config, corpus)
    model = seeded_model(model_config, encoder, train_config.seed)
    if edit is not None:
        with torch.no_grad():
            edit(model)
    trainer = Trainer(model_config, train_config, corpus, encoder=encoder, model=model)
    watcher = AlarmWatcher()
    watcher.attach(trainer)
    snap = trainer.run()
    assert snap.status == "finished", snap.message
    return watcher, snap


def forget_bias(value):
    def edit(model):
        H = model.rnn.hidden_size
        for name, p in model.rnn.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
            elif name.startswith("bias_hh"):
                p[H:2 * H] = 0.0
    return edit


@pytest.fixture(scope="module")
def corpus():
    return generated_pos_corpus(n_train=160, n_dev=10, n_test=5)


def test_forget_biases_at_plus_8_raise_the_saturation_alarm_within_the_first_probes(corpus):
    watcher, snap = watched_run(SMALL, PROBING, corpus, forget_bias(8.0))
    first_steps = [p.step for p in snap.probes][:3]
    saturation = [a for a in watcher.alarms if a.kind == "saturation"]
    assert {(a.gate, a.layer, a.direction) for a in saturation} == {("f", 0, 0), ("f", 0, 1)}
    assert all(a.step == first_steps[-1] and a.value > 0.99 and a.view == "saturation" for a in saturation)
    assert "gate f (layer 0, direction 0) is saturated on 100% of its values (0% below 0.1, 100% above 0.9)" \
        in saturation[0].message
    assert len(saturation) == 2  # raised once, not again at every later probe


def test_normal_runs_raise_no_alarm(corpus):
    watcher, snap = watched_run(SMALL, PROBING, corpus)
    assert len(snap.probes) >= 4 and watcher.alarms == ()
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", monitor_budget=0.0)
    watcher, snap = watched_run(preset("tutorial"), cfg, tutorial_corpus())
    assert len(snap.probes) >= 10 and watcher.alarms == ()


def test_forget_biases_at_minus_8_make_the_cell_gradient_vanish(corpus):
    watcher, _ = watched_run(SMALL, PROBING, corpus, forget_bias(-8.0))
    kinds = {(a.kind, a.gate) for a in watcher.alarms}
    assert ("vanishing_gradient", None) in kinds and ("saturation", "f") in kinds
    vanishing = [a for a in watcher.alarms if a.kind == "vanishing_gradient"]
    assert all(a.value < 0.25 and a.view == "gradients" for a in vanishing)


def test_a_silenced_unit_is_reported_dead(corpus):
    def kill_unit_3(model):
        H = model.rnn.hidden_size
        model.rnn.bias_ih_l0[3 * H + 3] = -30.0  # output gate of unit 3 shut: h_3 = o * tanh(c) = 0
    watcher, _ = watched_run(replace(SMALL, bidirectional=False), replace(PROBING, lr=1e-4), corpus, kill_unit_3)
    dead = [a for a in watcher.alarms if a.kind == "dead_units"]
    assert len(dead) == 1 and dead[0].units == (3,) and "1 unit(s) of h_t in layer 0, direction 0 are dead" \
        in dead[0].message


def test_checks_read_a_trace_as_well_as_a_probe_snapshot():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        lstm.bias_ih_l0[4:8] = 10.0
    tr = trace(lstm, torch.randn(2, 5, 3), lengths=torch.tensor([5, 2]))
    sat = gate_saturation(tr)
    assert sat[("f", 0, 0)][1] == 1.0 and sat[("i", 0, 0)][1] < 0.5
    assert set(dead_units(tr)) == {(0, 0)}


def test_patience_and_reset():
    class Probe:  # a minimal probe: one layer, one direction, f saturated when `hot`
        gate_names = ("f",)
        lengths = (3,)
        def __init__(self, hot, step):
            self.step = step
            self.gates = {"f": np.full((1, 1, 1, 3, 2), 0.99 if hot else 0.5)}
            self.hidden = np.random.default_rng(step).normal(size=(1, 1, 1, 3, 2))
    w = AlarmWatcher(AlarmConfig(patience=2))
    pattern = [True, False, True, True, True, False, True, True]
    raised = [len(w.observe(Probe(hot, k))) for k, hot in enumerate(pattern)]
    assert raised == [0, 0, 0, 1, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="need 0 <= low < high <= 1"):
        AlarmConfig(low=0.9, high=0.1)

"""The Trainer: the tutorial result, events, probes, stop, NaN handling, packed padding, evaluation."""
from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from lstm_viz.data import generated_pos_corpus, tutorial_corpus
from lstm_viz.data.corpus import Corpus, LabelledText, TaggedSentence
from lstm_viz.training.models import ModelConfig, preset
from lstm_viz.data.splits import hold_out_dev
from lstm_viz.training import (
    TRAIN_PRESETS, TrainConfig, Trainer, batch_loss, build_encoder, evaluate, predict,
)

pytestmark = pytest.mark.timeout(180)

TINY_POS = ModelConfig(task="pos", embed_dim=8, hidden_size=8, bidirectional=True)
QUIET = TrainConfig(device="cpu", probe_every=0, grad_norm_every=0, eval_every=0, threads=1)


def _states(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def tutorial_run():
    # no monitoring cap here, so the cadence of norms and probes is exact
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", monitor_budget=0.0)
    trainer = Trainer(preset("tutorial"), cfg, tutorial_corpus())
    return trainer, trainer.run()


def test_tutorial_tagger_tags_the_dog_ate_the_apple(tutorial_run):
    trainer, snap = tutorial_run
    assert snap.status == "finished" and snap.step == 600 and snap.epoch == 300 and snap.progress == 1.0
    assert trainer.predict([["The", "dog", "ate", "the", "apple"], ["Everybody", "read", "that", "book"]]) == [
        ("DET", "NN", "V", "DET", "NN"), ("NN", "V", "DET", "NN")]
    assert snap.evals[-1].accuracy == 1.0 and snap.evals[-1].count == 9
    assert snap.events[-1].loss < snap.events[0].loss


def test_step_events_content(tutorial_run):
    trainer, snap = tutorial_run
    cfg = trainer.train_config
    assert [e.step for e in snap.events] == list(range(1, 601))  # log_every=1
    assert all(e.lr == 0.1 and math.isfinite(e.loss) and 0 <= e.accuracy <= 1 and e.tokens_per_s > 0
               for e in snap.events)
    assert [e.epoch for e in snap.events[:4]] == [1, 1, 2, 2]  # two sentences, one per step
    with_norms = [e for e in snap.events if e.gate_grad_norms is not None]
    assert [e.step for e in with_norms] == list(range(cfg.grad_norm_every, 601, cfg.grad_norm_every))
    assert set(with_norms[0].gate_grad_norms) == {(0, 0, g) for g in "ifgo"}
    assert all(v >= 0 and math.isfinite(v) for e in with_norms for v in e.gate_grad_norms.values())
    assert snap.events[0].grad_norm is None  # the tutorial does not clip


def test_probe_snapshots(tutorial_run):
    trainer, snap = tutorial_run
    probes = snap.probes
    assert 2 <= len(probes) <= trainer.train_config.max_probes
    assert probes[0].step == 0 and probes[-1].step == 600
    last = probes[-1]
    assert last.tokens[0] == ("The", "dog", "ate", "the", "apple") and last.lengths == (5, 4)
    assert last.gate_names == ("i", "f", "g", "o") and set(last.gates) == set("ifgo")
    assert last.hidden.dtype == np.float16 and last.hidden.shape == (1, 1, 2, 5, 6)
    assert last.cell.shape == (1, 1, 2, 5, 6) and not last.hidden.flags.writeable
    assert 0 <= last.gates["f"].min() and last.gates["f"].max() <= 1
    assert last.predictions == (("DET", "NN", "V", "DET", "NN"), ("NN", "V", "DET", "NN"))
    # the recording equals the model's own rnn output (float16 precision), padding zeroed
    b = trainer.probes.batch
    with torch.no_grad():
        out, _ = trainer.model.eval().run_rnn(trainer.model.embed_inputs(b.tokens), b.lengths)
    np.testing.assert_allclose(last.hidden[0, 0], out.numpy(), atol=2e-3)
    assert last.hidden[0, 0, 1, 4].tolist() == [0.0] * 6


def test_monitoring_budget_caps_probe_and_norm_time():
    """With a tiny share allowed, due probes and per-gate norms are skipped, but the first and last probe stay,
    and so do the first two due per-gate norms (the Train page's gradient-norm chart needs two points)."""
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", monitor_budget=1e-6, epochs=50)
    snap = Trainer(preset("tutorial"), cfg, tutorial_corpus()).run()
    steps = [p.step for p in snap.probes]
    assert steps[0] == 0 and steps[-1] == 100
    assert len(steps) <= 3  # a due probe runs only while monitoring is within its share of the time
    norms = [e.step for e in snap.events if e.gate_grad_norms is not None]
    every = max(cfg.grad_norm_every, cfg.log_every)  # norms ride on logging steps (both are multiples here)
    assert norms == [every, 2 * every]
    uncapped = Trainer(preset("tutorial"), replace(cfg, monitor_budget=0.0), tutorial_corpus()).run()
    assert [p.step for p in uncapped.probes] == list(range(0, 101, cfg.probe_every)) + [100]


def test_monitoring_share_holds_with_the_first_and_last_probe_counted():
    """MonitorBudget on a fake clock: a probe costs 2 training steps (the tutorial's case), per-gate norms 0.1
    step. Probes due every 5 steps wait until their measured cost fits; the forced first and last probe count,
    and room is kept for the last one, so the whole run stays within 5% at every point after the first probe
    has been paid for, and at the end; the share is used, not wasted."""
    from lstm_viz.training.monitoring import MonitorBudget

    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    def cost(seconds):
        def fn():
            now[0] += seconds
            return seconds
        return fn
    budget = MonitorBudget(0.05, clock=clock, cost_clock=clock)
    budget.start("probe")
    probes = [0] if budget.run("probe", cost(2.0), force=True) else []
    due, norms = False, 0
    for step in range(1, 2001):
        now[0] += 1.0  # one training step
        if step % 10 == 0:
            norms += budget.run("norms", cost(0.1)) is not None
        due = due or step % 5 == 0
        if due and budget.allows("probe"):
            due = False
            probes.append(step) if budget.run("probe", cost(2.0), force=True) else None
        if step >= 200:
            assert budget.spent_s + 2.0 <= 0.05 * (now[0] - budget.t0) + 1e-9  # the last probe still fits
    budget.run("probe", cost(2.0), force=True)
    assert budget.used_share <= 0.05
    assert budget.used_share > 0.045 and 30 < len(probes) < 50 and norms > 0
    assert MonitorBudget(0.0, clock=clock).allows("probe")  # 0: no cap


def test_each_kind_of_monitoring_keeps_its_part_of_the_share():
    """Fake clock, the tutorial's proportions: a probe costs 2 steps, a norm call 0.08 step and is due every 3
    steps, probes every 20. With one pool, the second probe (run as soon as due, to measure its warm cost) and the
    room kept for the last one crowd norms out for a third of the run, and then the cheap norms take every gap and
    crowd probes out; with parts, both come all through the run, each kind within its part, the whole within the
    share."""
    from lstm_viz.training.monitoring import MONITOR_PORTIONS, MonitorBudget

    def norm_steps(portions):
        now = [0.0]
        def cost(seconds):
            return lambda: now.__setitem__(0, now[0] + seconds) or seconds
        budget = MonitorBudget(0.03, clock=lambda: now[0], portions=portions, cost_clock=lambda: now[0])
        budget.run("probe", cost(2.0), force=True)
        budget.start("probe")
        norms, probes, due = [], [], False
        for step in range(1, 601):
            now[0] += 1.0
            if step % 3 == 0 and budget.run("norms", cost(0.08), force=len(norms) < 2) is not None:
                norms.append(step)
            due = due or step % 20 == 0
            if due and budget.allows("probe"):
                due = False
                budget.run("probe", cost(2.0), force=True)
                probes.append(step)
        budget.run("probe", cost(2.0), force=True)
        return norms, probes, budget, now[0] - budget.t0

    pooled, pooled_probes, _, _ = norm_steps(None)
    assert not [s for s in pooled if 20 < s <= 200] and pooled_probes == [20]  # one pool: each kind starves
    parted, probes, budget, elapsed = norm_steps(MONITOR_PORTIONS)
    assert all(any(a < s <= a + 60 for s in parted) for a in range(0, 600, 60))  # a norm in every 60 steps
    assert len([s for s in probes if s > 300]) >= 2
    assert budget.spent_by["norms"] <= MONITOR_PORTIONS["norms"] * 0.03 * elapsed
    assert budget.used_share <= 0.03 + 2.0 / elapsed  # the last probe is forced; room was kept for it
    with pytest.raises(ValueError, match="add up to 1"):
        MonitorBudget(0.03, portions={"probe": 0.5, "norms": 0.25})


def test_a_monitoring_call_costs_the_cpu_time_it_takes_not_the_time_it_waits():
    """In the app the training thread waits for the GIL while the page redraws; such a wait (here a sleep) slows a
    training step as much and is not monitoring's cost on the CPU. On CUDA, where a call may sleep while it waits
    for the GPU, the wall clock counts."""
    from lstm_viz.training.monitoring import MonitorBudget, cost_clock_for

    def waits():
        time.sleep(0.05)
        sum(range(200_000))  # a few ms of real work

    on_cpu = MonitorBudget(0.03, cost_clock=cost_clock_for(torch.device("cpu")))
    on_cpu.run("norms", waits, force=True)
    on_gpu = MonitorBudget(0.03, cost_clock=cost_clock_for(torch.device("cuda")))
    on_gpu.run("norms", waits, force=True)
    assert 0 < on_cpu.spent_s < 0.04 and on_gpu.spent_s >= 0.05


def test_a_short_train_page_run_draws_gate_norms_across_the_whole_run():
    """The Train page's tutorial run (600 steps, norms due every 3, probes every 20, 3% share): probes and norms
    each have their part of the share, and per-gate norms come in every quarter of the run, not only its first
    steps, also on a loaded machine (calls are measured in the thread's CPU time). The command line takes no
    norms: its probes keep the whole share."""
    from lstm_viz.training.monitoring import MONITOR_PORTIONS

    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", epochs=300, batch_size=1, log_every=1,
                  probe_every=20, grad_norm_every=3, threads=1)
    trainer = Trainer(preset("tutorial"), cfg, tutorial_corpus())
    assert trainer.budget.portions == dict(MONITOR_PORTIONS)
    snap = trainer.run()
    norms = [e.step for e in snap.events if e.gate_grad_norms is not None]
    assert snap.step == 600 and norms[:2] == [3, 6]
    assert all(any(a < s <= a + 150 for s in norms) for a in range(0, 600, 150)), norms
    command_line = Trainer(preset("tutorial"), replace(cfg, grad_norm_every=0), tutorial_corpus())
    assert command_line.budget.portions == {"probe": 1.0}


def test_probes_and_events_stay_bounded():
    corpus = generated_pos_corpus(n_train=60, n_dev=5, n_test=5)
    cfg = replace(QUIET, batch_size=2, max_steps=60, probe_every=1, max_probes=5, max_events=10,
                  grad_norm_every=0)
    snap = Trainer(TINY_POS, cfg, corpus).run()
    assert snap.step == 60 and snap.status == "finished"
    assert len(snap.probes) <= 5 and snap.probes[0].step == 0 and snap.probes[-1].step == 60
    steps = [p.step for p in snap.probes]
    assert steps == sorted(set(steps))
    assert len(snap.events) <= 10
    gaps = {b.step - a.step for a, b in zip(snap.events, snap.events[1:-1])}
    assert len(gaps) == 1  # thinning keeps them evenly spaced
    assert snap.events[-1].step == 60  # the steps after the last regular event are flushed at the end


def test_stop_from_another_thread_keeps_whole_weights():
    corpus = generated_pos_corpus(n_train=200, n_dev=5, n_test=5)
    trainer = Trainer(TINY_POS, replace(QUIET, batch_size=4, epochs=10_000), corpus)
    after_step = {}
    trainer.add_callback("on_step_end", lambda t: after_step.update(step=t.step, state=_states(t.model)))
    thread = trainer.start()
    deadline = time.monotonic() + 60
    while trainer.snapshot().step < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trainer.snapshot().status == "running"
    t0 = time.monotonic()
    trainer.stop()
    assert trainer.join(timeout=10)
    assert time.monotonic() - t0 < 1.0
    assert not thread.is_alive()
    snap = trainer.snapshot()
    assert snap.status == "stopped" and "stopped at step" in snap.message
    pressed = int(re.search(r"Stop pressed at step (\d+)", snap.message).group(1))
    assert pressed <= snap.step <= pressed + 1  # it stops within one optimizer step of the request
    assert snap.step == after_step["step"] and 5 <= snap.step < snap.total_steps
    _assert_same_state(_states(trainer.model), after_step["state"])
    assert snap.eta_s is None and 0 < snap.progress < 1
    with pytest.raises(RuntimeError, match="runs once"):
        trainer.run()


def test_nan_loss_fails_and_restores_last_good_weights():
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", lr=1e38, epochs=50)
    trainer = Trainer(preset("tutorial"), cfg, tutorial_corpus())
    after = [_states(trainer.model)]  # after[k]: weights after k steps
    trainer.add_callback("on_step_end", lambda t: after.append(_states(t.model)))
    snap = trainer.run()
    assert snap.status == "failed"
    assert f"at step {snap.step + 1}" in snap.message and "lower the learning rate (now 1e+38)" in snap.message
    assert "gradient clipping" in snap.message
    state = _states(trainer.model)
    assert all(torch.isfinite(v).all() for v in state.values())
    # the update of the last completed step made the loss non-finite: its input weights are the last good ones
    _assert_same_state(state, after[snap.step - 1])


def test_packed_padding_gives_the_same_loss_as_each_sequence_alone():
    corpus = generated_pos_corpus(n_train=12, n_dev=1, n_test=1)
    for cfg in (ModelConfig(task="pos", arch="lstm", embed_dim=6, hidden_size=5, bidirectional=True,
                            num_layers=2, char_embed_dim=3, char_hidden=2),
                ModelConfig(task="pos", arch="gru", embed_dim=6, hidden_size=5)):
        trainer = Trainer(cfg, QUIET, corpus)
        enc, model = trainer.encoder, trainer.model.eval()
        items = enc.encode_all(corpus.train[:6])
        assert len({len(i.ids) for i in items}) > 1  # the batch really is padded
        with torch.no_grad():
            batch = enc.collate(items)
            total, correct, count = batch_loss(model, batch, reduction="sum")
            singles = [batch_loss(model, enc.collate([it]), reduction="sum") for it in items]
        torch.testing.assert_close(total, sum(s[0] for s in singles), rtol=1e-5, atol=1e-5)
        assert int(correct) == sum(int(s[1]) for s in singles) and count == sum(s[2] for s in singles)


def _keyword_corpus(n: int, seed: int = 0) -> Corpus:
    """Texts of filler words with one 'good' or 'bad' somewhere: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "was", "a", "plot", "and", "it", "very", "story", "actors"]
    texts = []
    for i in range(n):
        words = list(rng.choice(filler, size=int(rng.integers(2, 12))))
        key = "good" if i % 2 else "bad"
        words.insert(int(rng.integers(0, len(words) + 1)), key)
        texts.append(LabelledText(tuple(words), "positive" if key == "good" else "negative"))
    return Corpus("keywords", "sentiment", tuple(texts[: n - 40]), dev=tuple(texts[n - 40:]),
                  labels=("negative", "positive"))


def test_sentiment_training_and_evaluate_match_predict():
    corpus = _keyword_corpus(240)
    cfg = ModelConfig(task="sentiment", arch="gru", embed_dim=8, hidden_size=8, bidirectional=True)
    trainer = Trainer(cfg, replace(QUIET, epochs=6, eval_every=2, lr=2e-2, batch_size=8), corpus)
    snap = trainer.run()
    assert snap.status == "finished" and [e.epoch for e in snap.evals] == [2, 4, 6]
    res = evaluate(trainer.model, corpus.dev, trainer.encoder)
    preds = predict(trainer.model, trainer.encoder, [ex.tokens for ex in corpus.dev])
    assert res.count == 40
    assert res.accuracy == pytest.approx(np.mean([p == ex.label for p, ex in zip(preds, corpus.dev)]))
    assert res.accuracy >= 0.9  # it found the keyword wherever it stands
    assert snap.evals[-1].accuracy == pytest.approx(res.accuracy)


def test_max_steps_callbacks_and_snapshot_are_immutable():
    corpus = generated_pos_corpus(n_train=40, n_dev=4, n_test=4)
    trainer = Trainer(TINY_POS, replace(QUIET, max_steps=7, batch_size=4, log_every=2), corpus)
    calls = []
    trainer.add_callback("on_step_end", lambda t: calls.append("step"))
    trainer.add_callback("on_finish", lambda t: calls.append("finish"))
    assert trainer.snapshot().status == "idle"
    snap = trainer.run()
    assert snap.status == "finished" and "max_steps=7" in snap.message and snap.step == 7
    assert calls == ["step"] * 7 + ["finish"]
    assert [e.step for e in snap.events] == [2, 4, 6, 7]  # the odd last step is flushed
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 3
    assert isinstance(snap.events, tuple)
    with pytest.raises(TypeError):
        snap.metrics["loss"] = 0.0
    with pytest.raises(ValueError, match="unknown callback"):
        trainer.add_callback("on_nothing", print)


def test_two_trainers_in_threads_do_not_interfere():
    corpus = generated_pos_corpus(n_train=40, n_dev=4, n_test=4)
    threads_before = torch.get_num_threads()
    trainers = [Trainer(TINY_POS, replace(QUIET, max_steps=15, batch_size=4, seed=s), corpus) for s in (0, 0)]
    for t in trainers:
        t.start()
    assert all(t.join(timeout=60) for t in trainers)
    assert [t.snapshot().status for t in trainers] == ["finished", "finished"]
    # both used threads=1; torch's process-wide count is back for threads started afterwards
    seen = []
    probe = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    probe.start()
    probe.join()
    assert seen == [threads_before]
    assert trainers[0].model is not trainers[1].model
    # same seed, same data: identical initial weights (seeded init does not depend on the global RNG)
    fresh = [Trainer(TINY_POS, QUIET, corpus) for _ in range(2)]
    _assert_same_state(_states(fresh[0].model), _states(fresh[1].model))


def test_restore_best_and_hold_out_dev():
    texts = tuple(LabelledText(("good",) if i % 2 else ("bad",), "positive" if i % 2 else "negative")
                  for i in range(40))
    corpus = hold_out_dev(Corpus("toy", "sentiment", texts, labels=("negative", "positive")), 0.25, seed=1)
    assert len(corpus.dev) == 10 and len(corpus.train) == 30 and "held out" in corpus.notes["dev"]
    cfg = ModelConfig(task="sentiment", embed_dim=4, hidden_size=4)
    trainer = Trainer(cfg, replace(QUIET, epochs=4, eval_every=1, restore_best=True, lr=0.05), corpus)
    snap = trainer.run()
    best = max(e.accuracy for e in snap.evals)
    assert trainer.evaluate("dev").accuracy == pytest.approx(best)
    with pytest.raises(ValueError, match="fraction"):
        hold_out_dev(corpus, 1.5)


def test_lr_decay_per_epoch():
    corpus = generated_pos_corpus(n_train=8, n_dev=2, n_test=2)
    snap = Trainer(TINY_POS, replace(QUIET, epochs=3, batch_size=8, lr=0.01, lr_decay=0.5), corpus).run()
    assert [e.lr for e in snap.events] == pytest.approx([0.01, 0.005, 0.0025])


def test_bad_configurations_are_clear_errors():
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay=0.0)
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ValueError, match="task 'pos' but the model is for 'sentiment'"):
        Trainer(ModelConfig(task="sentiment"), QUIET, tutorial_corpus())
    with pytest.raises(ValueError, match="no training examples"):
        build_encoder(TINY_POS, Corpus("empty", "pos", ()))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Trainer(TINY_POS, replace(QUIET, device="cuda"), tutorial_corpus())


def test_training_thread_exception_becomes_failed_status():
    trainer = Trainer(TINY_POS, replace(QUIET, max_steps=3), Corpus(
        "t", "pos", (TaggedSentence(("a", "b"), ("X", "Y")),), labels=("X", "Y")))

    def boom(t):
        raise RuntimeError("callback exploded")

    trainer.add_callback("on_step_end", boom)
    trainer.start()
    assert trainer.join(timeout=30)
    snap = trainer.snapshot()
    assert snap.status == "failed" and "callback exploded" in snap.message
    assert isinstance(trainer.error, RuntimeError)
    assert threading.active_count() >= 1


def test_batched_step_events_equal_per_step_numbers_and_readers_see_every_step():
    """The Trainer keeps each step's logits and turns logged steps into StepEvents in batches (step_log): the
    accuracy and loss of every event equal those computed step by step from the same forward passes, and a
    snapshot taken at any step (here from a step callback) already holds that step's event."""
    from lstm_viz.training.step_log import StepWindow, events_of

    gen = torch.Generator().manual_seed(0)
    window, windows, expected = StepWindow(0.0), [], []
    for step in range(1, 10):  # padded tagger steps ([B*T, C] with IGNORE_INDEX at padding) in windows of 1-3
        logits = torch.randn(4 * step, 5, generator=gen)
        targets = torch.randint(0, 5, (4 * step,), generator=gen)
        targets[::3] = -100
        window.add(float(step) / 7, logits, targets, int((targets != -100).sum()), 4 * step)
        correct = int((logits.argmax(-1) == targets).sum())
        expected.append((correct, int((targets != -100).sum()), float(step) / 7))
        if step in (1, 3, 4, 7, 9):
            windows.append(window.close(step, 1, 0.1, 0.0, None, None, 0))
    events = events_of(windows)
    bounds = [0, 1, 3, 4, 7, 9]
    for event, a, b in zip(events, bounds, bounds[1:]):
        part = expected[a:b]
        assert event.accuracy == sum(c for c, _, _ in part) / sum(n for _, n, _ in part)
        assert event.loss == sum(v for _, _, v in part) / len(part)
    assert [e.step for e in events] == bounds[1:]

    corpus = generated_pos_corpus(n_train=40, n_dev=4, n_test=4)
    trainer = Trainer(TINY_POS, replace(QUIET, max_steps=12, batch_size=4), corpus)
    seen = []
    trainer.add_callback("on_step_end", lambda t: seen.append(
        (t.step, [e.step for e in t.snapshot().events])))
    trainer.run()
    assert all(steps == list(range(1, step + 1)) for step, steps in seen)


def test_the_first_probe_counts_at_its_warm_cost():
    """The probe at step 0 runs before MonitorBudget.start() and carries one-time warm-up: it is counted in the
    share at the warm cost its next call measures (not at its cold cost, not at nothing)."""
    from lstm_viz.training.monitoring import MonitorBudget

    now = [0.0]
    budget = MonitorBudget(0.05, clock=lambda: now[0], cost_clock=lambda: now[0])

    def cost(seconds):
        return lambda: now.__setitem__(0, now[0] + seconds)

    budget.run("probe", cost(50.0), force=True)  # cold: 50 s
    budget.start("probe")
    assert budget.spent_s == 0.0
    now[0] += 1000.0  # training
    budget.run("probe", cost(2.0), force=True)  # warm: 2 s
    assert budget.spent_s == 2.0 + 2.0  # this probe and the first at its warm cost
    budget.run("probe", cost(3.0), force=True)
    assert budget.spent_s == 7.0  # counted once


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_optimizer_uses_torchs_fused_kernel_with_the_same_update(optimizer):
    from lstm_viz.training.building import build_optimizer

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, bidirectional=True)
    twin = torch.nn.LSTM(5, 7, bidirectional=True)
    twin.load_state_dict(lstm.state_dict())
    cfg = TrainConfig(optimizer=optimizer, lr=0.01, momentum=0.9 if optimizer == "sgd" else 0.0, weight_decay=1e-4)
    fused = build_optimizer(list(lstm.parameters()), cfg)
    plain = (torch.optim.Adam(twin.parameters(), lr=0.01, weight_decay=1e-4) if optimizer == "adam"
             else torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4))
    assert fused.param_groups[0]["fused"] is True
    x = torch.randn(6, 3, 5)
    for _ in range(3):
        for module, opt in ((lstm, fused), (twin, plain)):
            opt.zero_grad()
            module(x)[0].square().sum().backward()
            opt.step()
    for a, b in zip(lstm.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

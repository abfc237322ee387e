"""Weight averaging (TrainConfig.average_decay, training/averaging.py): the average is the bias-corrected moving
average of the step weights, computed here independently; dev evaluation, restore_best, Stop and the final model
use it; training itself (the optimizer's weights) is bit-identical with it on or off, and off is the default."""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.data import generated_pos_corpus, tutorial_corpus
from lstm_viz.training import TRAIN_PRESETS, TrainConfig, Trainer, evaluate
from lstm_viz.training.averaging import WeightAverage
from lstm_viz.training.models import ModelConfig, preset

pytestmark = pytest.mark.timeout(180)

TINY_POS = ModelConfig(task="pos", embed_dim=8, hidden_size=8, bidirectional=True, dropout=0.3)
QUIET = TrainConfig(device="cpu", probe_every=0, grad_norm_every=0, eval_every=1, threads=1, batch_size=4,
                    lr=0.02)


def _params(model) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in model.named_parameters()}


def _hand_average(steps: list[dict[str, torch.Tensor]], decay: float) -> list[dict[str, torch.Tensor]]:
    """averages[t]: m_t / (1 - decay^t) with m_t = decay * m_(t-1) + (1 - decay) * w_t, m_0 = 0 (float64); [0]: None."""
    out, m = [None], {k: torch.zeros_like(v, dtype=torch.float64) for k, v in steps[0].items()}
    for t, weights in enumerate(steps[1:], start=1):
        m = {k: decay * m[k] + (1 - decay) * weights[k].double() for k in m}
        out.append({k: (m[k] / (1 - decay ** t)).float() for k in m})
    return out


def _run(cfg: TrainConfig, corpus, stop_at: int | None = None):
    """Train from seed 0 (dropout included) -> (trainer, snapshot, weights after each step: [0] the initial)."""
    torch.manual_seed(0)
    trainer = Trainer(TINY_POS, cfg, corpus)
    steps = [_params(trainer.model)]

    def after_step(t: Trainer) -> None:
        steps.append(_params(t.model))
        if stop_at is not None and t.step == stop_at:
            t.stop()

    trainer.add_callback("on_step_end", after_step)
    return trainer, trainer.run(), steps


def _assert_params(model, expected: dict[str, torch.Tensor], exact: bool = False) -> None:
    got = _params(model)
    assert got.keys() == expected.keys()
    for k in got:
        if exact:
            assert torch.equal(got[k], expected[k]), k
        else:
            torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)


def _loss_with(model, weights: dict[str, torch.Tensor], corpus, encoder):
    other = copy.deepcopy(model)
    with torch.no_grad():
        for k, p in other.named_parameters():
            p.copy_(weights[k])
    return evaluate(other, corpus.dev, encoder)


def test_the_average_is_the_bias_corrected_moving_average_by_hand():
    torch.manual_seed(3)
    params = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(5))]
    average = WeightAverage(params, decay=0.8)
    seen = [{str(i): p.detach().clone() for i, p in enumerate(params)}]
    for t in range(1, 6):
        with torch.no_grad():
            for p in params:
                p.add_(torch.randn_like(p))  # what an optimizer step would do
        average.update()
        seen.append({str(i): p.detach().clone() for i, p in enumerate(params)})
        if t == 1:  # the first step's weights exactly: no pull towards the initial weights
            assert all(torch.equal(a, p) for a, p in zip(average.average, params))
        by_hand = _hand_average(seen, 0.8)[t]
        for i, a in enumerate(average.average):
            torch.testing.assert_close(a, by_hand[str(i)], rtol=1e-6, atol=1e-6)
    trained = [p.detach().clone() for p in params]
    with average.applied():  # the average in the parameters, the trained weights back afterwards, bit for bit
        assert all(torch.equal(p, a) for p, a in zip(params, average.average))
    assert all(torch.equal(p, w) for p, w in zip(params, trained))
    average.copy_to_model()
    assert all(torch.equal(p, a) for p, a in zip(params, average.average)) and average.in_model
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(params, decay=1.0)
    with pytest.raises(ValueError, match="average_decay"):
        TrainConfig(average_decay=0.0)


def test_training_is_the_same_with_or_without_averaging_and_dev_and_restore_best_use_the_average():
    corpus = generated_pos_corpus(n_train=48, n_dev=12, n_test=4)
    assert TrainConfig().average_decay is None  # off by default
    base = replace(QUIET, epochs=4, restore_best=True)
    plain, plain_snap, plain_steps = _run(base, corpus)
    averaged, snap, steps = _run(replace(base, average_decay=0.9), corpus)
    assert snap.status == plain_snap.status == "finished" and snap.step == plain_snap.step == 48
    # the optimizer's weights after every step are the same, bit for bit: averaging only reads them
    assert len(steps) == len(plain_steps) == 49
    for a, b in zip(steps, plain_steps):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    by_hand = _hand_average(steps, 0.9)
    encoder = averaged.encoder
    assert [e.step for e in snap.evals] == [e.step for e in plain_snap.evals] == [12, 24, 36, 48]
    for e_avg, e_plain in zip(snap.evals, plain_snap.evals):
        # without averaging: the evaluated weights are the trained ones; with it: the average by hand
        raw = _loss_with(plain.model, plain_steps[e_plain.step], corpus, encoder)
        assert e_plain.loss == pytest.approx(raw.loss, rel=1e-6) and e_plain.accuracy == raw.accuracy
        mean = _loss_with(averaged.model, by_hand[e_avg.step], corpus, encoder)
        assert e_avg.loss == pytest.approx(mean.loss, rel=1e-4) and e_avg.accuracy == mean.accuracy
        assert abs(e_avg.loss - raw.loss) > 1e-3  # the two really differ, so the check above can fail
    # restore_best keeps the best evaluation's weights: the trained ones without averaging, the average with it
    best = max(snap.evals, key=lambda e: (e.accuracy, e.step))  # ties: the later one (DevTracker keeps >=)
    _assert_params(averaged.model, by_hand[best.step])
    plain_best = max(plain_snap.evals, key=lambda e: (e.accuracy, e.step))
    _assert_params(plain.model, plain_steps[plain_best.step], exact=True)
    assert "weights averaged over the steps (decay 0.9)" in snap.message
    assert "averaged" not in plain_snap.message


def test_a_stopped_run_keeps_the_average_and_a_nan_run_the_guards_weights():
    corpus = generated_pos_corpus(n_train=400, n_dev=4, n_test=4)
    trainer, snap, steps = _run(replace(QUIET, epochs=5, eval_every=0, average_decay=0.5), corpus, stop_at=6)
    assert snap.status == "stopped" and snap.step == 6
    _assert_params(trainer.model, _hand_average(steps, 0.5)[6])
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    # NaN: the guard's weights (those of the last step whose loss was finite), as without averaging
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu", lr=1e38, epochs=50, average_decay=0.9)
    trainer = Trainer(preset("tutorial"), cfg, tutorial_corpus())
    after = [_params(trainer.model)]
    trainer.add_callback("on_step_end", lambda t: after.append(_params(t.model)))
    snap = trainer.run()
    assert snap.status == "failed" and "averaged" not in snap.message
    _assert_params(trainer.model, after[snap.step - 1], exact=True)


def test_the_command_line_average_flag(capsys):
    argv = ["train", "--data", "generated-pos", "--limit", "60", "--embed", "8", "--hidden", "8", "--no-char",
            "--epochs", "1", "--threads", "1", "--quiet"]
    assert main([*argv, "--average", "0.99"]) == 0
    assert main([*argv, "--average", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "average_decay must be in (0, 1)" in err and len(err.strip().splitlines()) == 1

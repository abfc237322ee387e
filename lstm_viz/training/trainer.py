"""The Trainer: trains one model on one corpus in the caller's thread or a plain thread, publishes immutable
snapshots (RunState) and can be stopped between any two optimizer steps.

It knows nothing about any UI: a page polls `trainer.snapshot()`; callbacks (minGPT style) run in the
training thread. The model is only changed by whole optimizer steps, and a NaN/inf loss restores the
weights of the last step whose loss was finite (monitoring.NanGuard).
"""
from __future__ import annotations

import math
import time
from typing import Optional, Sequence

import torch

from ..data.batching import Batch, BatchEncoder
from ..data.corpus import Corpus, Example
from .background import BackgroundRun
from .building import TrainingBatches, build_encoder, build_optimizer, seeded_model
from .config import TrainConfig, resolve_device
from .evaluation import DevTracker, evaluate, forward_loss, predict, target_count
from .events import EvalEvent, EvalResult
from .models import Model, ModelConfig
from .monitoring import (
    MonitorBudget, NanGuard, ProbeRecorder, choose_probe_examples, cost_clock_for, gate_norms, monitor_portions,
    nan_message,
)
from .run_state import RunState
from .step_log import StepWindow


class Trainer(BackgroundRun):
    """Trains one model on one corpus. Each Trainer owns its model, optimizer and batches (no globals).

    `run()` trains in the calling thread; `start()` runs it in a new daemon thread; `stop()` asks it to
    stop after the current step; `snapshot()` may be called from any thread at any time (BackgroundRun). Do not use
    `trainer.model` from another thread while it runs; read probes from snapshots instead.
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, corpus: Corpus, *,
                 encoder: Optional[BatchEncoder] = None, model: Optional[Model] = None,
                 probe_examples: Optional[Sequence[Example]] = None):
        self.model_config, self.train_config, self.corpus = model_config, train_config, corpus
        cfg = train_config
        self.encoder = encoder if encoder is not None else build_encoder(model_config, corpus)
        if self.encoder.task != model_config.task:
            raise ValueError(f"encoder is for task {self.encoder.task!r}, the model for {model_config.task!r}")
        self.device = resolve_device(cfg.device)
        model = model if model is not None else seeded_model(model_config, self.encoder, cfg.seed)
        self.model = model.to(self.device)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(self._params, cfg)
        self.batches = TrainingBatches(self.encoder, corpus, cfg, self.device)
        self.total_steps = self.batches.total_steps
        self.dev = DevTracker(self.batches.dev, self.device, keep_best=cfg.restore_best)
        self.probes = ProbeRecorder(self.encoder, choose_probe_examples(corpus, cfg, probe_examples), self.device)
        self.guard = NanGuard(self._params)
        self.budget = MonitorBudget(cfg.monitor_budget, portions=monitor_portions(cfg, self.probes.batch is not None),
                                    cost_clock=cost_clock_for(self.device))
        super().__init__(RunState(cfg, self.total_steps), cfg.threads)
        self.step = 0  # optimizer steps done (the training thread's own count; readers use snapshot())
        self._norm_samples = 0  # steps whose per-gate gradient norms were recorded

    # -- reading the model (not while it trains in another thread) ----------------------------------------
    def evaluate(self, split: str = "dev") -> Optional[EvalResult]:
        """Evaluate the current weights on a corpus split (not while the trainer runs in another thread)."""
        return evaluate(self.model, self.corpus.split(split), self.encoder,
                        batch_size=self.train_config.eval_batch_size, device=self.device)

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, token_lists)

    # -- the loop -------------------------------------------------------------------------------------------
    def _train(self) -> None:
        cfg = self.train_config
        self.model.train()
        # The first and last probe always run. The first, at step 0, carries the recording path's one-time warm-up
        # (0.5 s in a fresh app thread against a few ms warm), which would otherwise use up a short run's whole
        # monitoring share: it counts at its warm cost once the next probe has measured that (MonitorBudget.start),
        # and room for the last probe is kept free (reserve_kind).
        self._probe_due = False
        self.budget.run("probe", self._record_probe, 0, force=True)
        self.budget.start("probe" if self.probes.batch is not None else None)
        self._window, self._tokens_seen, ended = StepWindow(time.perf_counter()), 0, None
        try:
            for epoch in range(1, cfg.epochs + 1):
                self.state.set(epoch=epoch)
                ended = self._train_epoch(epoch)
                if ended:
                    break
                self._end_epoch(epoch)
            if self._window.steps:  # the last steps since the previous event
                self._emit(epoch, None, None)
        finally:
            self.state.flush()  # every logged step becomes a StepEvent, whatever ended the run
        self._finish(ended, epoch)

    def _train_epoch(self, epoch: int) -> Optional[str]:
        """The steps of one epoch: why the run ends ("stopped", "nan", ...), or None to go on."""
        move = self.device.type != "cpu"  # batches are formed on the CPU
        for pieces in self.batches.epoch():  # one optimizer step: a batch, or the token-capped pieces of one
            ended = self._should_end()
            if ended:
                return ended
            if move:
                pieces = [batch.to(self.device) for batch in pieces]
            if self.threads.timing():  # a round of thread-count trials: this step is timed
                with self.threads.step(sum(batch.tokens.numel() for batch in pieces)):
                    ended = self._train_step(pieces, epoch)
            else:
                ended = self._train_step(pieces, epoch)
            if ended:
                return ended
            self._trigger("on_step_end")
        return None

    def _train_step(self, pieces: Sequence[Batch], epoch: int) -> Optional[str]:
        """One optimizer step over one batch's pieces; "nan" (weights untouched) when a loss is not finite,
        "stopped" (weights untouched, the half-done step discarded) when Stop comes between two pieces."""
        cfg, model = self.train_config, self.model
        stepped = self._backward(pieces)
        if isinstance(stepped, str):
            return stepped
        loss_value, logits, targets, count = stepped
        if cfg.guard_nan:
            self.guard.save()  # these weights gave a finite loss
        num_tokens = sum(batch.num_tokens for batch in pieces)
        self.step = step = self.step + 1
        log_now = step % self.state.log_every == 0
        # gate norms ride on logging steps only, so events stay evenly spaced. The first two always run (a few
        # ms): on a busy machine a short run's share may fit no other, and the Train page needs two for a line
        norms = (self.budget.run("norms", gate_norms, model.rnn, force=self._norm_samples < 2)
                 if log_now and cfg.grad_norm_every and step % cfg.grad_norm_every == 0 else None)
        self._norm_samples += norms is not None
        total_norm = torch.nn.utils.clip_grad_norm_(self._params, cfg.clip_grad_norm) if cfg.clip_grad_norm else None
        self.optimizer.step()
        self._window.add(loss_value, logits, targets, count, num_tokens)  # accuracy counted in batches
        self._tokens_seen += num_tokens
        if log_now:
            self._emit(epoch, total_norm, norms)
        else:
            self.state.step = step
        if cfg.probe_every and step % cfg.probe_every == 0:
            self._probe_due = True  # a due probe waits (a step at a time) until its measured cost fits the share
        if self._probe_due and self.budget.allows("probe"):
            self._probe_due = False
            self.budget.run("probe", self._record_probe, epoch, force=True)
        return None

    def _backward(self, pieces: Sequence[Batch]):
        """Gradients of one step: each piece's loss weighted by its share of the batch's targets, so they add up to
        the whole batch's mean loss -> (loss, logits, targets, count) of the batch, or why the step ended."""
        total = sum(target_count(batch) for batch in pieces) if len(pieces) > 1 else None
        loss_value, outputs = 0.0, []
        self.optimizer.zero_grad(set_to_none=True)
        for k, batch in enumerate(pieces):
            if k and self._stop.is_set():
                return "stopped"  # between pieces: the weights are those of the last whole step
            loss, logits, targets, count = forward_loss(self.model, batch)
            value = loss.item()  # the one number read per piece (what any training loop's loss.item() costs)
            if not math.isfinite(value):
                self._nan_value = value
                return "nan"
            share = 1.0 if total is None else count / total
            (loss if total is None else loss * share).backward()
            loss_value += value * share
            outputs.append((logits, targets))
        if total is None:
            return loss_value, logits, targets, count
        return loss_value, torch.cat([lg for lg, _ in outputs]), torch.cat([t for _, t in outputs]), total

    def _should_end(self) -> Optional[str]:
        cfg = self.train_config
        if self._stop.is_set():
            return "stopped"
        if cfg.max_steps and self.step >= cfg.max_steps:
            return "max_steps"
        if cfg.time_budget_s and time.perf_counter() - self.budget.t0 >= cfg.time_budget_s:
            return "budget"
        return None

    def _end_epoch(self, epoch: int) -> None:
        cfg = self.train_config
        if cfg.eval_every and self.batches.dev and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
            self._evaluate_dev(epoch)
        if cfg.lr_decay != 1.0:
            for group in self.optimizer.param_groups:
                group["lr"] *= cfg.lr_decay
        self._trigger("on_epoch_end")

    # -- publishing -----------------------------------------------------------------------------------------
    def _emit(self, epoch: int, total_norm: Optional[torch.Tensor], norms) -> None:
        self.state.add_window(self._window.close(self.step, epoch, self.optimizer.param_groups[0]["lr"],
                                                 self.budget.t0, total_norm, norms, self._tokens_seen))

    def _record_probe(self, epoch: int) -> None:
        probe = self.probes.record(self.model, self.step, epoch)
        if probe is not None:
            self.state.add_probe(probe)
            self._trigger("on_probe")
        elif self.probes.error:
            self.state.set(message=self.probes.error)

    def _evaluate_dev(self, epoch: int) -> None:
        res = self.dev.evaluate(self.model, self.step, self._stop)
        if res is not None:
            self.state.add_eval(EvalEvent(step=self.step, epoch=epoch, split="dev", loss=res.loss,
                                          accuracy=res.accuracy, count=res.count),
                                dev_loss=res.loss, dev_accuracy=res.accuracy, best_dev_accuracy=self.dev.best_accuracy)

    def _finish(self, ended: Optional[str], epoch: int) -> None:
        cfg, step = self.train_config, self.step
        if ended == "nan" or not self.guard.weights_finite():
            self.guard.restore()
            message = nan_message(self._nan_value, step + 1, cfg) if ended == "nan" else nan_message(
                float("nan"), step, cfg)
            self.state.set(step=step, status="failed", message=message)
            self.budget.run("probe", self._record_probe, epoch, force=True)
            return
        self.state.set(step=step)
        self.state.update_metrics(tokens_seen=self._tokens_seen)
        kept = None
        if cfg.restore_best and self.batches.dev and not self._stop.is_set():
            if not (self.state.evals and self.state.evals[-1].step == step):
                self._evaluate_dev(epoch)
            kept = self.dev.restore_best(self.model, step)
        if cfg.probe_every and (not self.state.probes or self.state.probes[-1].step != step):
            self.budget.run("probe", self._record_probe, epoch, force=True)
        self.state.update_metrics(monitoring_share=self.budget.used_share)
        status, message = _end_status(ended, step, cfg, self.state.stop_step)
        self.state.set(status=status, message=message + (
            f"; kept the weights of step {kept} (best dev accuracy)" if kept is not None else ""))

    def _recover(self) -> str:
        restored = self.guard.restore() if not self.guard.weights_finite() else False
        return " (restored the last good weights)" if restored else ""


def _end_status(ended: Optional[str], step: int, cfg: TrainConfig, stop_step: Optional[int]) -> tuple[str, str]:
    """(status, message) of a run that ended for `ended` ("stopped", "max_steps", "budget" or None: all epochs)."""
    if ended == "stopped":
        return "stopped", f"stopped at step {step} on request (Stop pressed at step {stop_step})"
    if ended == "max_steps":
        return "finished", f"finished: reached max_steps={cfg.max_steps}"
    if ended == "budget":
        return "finished", f"finished: time budget of {cfg.time_budget_s:g} s reached at step {step}"
    return "finished", f"finished {cfg.epochs} epochs ({step} steps)"

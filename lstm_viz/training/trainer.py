"""The Trainer: trains one model on one corpus in the caller's thread or a plain thread, publishes immutable
snapshots (RunState) and can be stopped between any two optimizer steps.

It knows nothing about any UI: a page polls `trainer.snapshot()`; callbacks (minGPT style) run in the
training thread. The model is only changed by whole optimizer steps, and a NaN/inf loss restores the
weights of the last step whose loss was finite (monitoring.NanGuard).
"""
from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from typing import Any, Callable, Optional, Sequence

import torch

from ..data.batching import Batch, BatchEncoder, make_batches
from ..data.corpus import Corpus, Example
from .building import build_encoder, build_optimizer, seeded_model
from .config import CALLBACK_EVENTS, TrainConfig, resolve_device
from .evaluation import batch_loss, evaluate, evaluate_batches, predict
from .events import EvalEvent, EvalResult, StepEvent, TrainerSnapshot
from .models import Model, ModelConfig
from .monitoring import MonitorBudget, NanGuard, ProbeRecorder, gate_norms, choose_probe_examples, nan_message
from .run_state import RunState, StepWindow
from .threads import torch_threads


def _end_status(ended: Optional[str], step: int, cfg: TrainConfig) -> tuple[str, str]:
    """(status, message) of a run that ended for `ended` ("stopped", "max_steps", "budget" or None: all epochs)."""
    if ended == "stopped":
        return "stopped", f"stopped at step {step} on request"
    if ended == "max_steps":
        return "finished", f"finished: reached max_steps={cfg.max_steps}"
    if ended == "budget":
        return "finished", f"finished: time budget of {cfg.time_budget_s:g} s reached at step {step}"
    return "finished", f"finished {cfg.epochs} epochs ({step} steps)"


class Trainer:
    """Trains one model on one corpus. Each Trainer owns its model, optimizer and batches (no globals).

    `run()` trains in the calling thread; `start()` runs it in a new daemon thread; `stop()` asks it to
    stop after the current step; `snapshot()` may be called from any thread at any time. Do not use
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
        self.model = (model if model is not None else seeded_model(model_config, self.encoder, cfg.seed)).to(self.device)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(self._params, cfg)
        self._train_items = self.encoder.encode_all(corpus.train)
        if not self._train_items:
            raise ValueError(f"corpus {corpus.name!r} has no non-empty training examples")
        self._dev_batches = make_batches(self.encoder, self.encoder.encode_all(corpus.dev), cfg.eval_batch_size)
        self._rng = random.Random(cfg.seed)
        # Without shuffling the batches never change: encode and pad them once (the tutorial's 600 steps).
        self._fixed_batches = (None if cfg.shuffle else [b.to(self.device) for b in make_batches(
            self.encoder, self._train_items, cfg.batch_size)])
        self.batches_per_epoch = math.ceil(len(self._train_items) / cfg.batch_size)
        planned = cfg.epochs * self.batches_per_epoch
        self.total_steps = min(planned, cfg.max_steps) if cfg.max_steps else planned
        self.probes = ProbeRecorder(self.encoder, choose_probe_examples(corpus, cfg, probe_examples), self.device)
        self.guard = NanGuard(self._params)
        self.budget = MonitorBudget(cfg.monitor_budget)
        self.state = RunState(cfg, self.total_steps)
        self._callbacks: dict[str, list[Callable[["Trainer"], Any]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._best: Optional[tuple[int, dict[str, torch.Tensor]]] = None  # restore_best: (step, weights)
        self.step = 0  # optimizer steps done (the training thread's own count; readers use snapshot())
        self.error: Optional[BaseException] = None  # an unexpected exception that ended the run

    # -- public control -------------------------------------------------------------------------------------
    def add_callback(self, event: str, fn: Callable[["Trainer"], Any]) -> None:
        """`fn(trainer)` runs in the training thread at `event` (one of CALLBACK_EVENTS)."""
        if event not in CALLBACK_EVENTS:
            raise ValueError(f"unknown callback event {event!r}; use one of {CALLBACK_EVENTS}")
        self._callbacks[event].append(fn)

    def run(self) -> TrainerSnapshot:
        """Train in this thread until done, stopped or failed; returns the final snapshot. Unexpected
        exceptions (not NaN, which ends with status 'failed') are re-raised after the status is set."""
        self._claim()
        self._run()
        if self.error is not None:
            raise self.error
        return self.snapshot()

    def start(self) -> threading.Thread:
        """Train in a new daemon thread; poll `snapshot()`, call `stop()` / `join()`."""
        self._claim()
        self._thread = threading.Thread(target=self._run, name="lstm-viz-trainer", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the run to stop after the current step (or evaluation batch); the weights stay whole."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for a started run; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return not self.is_running

    @property
    def is_running(self) -> bool:
        return self.state.status == "running"

    def snapshot(self) -> TrainerSnapshot:
        return self.state.snapshot()

    def evaluate(self, split: str = "dev") -> Optional[EvalResult]:
        """Evaluate the current weights on a corpus split (not while the trainer runs in another thread)."""
        return evaluate(self.model, self.corpus.split(split), self.encoder,
                        batch_size=self.train_config.eval_batch_size, device=self.device)

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, token_lists)

    # -- the loop -------------------------------------------------------------------------------------------
    def _train(self) -> None:
        cfg, model = self.train_config, self.model
        model.train()
        self.budget.start()
        self._record_probe(0)
        self._window = StepWindow(time.perf_counter())
        self._tokens_seen, ended = 0, None
        for epoch in range(1, cfg.epochs + 1):
            self.state.set(epoch=epoch)
            for batch in self._epoch_batches():
                ended = self._should_end()
                if ended:
                    break
                ended = self._train_step(batch.to(self.device), epoch)
                if ended:
                    break
                self._trigger("on_step_end")
            if ended:
                break
            self._end_epoch(epoch)
        if self._window.steps:  # the last steps since the previous event
            self._emit(epoch, None, None)
        self._finish(ended, epoch)

    def _train_step(self, batch: Batch, epoch: int) -> Optional[str]:
        """One optimizer step; "nan" (weights untouched) when the loss is not finite."""
        cfg, model = self.train_config, self.model
        loss, correct, count = batch_loss(model, batch)
        loss_value, correct_value = torch.stack([loss.detach(), correct.to(loss.dtype)]).tolist()
        if not math.isfinite(loss_value):
            self._nan_value = loss_value
            return "nan"
        if cfg.guard_nan:
            self.guard.save()  # these weights gave a finite loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.step = step = self.step + 1
        log_now = step % self.state.log_every == 0
        # gate norms ride on logging steps only, so events stay evenly spaced
        norms = (self.budget.run(gate_norms, model.rnn)
                 if log_now and cfg.grad_norm_every and step % cfg.grad_norm_every == 0 else None)
        total_norm = torch.nn.utils.clip_grad_norm_(self._params, cfg.clip_grad_norm) if cfg.clip_grad_norm else None
        self.optimizer.step()
        self._window.add(loss_value, correct_value, count, batch.num_tokens)
        self._tokens_seen += batch.num_tokens
        if log_now:
            self._emit(epoch, total_norm, norms)
        else:
            self.state.step = step
        if cfg.probe_every and step % cfg.probe_every == 0:
            self.budget.run(self._record_probe, epoch)
        return None

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
        if cfg.eval_every and self._dev_batches and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
            self._evaluate_dev(epoch)
        if cfg.lr_decay != 1.0:
            for group in self.optimizer.param_groups:
                group["lr"] *= cfg.lr_decay
        self._trigger("on_epoch_end")

    # -- publishing -----------------------------------------------------------------------------------------
    def _emit(self, epoch: int, total_norm, norms) -> None:
        win, now = self._window, time.perf_counter()
        event = StepEvent(
            step=self.step, epoch=epoch, loss=win.loss / win.steps, accuracy=win.correct / max(win.count, 1),
            lr=self.optimizer.param_groups[0]["lr"], tokens_per_s=win.tokens / max(now - win.t_start, 1e-9),
            elapsed_s=now - self.budget.t0, grad_norm=None if total_norm is None else float(total_norm),
            gate_grad_norms=norms)
        win.reset(now)
        self.state.add_event(event, loss=event.loss, accuracy=event.accuracy, tokens_per_s=event.tokens_per_s,
                             tokens_seen=self._tokens_seen)

    def _record_probe(self, epoch: int) -> None:
        probe = self.probes.record(self.model, self.step, epoch)
        if probe is not None:
            self.state.add_probe(probe)
            self._trigger("on_probe")
        elif self.probes.error:
            self.state.set(message=self.probes.error)

    def _evaluate_dev(self, epoch: int) -> None:
        res = evaluate_batches(self.model, self._dev_batches, self.device, self._stop)
        if res is None:
            return
        best = max([e.accuracy for e in self.state.evals] + [res.accuracy])
        if self.train_config.restore_best and res.accuracy >= best:
            self._best = (self.step, {k: v.detach().clone() for k, v in self.model.state_dict().items()})
        self.state.add_eval(EvalEvent(step=self.step, epoch=epoch, split="dev", loss=res.loss,
                                      accuracy=res.accuracy, count=res.count),
                            dev_loss=res.loss, dev_accuracy=res.accuracy, best_dev_accuracy=best)

    def _finish(self, ended: Optional[str], epoch: int) -> None:
        cfg, step = self.train_config, self.step
        if ended == "nan" or not self.guard.weights_finite():
            self.guard.restore()
            message = (nan_message(self._nan_value, step + 1, cfg) if ended == "nan"
                       else nan_message(float("nan"), step, cfg))
            self.state.set(step=step, status="failed", message=message)
            self._record_probe(epoch)
            return
        self.state.set(step=step)
        self.state.update_metrics(tokens_seen=self._tokens_seen)
        if cfg.restore_best and self._dev_batches and not self._stop.is_set():
            if not (self.state.evals and self.state.evals[-1].step == step):
                self._evaluate_dev(epoch)
            if self._best is not None and self._best[0] != step:
                self.model.load_state_dict(self._best[1])
        if cfg.probe_every and (not self.state.probes or self.state.probes[-1].step != step):
            self._record_probe(epoch)
        status, message = _end_status(ended, step, cfg)
        if self._best is not None and cfg.restore_best and self._best[0] != step:
            message += f"; kept the weights of step {self._best[0]} (best dev accuracy)"
        self.state.set(status=status, message=message)

    # -- plumbing -------------------------------------------------------------------------------------------
    def _claim(self) -> None:
        with self.state.lock:
            if self.state.status != "idle":
                raise RuntimeError("a Trainer runs once; make a new Trainer (pass model=...) to train further")
            self.state.status, self.state.message = "running", "training"
            self.state.t_start = time.perf_counter()

    def _run(self) -> None:
        try:
            with torch_threads(self.train_config.threads):
                self._train()
        except BaseException as err:  # noqa: BLE001 - any failure must end as a visible status
            self.error = err
            restored = self.guard.restore() if not self.guard.weights_finite() else False
            self.state.set(status="failed", message=f"training failed: {type(err).__name__}: {err}"
                           + (" (restored the last good weights)" if restored else ""))
        finally:
            self.state.set(t_end=time.perf_counter())
            try:
                self._trigger("on_finish")
            except Exception as err:  # noqa: BLE001
                if self.error is None:
                    self.error = err

    def _trigger(self, event: str) -> None:
        for fn in self._callbacks.get(event, ()):
            fn(self)

    def _epoch_batches(self) -> list[Batch]:
        if self._fixed_batches is not None:
            return self._fixed_batches
        return make_batches(self.encoder, self._train_items, self.train_config.batch_size, shuffle=True,
                            rng=self._rng)

"""The state a run publishes, under one lock: status, step, events (thinned to a bound), evaluations,
probes (thinned), metrics and times. `snapshot()` hands readers an immutable TrainerSnapshot; the training
thread holds the lock only for short appends, never while it computes."""
from __future__ import annotations

import threading
import time
from types import MappingProxyType
from typing import Mapping, Optional

from .config import TrainConfig
from .events import EvalEvent, ProbeSnapshot, StepEvent, TrainerSnapshot


class StepWindow:
    """Sums over the steps since the previous StepEvent."""

    __slots__ = ("loss", "correct", "count", "tokens", "steps", "t_start")

    def __init__(self, t_start: float):
        self.reset(t_start)

    def reset(self, t_start: float) -> None:
        self.loss = self.correct = 0.0
        self.count = self.tokens = self.steps = 0
        self.t_start = t_start

    def add(self, loss: float, correct: float, count: int, tokens: int) -> None:
        self.loss += loss
        self.correct += correct
        self.count += count
        self.tokens += tokens
        self.steps += 1

    def close(self, step: int, epoch: int, lr: float, t0: float, grad_norm: Optional[float],
              gate_grad_norms: Optional[Mapping]) -> StepEvent:
        """The StepEvent of these steps (t0: when training started); the window starts afresh."""
        now = time.perf_counter()
        event = StepEvent(step=step, epoch=epoch, loss=self.loss / self.steps,
                          accuracy=self.correct / max(self.count, 1), lr=lr,
                          tokens_per_s=self.tokens / max(now - self.t_start, 1e-9), elapsed_s=now - t0,
                          grad_norm=grad_norm, gate_grad_norms=gate_grad_norms)
        self.reset(now)
        return event


class RunState:
    """Everything `snapshot()` shows. Writers: the training thread; readers: any thread."""

    def __init__(self, cfg: TrainConfig, total_steps: int):
        self.cfg = cfg
        self.total_steps = total_steps  # planned steps (epochs x batches, capped by max_steps)
        self.lock = threading.Lock()
        self.status = "idle"
        self.step = 0  # an int store is atomic: the training thread may set it without the lock
        self.epoch = 0
        self.message = "ready"
        self.stop_step: Optional[int] = None  # steps done when stop() was called (None: never)
        self.log_every = cfg.log_every  # doubles whenever max_events is reached
        self.events: list[StepEvent] = []
        self.evals: list[EvalEvent] = []
        self.probes: list[ProbeSnapshot] = []
        self.metrics: Mapping[str, float] = MappingProxyType({})
        self.t_start: Optional[float] = None
        self.t_end: Optional[float] = None

    def claim(self) -> None:
        """idle -> running, once: a run trains only once."""
        with self.lock:
            if self.status != "idle":
                raise RuntimeError("a Trainer runs once; make a new Trainer (pass model=...) to train further")
            self.status, self.message, self.t_start = "running", "training", time.perf_counter()

    def set(self, **changes) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)

    def update_metrics(self, **values: float) -> None:
        with self.lock:
            self.metrics = MappingProxyType({**self.metrics, **values})

    def add_event(self, event: StepEvent, **metrics: float) -> None:
        with self.lock:
            self.step = event.step
            self.events.append(event)
            if len(self.events) > self.cfg.max_events:
                self.events = self.events[1::2]  # keeps steps 2k, 4k, ...: the new stride is 2k
                self.log_every *= 2
            self.metrics = MappingProxyType({**self.metrics, **metrics})

    def add_eval(self, event: EvalEvent, **metrics: float) -> None:
        with self.lock:
            self.evals = self.evals + [event]
            self.metrics = MappingProxyType({**self.metrics, **metrics})

    def add_probe(self, probe: ProbeSnapshot) -> None:
        with self.lock:
            probes = self.probes + [probe]
            if len(probes) > self.cfg.max_probes:
                # keep the first, every other one of the rest, and always the newest
                probes = probes[:1] + probes[2:-1:2] + [probes[-1]]
            self.probes = probes

    def snapshot(self) -> TrainerSnapshot:
        cfg = self.cfg
        with self.lock:
            now = self.t_end or time.perf_counter()
            elapsed = (now - self.t_start) if self.t_start else 0.0
            progress = min(1.0, self.step / self.total_steps) if self.total_steps else 0.0
            if cfg.time_budget_s:  # whichever ends the run first
                progress = max(progress, min(1.0, elapsed / cfg.time_budget_s))
            if self.status == "finished":
                progress = 1.0
            eta = None
            if self.status == "running" and self.step > 0:
                eta = elapsed / self.step * max(self.total_steps - self.step, 0)
                if cfg.time_budget_s:
                    eta = min(eta, max(cfg.time_budget_s - elapsed, 0.0))
            return TrainerSnapshot(
                status=self.status, step=self.step, epoch=self.epoch, total_steps=self.total_steps,
                progress=progress, eta_s=eta, elapsed_s=elapsed, events=tuple(self.events),
                evals=tuple(self.evals), probes=tuple(self.probes), message=self.message, metrics=self.metrics)

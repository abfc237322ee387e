"""The state a run publishes, under one lock: status, step, events (thinned to a bound), evaluations,
probes (thinned), metrics and times. `snapshot()` hands readers an immutable TrainerSnapshot; the training
thread holds the lock only for short appends and, now and then, for turning its logged steps into StepEvents
(step_log: batched, so that a sub-millisecond step pays no per-step event cost; a snapshot always
includes every logged step)."""
from __future__ import annotations

import threading
import time
from types import MappingProxyType
from typing import Mapping, Optional

from .config import TrainConfig
from .events import EvalEvent, ProbeSnapshot, StepEvent, TrainerSnapshot
from .step_log import LoggedWindow, events_of


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
        self._pending: list[LoggedWindow] = []  # logged steps not yet turned into StepEvents
        self._pending_elements = 0  # logit values they keep alive
        self._flushed_at = time.perf_counter()

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

    def _append_event(self, event: StepEvent) -> None:
        self.events.append(event)
        if len(self.events) > self.cfg.max_events:
            self.events = self.events[1::2]  # keeps steps 2k, 4k, ...: the new stride is 2k
            self.log_every *= 2

    def add_window(self, window: LoggedWindow, flush_after_s: float = 1.0,
                   max_elements: int = 1 << 20) -> None:
        """A logged step from the training thread. It becomes a StepEvent at the next snapshot or flush; at
        once when it is the event that thins the list (so `log_every` doubles at the step whose event
        fills the list), when the pending ones are older than `flush_after_s` or keep more than `max_elements`
        logit values alive."""
        with self.lock:
            self.step = window.step
            self._pending.append(window)
            self._pending_elements += window.elements
            if (len(self.events) + len(self._pending) > self.cfg.max_events or self._pending_elements > max_elements
                    or time.perf_counter() - self._flushed_at >= flush_after_s):
                self._flush()

    def flush(self) -> None:
        """Turn the pending logged steps into StepEvents now (end of a run, before a callback reads them)."""
        with self.lock:
            self._flush()

    def _flush(self) -> None:  # with the lock held
        self._flushed_at = time.perf_counter()
        if not self._pending:
            return
        windows, self._pending, self._pending_elements = self._pending, [], 0
        events = events_of(windows)
        for event in events:
            self._append_event(event)
        last, w = events[-1], windows[-1]
        self.metrics = MappingProxyType({**self.metrics, "loss": last.loss, "accuracy": last.accuracy,
                                         "tokens_per_s": last.tokens_per_s, "tokens_seen": w.tokens_seen})

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
            self._flush()
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

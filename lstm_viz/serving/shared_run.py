"""A deterministic run trained once per server and handed to every session that asks for the same run.

The tutorial tagger with its preset settings and seed trains to bit-identical weights every time (one CPU
thread, fixed batch order, seeded initialisation), so thirty students pressing "Train it now" need one
training, not thirty. `TrainOnce` trains one configuration through the server's TrainingScheduler (so it
waits its turn like any run) and every caller waits for that same run; `SharedRun` is one session's own run
made from the result: the shared, immutable snapshot (curves, metrics) and the session's own CPU copy of the
final weights, so nothing one session does can reach another's model.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Callable, Optional

from ..data.corpus import Corpus
from ..training import TrainConfig, Trainer
from ..training.events import TrainerSnapshot
from ..training.live_copy import cpu_copy
from ..training.models import Model, ModelConfig
from ..training.run import TRAINED_HERE
from .limits import LimitError
from .scheduler import QueueStatus, TrainingScheduler

SHARED_SESSION = "shared:"  # prefix of the scheduler session ids of server-wide runs (never closed)


def run_key(model_config: ModelConfig, train_config: TrainConfig, corpus: Corpus) -> str:
    """A digest of everything that decides the trained weights: both configs (seed included) and the data."""
    text = repr((model_config, train_config, corpus.name, corpus.task, corpus.labels, corpus.train, corpus.dev,
                 corpus.test))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class TrainOnce:
    """One training of one configuration for the whole server (thread-safe). `submit()` puts it in the
    scheduler's line the first time (and again after a run that did not finish); `result()` is the finished
    Trainer, or None while it waits or trains."""

    def __init__(self, key: str, make_trainer: Callable[[], Trainer], scheduler: TrainingScheduler,
                 label: str):
        self.key, self.label = key, label
        self._make, self._scheduler = make_trainer, scheduler
        self._lock = threading.Lock()
        self._trainer: Optional[Trainer] = None
        self._run_id: Optional[str] = None
        self._done: Optional[Trainer] = None

    @property
    def session_id(self) -> str:
        return SHARED_SESSION + self.key

    def submit(self) -> Optional[str]:
        """The scheduler's run id of this configuration's training (submitting it if there is none); None when
        the result is already there. Raises LimitError when the queue refuses it."""
        with self._lock:
            if self._done is not None:
                return None
            if self._run_id is not None:
                try:
                    state = self._scheduler.status(self._run_id).state
                except LimitError:  # forgotten
                    state = "unknown"
                if state in ("queued", "running"):
                    return self._run_id
                if state == "finished":
                    self._finish()
                    return None
                self._scheduler.forget(self._run_id)  # stopped, failed or cancelled: train it anew
            self._trainer = self._make()
            self._run_id = self._scheduler.submit(self.session_id, self._trainer, self.label)
            return self._run_id

    def wait(self, timeout: Optional[float] = None) -> Optional[QueueStatus]:
        """Wait (at most timeout s) for the shared run; its status (None when the result is there)."""
        run_id = self.submit()
        if run_id is None:
            return None
        try:
            status = self._scheduler.wait(run_id, timeout)
        except LimitError:  # another waiter took the finished result and the line forgot the run
            if self.result() is not None:
                return None
            raise
        if status.state == "finished":
            with self._lock:
                if self._run_id == run_id:
                    self._finish()
        return status

    def result(self) -> Optional[Trainer]:
        """The finished Trainer (read only: never train or change it), or None."""
        with self._lock:
            return self._done

    def _finish(self) -> None:  # with the lock held
        self._done, self._trainer = self._trainer, None
        self._scheduler.forget(self._run_id)  # the server keeps it here, not in the line's bookkeeping
        self._run_id = None


class SharedRun:
    """One session's run made from a finished Trainer that every session shares (the Run protocol of
    lstm_viz.training.run). Its snapshot is the shared, immutable one; its weights are its own CPU copy,
    made on first use."""

    origin = TRAINED_HERE
    shared = True  # trained once for the whole server (same settings, seed and data: identical weights)

    def __init__(self, name: str, trainer: Trainer, dataset: str):
        snap = trainer.snapshot()
        if snap.status != "finished":
            raise ValueError(f"a shared run needs a finished training, this one is {snap.status!r}")
        self.name, self.dataset = name, dataset
        self.created = time.time()
        self.model_config, self.train_config = trainer.model_config, trainer.train_config
        self.encoder, self.corpus = trainer.encoder, trainer.corpus
        # the run's name across the server: every SharedRun of these configs, seed and data has these weights
        self.key = run_key(self.model_config, self.train_config, self.corpus)
        self._snapshot = snap
        self._source = trainer.model  # never changed again: the training has ended
        self._lock = threading.Lock()
        self._copy: Optional[tuple[int, Model]] = None

    is_running = False
    stop_requested = False

    @property
    def status(self) -> str:
        return self._snapshot.status

    @property
    def step(self) -> int:
        return self._snapshot.step

    def snapshot(self) -> TrainerSnapshot:
        return self._snapshot

    def model_copy(self, wait_s: float = 2.0) -> Optional[tuple[int, Model]]:
        with self._lock:
            if self._copy is None:
                self._copy = (self._snapshot.step, cpu_copy(self._source))
            return self._copy

    def stop(self) -> None:
        """Nothing to stop: the run has ended."""

"""One protocol for every run a user sees: one being trained here (`TrainingRun`) and one loaded from a
checkpoint (`loaded_run.LoadedRun`). Pages read runs only through `Run`, so they have one path for both."""
from __future__ import annotations

import time
from typing import Optional, Protocol

from ..data.batching import BatchEncoder
from ..data.corpus import Corpus
from .config import TrainConfig
from .events import TrainerSnapshot
from .live_copy import LiveCopy
from .models import Model, ModelConfig
from .trainer import Trainer


TRAINED_HERE = "trained here"  # the origin of a run trained in this process


class Run(Protocol):
    """What the app needs from a run."""

    name: str  # unique within a session
    dataset: str  # what the user picked: a built-in name, a path, an uploaded file's name
    created: float  # time.time() when the run was made
    origin: str  # where its weights come from: TRAINED_HERE or "loaded from <file>"
    model_config: ModelConfig
    train_config: Optional[TrainConfig]  # None: loaded, and this version cannot rebuild the saved settings
    encoder: BatchEncoder
    corpus: Optional[Corpus]  # None: loaded without its dataset (typed text still works)

    @property
    def is_running(self) -> bool: ...

    @property
    def status(self) -> str: ...  # one of config.STATUSES

    @property
    def step(self) -> int: ...  # optimizer steps done (cheaper than snapshot().step)

    @property
    def stop_requested(self) -> bool: ...  # Stop was pressed; the run ends after its current step

    def snapshot(self) -> TrainerSnapshot: ...

    def model_copy(self, wait_s: float = 2.0) -> Optional[tuple[int, Model]]: ...  # (step, CPU eval copy)

    def stop(self) -> None: ...  # ask a training run to stop after its current step (no-op otherwise)


class TrainingRun:
    """A Trainer seen as a Run; its weights reach readers through a LiveCopy."""

    origin = TRAINED_HERE

    def __init__(self, name: str, trainer: Trainer, dataset: str):
        self.name, self.trainer, self.dataset = name, trainer, dataset
        self.created = time.time()
        self.model_config, self.train_config = trainer.model_config, trainer.train_config
        self.encoder = trainer.encoder
        self._live = LiveCopy(trainer)

    @property
    def corpus(self) -> Corpus:
        return self.trainer.corpus

    @property
    def is_running(self) -> bool:
        return self.trainer.is_running

    @property
    def status(self) -> str:
        return self.trainer.state.status

    @property
    def step(self) -> int:
        return self.trainer.state.step

    def snapshot(self) -> TrainerSnapshot:
        return self.trainer.snapshot()

    def model_copy(self, wait_s: float = 2.0) -> Optional[tuple[int, Model]]:
        return self._live.get(wait_s)

    def stop(self) -> None:
        self.trainer.stop()

    @property
    def stop_requested(self) -> bool:
        return self.trainer.stop_requested

"""A model loaded from a checkpoint, seen as a finished training run.

`LoadedTrainer` has the read side of `Trainer` (model, encoder, corpus, model_config, train_config,
snapshot(), is_running, predict, evaluate) so code that lists or analyses runs treats a reloaded
checkpoint like any finished run. It never trains: `start()`/`run()` say so.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Sequence

import torch

from .checkpoint import Bundle
from ..data.corpus import Corpus
from .models import Model
from .config import CALLBACK_EVENTS, TrainConfig
from .evaluation import evaluate, predict
from .events import EvalResult, TrainerSnapshot


def _plain_numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


class LoadedTrainer:
    """The Trainer interface of a finished run whose model came from a checkpoint file."""

    def __init__(self, model: Model, bundle: Bundle, corpus: Optional[Corpus] = None, source: str = "a checkpoint"):
        if corpus is not None and corpus.task != bundle.model_config.task:
            raise ValueError(f"corpus {corpus.name!r} is for task {corpus.task!r} but the checkpoint's model is "
                             f"for {bundle.model_config.task!r}")
        self.model = model.cpu().eval()
        self.model_config = bundle.model_config
        self.encoder = bundle.encoder
        self.corpus = corpus  # None when the training data is not at hand: texts still work, dataset examples not
        self.bundle = bundle
        try:
            self.train_config = TrainConfig.from_dict(dict(bundle.train_config)) if bundle.train_config else None
        except (TypeError, ValueError):  # a config this version cannot rebuild: show the run anyway
            self.train_config = None
        self.device = torch.device("cpu")
        self.error: Optional[BaseException] = None
        metrics = bundle.metrics or {}
        steps = int(metrics.get("steps", 0) or 0)
        self.total_steps = steps
        self._snapshot = TrainerSnapshot(
            status="finished", step=steps, epoch=int(metrics.get("epochs", 0) or 0), total_steps=steps,
            progress=1.0, eta_s=None, elapsed_s=float(metrics.get("train_seconds", 0.0) or 0.0), events=(),
            evals=(), probes=(), message=f"loaded from {source}", metrics=MappingProxyType(_plain_numbers(metrics)))

    @property
    def is_running(self) -> bool:
        return False

    def snapshot(self) -> TrainerSnapshot:
        return self._snapshot

    def add_callback(self, event: str, fn: Callable[[Any], Any]) -> None:
        """Accepted for Trainer compatibility; nothing runs, so callbacks are never called."""
        if event not in CALLBACK_EVENTS:
            raise ValueError(f"unknown callback event {event!r}; use one of {CALLBACK_EVENTS}")

    def stop(self) -> None:
        pass

    def join(self, timeout: Optional[float] = None) -> bool:
        return True

    def start(self):
        raise RuntimeError("a model loaded from a checkpoint does not train here; start a new run on the Train page")

    run = start

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, token_lists)

    def evaluate(self, split: str = "dev") -> Optional[EvalResult]:
        if self.corpus is None:
            raise ValueError("this checkpoint was loaded without its dataset; there is nothing to evaluate on")
        return evaluate(self.model, self.corpus.split(split), self.encoder)

"""A model loaded from a checkpoint, seen as a finished Run (training.run.Run): the same reads as a run
trained here, with the snapshot the checkpoint's metrics give. It never trains."""
from __future__ import annotations

import math
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Sequence

from ..data.corpus import Corpus
from ..files.budgets import Budget
from .checkpoint import Bundle, load_checkpoint
from .config import TrainConfig
from .evaluation import evaluate, predict
from .events import EvalResult, TrainerSnapshot
from .models import Model


def _plain_numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


class LoadedRun:
    """A finished run whose model came from a checkpoint file."""

    def __init__(self, name: str, model: Model, bundle: Bundle, corpus: Optional[Corpus] = None, *,
                 source: str = "a checkpoint", dataset: str = "checkpoint"):
        if corpus is not None and corpus.task != bundle.model_config.task:
            raise ValueError(f"corpus {corpus.name!r} is for task {corpus.task!r} but the checkpoint's model is "
                             f"for {bundle.model_config.task!r}")
        self.name, self.dataset, self.created = name, dataset, time.time()
        self.origin = f"loaded from {source}"
        self.model = model.cpu().eval()  # never trained here: readers may share it
        self.model_config, self.encoder, self.bundle = bundle.model_config, bundle.encoder, bundle
        self.corpus = corpus  # None when the training data is not at hand: texts still work, dataset examples not
        self.builtin: Optional[tuple[str, tuple]] = None  # (built-in dataset name, loader options) of `corpus`
        try:
            self.train_config = TrainConfig.from_dict(dict(bundle.train_config)) if bundle.train_config else None
        except (TypeError, ValueError):  # a config this version cannot rebuild: show the run anyway
            self.train_config = None
        metrics = bundle.metrics or {}
        steps = int(metrics.get("steps", 0) or 0)
        self._snapshot = TrainerSnapshot(
            status="finished", step=steps, epoch=int(metrics.get("epochs", 0) or 0), total_steps=steps,
            progress=1.0, eta_s=None, elapsed_s=float(metrics.get("train_seconds", 0.0) or 0.0), events=(),
            evals=(), probes=(), message=self.origin, metrics=MappingProxyType(_plain_numbers(metrics)))

    is_running = False
    status = "finished"
    stop_requested = False

    @property
    def step(self) -> int:
        return self._snapshot.step

    def snapshot(self) -> TrainerSnapshot:
        return self._snapshot

    def model_copy(self, wait_s: float = 2.0) -> tuple[int, Model]:
        return self._snapshot.step, self.model

    def stop(self) -> None:
        """Nothing to stop: a loaded run is finished."""

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, token_lists)

    def evaluate(self, split: str = "dev") -> Optional[EvalResult]:
        if self.corpus is None:
            raise ValueError("this checkpoint was loaded without its dataset; there is nothing to evaluate on")
        return evaluate(self.model, self.corpus.split(split), self.encoder)


CorpusFinder = Callable[[str, tuple, str], Optional[Corpus]]  # (dataset name, loader options, task) -> corpus


def load_run(data: bytes, file_name: str, find_corpus: Optional[CorpusFinder] = None,
             budget: Optional[Budget] = None) -> LoadedRun:
    """A checkpoint's bytes as a LoadedRun named after the run it saved (else the file), "... (loaded)";
    raises CheckpointError (a ValueError) when it is not a checkpoint.

    A checkpoint saved by the app names its built-in dataset (extra: dataset_name, dataset_options); with
    `find_corpus` the run gets that corpus back (None, or a ValueError/TypeError from it: no corpus).
    `budget` bounds what the file may hold (files.budgets; default: budgets.current())."""
    model, bundle = load_checkpoint(data, budget=budget)
    extra = bundle.extra or {}
    corpus, builtin, dataset = None, None, extra.get("dataset_name")
    if find_corpus is not None and isinstance(dataset, str):
        try:
            options = tuple(tuple(o) for o in extra.get("dataset_options") or ())
            corpus = find_corpus(dataset, options, bundle.model_config.task)
            builtin = (dataset, options) if corpus is not None else None
        except (ValueError, TypeError):
            corpus = None  # the model still works on typed text
    name = str(extra.get("run") or Path(file_name).stem)[:60] + " (loaded)"
    run = LoadedRun(name, model, bundle, corpus, source=Path(file_name).name,
                    dataset=str(extra.get("dataset") or "checkpoint"))
    run.builtin = builtin
    return run

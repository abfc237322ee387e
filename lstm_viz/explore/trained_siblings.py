"""LSTM vs GRU vs plain RNN trained the same way: when the session's model came from a run whose task, data
and settings are known (a run trained here, a checkpoint reloaded with its dataset, or a built-in teaching
model whose recipe and data are at hand), train the architectures it lacks on the same corpus (the same
train/dev/test split), with the same encoder (vocabulary), settings and seed, under a time budget, and
measure all of them on one split. Their gradient flows on one input then compare trained models.

Nothing here imports streamlit: a page passes a `progress(kind, fraction)` callback.
"""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

from ..data.batching import BatchEncoder
from ..data.corpus import Corpus
from ..record.gradient_flow import gradient_flow
from ..record.results import GradientFlow, Trace
from ..training.config import TrainConfig
from ..training.evaluation import evaluate
from ..training.models import ARCHS, Model, ModelConfig
from ..training.trainer import Trainer
from .subject import AnalysisInput, ModelSubject

SIBLING_BUDGET_S = 60.0  # default training time per missing architecture (the run's own time budget if shorter)
Progress = Callable[[str, float], None]  # (architecture, share of its planned steps done, 0..1)


class UnknownTraining(ValueError):
    """The model's training data or settings are not known here; the message says which and why."""


class KnownTraining:
    """How the session's model was trained: enough to train its siblings the same way. The corpus of a
    built-in model is read on first use (`corpus`), not when the page asks whether the training is known."""

    def __init__(self, source: str, dataset: str, model_config: ModelConfig, train_config: TrainConfig,
                 encoder: BatchEncoder, corpus: Optional[Corpus] = None,
                 load_corpus: Optional[Callable[[], Corpus]] = None, steps: Optional[int] = None):
        if (corpus is None) == (load_corpus is None):
            raise ValueError("give the corpus or a function that loads it (one of them)")
        self.source = source  # said in captions, e.g. "the run 'Tutorial tagger' (trained here)"
        self.dataset = dataset  # its name, said before it is loaded
        self.model_config, self.train_config = model_config, train_config
        self.encoder = encoder  # the model's own vocabulary: every sibling reads the same token ids
        self.steps = steps  # optimizer steps of the model itself, when known
        self._corpus, self._load = corpus, load_corpus
        self._lock = threading.Lock()

    @property
    def corpus(self) -> Corpus:
        """The same object (the same split) for every sibling; UnknownTraining when it cannot be read."""
        with self._lock:
            if self._corpus is None:
                try:
                    self._corpus = self._load()
                except (OSError, ValueError) as err:  # FileNotFoundError, DataError
                    raise UnknownTraining(f"the training data of {self.source} is not on this machine "
                                          f"({' '.join(str(err).split())[:160]})") from None
            return self._corpus

    @property
    def arch(self) -> str:
        return ARCHS[self.model_config.arch]  # "LSTM", "GRU" or "RNN"

    @property
    def missing(self) -> tuple[str, ...]:
        """The torch class names of the architectures the model is not, in drawing order."""
        return tuple(name for name in ARCHS.values() if name != self.arch)

    @property
    def eval_split(self) -> str:
        """The split every model is measured on: dev, else test, else train."""
        return next((s for s in ("dev", "test") if self.corpus.split(s)), "train")


def training_of_run(run) -> KnownTraining:
    """The KnownTraining of a `training.run.Run`; UnknownTraining when its settings or data are missing."""
    if run.train_config is None:
        raise UnknownTraining(f"the run {run.name!r} was loaded from a checkpoint whose training settings this "
                              "version cannot rebuild")
    if run.corpus is None:
        raise UnknownTraining(f"the run {run.name!r} was loaded without its dataset ({run.dataset}), so its "
                              "training data is not here")
    return KnownTraining(f"the run {run.name!r} ({run.origin})", run.corpus.name, run.model_config,
                         run.train_config, run.encoder, corpus=run.corpus, steps=int(run.step))


def training_of_builtin(key: str) -> KnownTraining:
    """The KnownTraining of a built-in word model: its recipe (lstm_viz.teaching.word_models); its data is
    read on first use. UnknownTraining for the character models."""
    from ..teaching.builtin import load_builtin
    from ..teaching.catalog import BY_KEY
    from ..teaching.word_models import RECIPES

    if key not in RECIPES:
        raise UnknownTraining(f"the built-in model {key!r} has no word-model recipe here"
                              + (" (the character models have their own GRU twin on the Char cells page)"
                                 if key in BY_KEY and BY_KEY[key].kind == "char" else ""))
    recipe, spec = RECIPES[key], BY_KEY[key]
    _, bundle = load_builtin(key)
    steps = (bundle.metrics or {}).get("steps")
    dataset = re.split(r", | \(", spec.data_note.removeprefix("Data: "), maxsplit=1)[0].rstrip(".")
    return KnownTraining(f"the built-in model {spec.title!r} (its training recipe)", dataset, bundle.model_config,
                         recipe.train_config, bundle.encoder, load_corpus=recipe.corpus,
                         steps=int(steps) if steps else None)


def sibling_train_config(cfg: TrainConfig, budget_s: Optional[float] = SIBLING_BUDGET_S) -> TrainConfig:
    """The run's own settings (optimizer, rate, epochs, batches, clipping, seed...) with a time budget and
    without the monitoring a comparison does not read (probes, per-gate gradient norms)."""
    if budget_s is not None and not (isinstance(budget_s, (int, float)) and budget_s > 0):
        raise ValueError(f"budget_s must be a positive number of seconds or None, got {budget_s!r}")
    budgets = [b for b in (cfg.time_budget_s, budget_s) if b is not None]
    return replace(cfg, time_budget_s=min(budgets) if budgets else None, probe_every=0, grad_norm_every=0)


@dataclass(frozen=True)
class TrainedSibling:
    kind: str  # "LSTM", "GRU" or "RNN"
    model: Model  # on the CPU, in eval mode
    steps: int  # optimizer steps done
    planned_steps: int  # what the settings plan (epochs x batches, or max_steps)
    seconds: float  # building, training and measuring it
    message: str  # the trainer's final message, e.g. "finished: time budget of 60 s reached at step 412"
    accuracy: Optional[float]  # on `split`
    split: str

    @property
    def cut_short(self) -> bool:
        return self.steps < self.planned_steps


def train_sibling(known: KnownTraining, kind: str, budget_s: Optional[float] = SIBLING_BUDGET_S,
                  progress: Optional[Progress] = None,
                  run: Optional[Callable[[Trainer], object]] = None) -> TrainedSibling:
    """Train one architecture (torch class name) on the model's corpus with its encoder, settings and seed.
    `run(trainer)` trains it to its end (default: trainer.run() in this thread; the app passes the server's
    training queue, which trains it in the queue's thread: `progress` is then called from that thread)."""
    arch = {v: k for k, v in ARCHS.items()}.get(kind)
    if arch is None:
        raise ValueError(f"kind must be one of {tuple(ARCHS.values())}, got {kind!r}")
    start = time.perf_counter()
    trainer = Trainer(replace(known.model_config, arch=arch), sibling_train_config(known.train_config, budget_s),
                      known.corpus, encoder=known.encoder)
    if progress is not None:
        last = [0.0]

        def report(t: Trainer) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.25:  # a page redraw per step would cost more than a tiny model's step
                last[0] = now
                progress(kind, min(1.0, t.step / max(t.total_steps, 1)))

        trainer.add_callback("on_step_end", report)
    if run is None:
        trainer.run()
    else:
        run(trainer)
    snap = trainer.snapshot()
    if snap.status == "failed":
        raise RuntimeError(f"training the {kind} failed: {snap.message}")
    model = trainer.model.cpu().eval()
    split = known.eval_split
    result = evaluate(model, known.corpus.split(split), known.encoder,
                      batch_size=known.train_config.eval_batch_size)
    if progress is not None:
        progress(kind, 1.0)
    return TrainedSibling(kind, model, trainer.step, trainer.total_steps, time.perf_counter() - start,
                          snap.message, None if result is None else result.accuracy, split)


def train_siblings(known: KnownTraining, budget_s: Optional[float] = SIBLING_BUDGET_S,
                   progress: Optional[Progress] = None,
                   kinds: Optional[Sequence[str]] = None,
                   run: Optional[Callable[[Trainer], object]] = None) -> dict[str, TrainedSibling]:
    """kind -> TrainedSibling for each architecture the model lacks (or `kinds`), one after the other."""
    return {kind: train_sibling(known, kind, budget_s, progress, run) for kind in (kinds or known.missing)}


def accuracy_of(model: Model, known: KnownTraining) -> Optional[float]:
    """The model's accuracy on the split its siblings are measured on."""
    result = evaluate(model, known.corpus.split(known.eval_split), known.encoder,
                      batch_size=known.train_config.eval_batch_size)
    return None if result is None else result.accuracy


@dataclass(frozen=True)
class TrainedComparison:
    flows: dict[str, GradientFlow]  # legend name -> flow, the session's model first
    traces: dict[str, Trace]  # the same names -> trace of the same forward (for the forget-gate products)
    targets_note: str  # which labels the shared loss used


def percent(x: Optional[float]) -> str:
    """An accuracy as "93%" ("n/a" when there was nothing to measure)."""
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.0%}"


def legend_name(kind: str, accuracy: Optional[float], split: str, own: bool = False) -> str:
    """e.g. "LSTM (this model, dev acc. 93%)", "GRU (trained here, dev acc. 91%)"."""
    return f"{kind} ({'this model' if own else 'trained here'}, {split} acc. {percent(accuracy)})"


def compare_trained(own: ModelSubject, own_accuracy: Optional[float], siblings: dict[str, TrainedSibling],
                    probe: AnalysisInput, known: KnownTraining) -> TrainedComparison:
    """Gradient flow of the session's model and its trained siblings on the same tokens, each through its own
    embedding and head, all under the cross-entropy on the same labels (the gold ones when the input has them,
    else the session model's predictions)."""
    gold = probe.targets is not None
    targets = probe.targets if gold else tuple(own.predict(probe.tokens))
    note = ("the gold labels of this input" if gold
            else f"the labels {known.arch} (this model) predicts for this input, the same for all three")
    subjects = {legend_name(known.arch, own_accuracy, known.eval_split, own=True): own}
    for kind, sib in siblings.items():
        subjects[legend_name(kind, sib.accuracy, sib.split)] = ModelSubject(kind, sib.model, known.encoder,
                                                                           known.corpus)
    flows, traces = {}, {}
    for name, subject in subjects.items():
        p = subject.probe(probe.tokens, targets=targets)
        flows[name] = gradient_flow(subject.module, p.inputs, subject.loss_fn(p), lengths=p.lengths)
        traces[name] = subject.trace(p)
    return TrainedComparison(flows, traces, note)

"""Training engine: a Trainer that runs in the caller's thread or a plain thread, publishes immutable
snapshots (step events, evaluations, probe recordings of the gates) and can be stopped at any time.

It knows nothing about any UI: a page polls `trainer.snapshot()`; callbacks (minGPT style) run in the
training thread. The model is only changed by whole optimizer steps, and a NaN/inf loss restores the
weights of the last step whose loss was finite.
"""
from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..data.batching import Batch, BatchEncoder, Encoded, make_batches
from ..data.corpus import Corpus, Example
from ..data.vocab import Vocab
from ..record.gradient_flow import gate_grad_norms
from .models import Model, ModelConfig, build_model

STATUSES = ("idle", "running", "stopped", "finished", "failed")
CALLBACK_EVENTS = ("on_step_end", "on_epoch_end", "on_probe", "on_finish")


@dataclass(frozen=True)
class TrainConfig:
    device: str = "auto"  # "auto" (cuda, else mps, else cpu), "cpu", "cuda" or "mps"
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 1e-3  # Adam's usual rate; plain SGD wants about 0.1
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0  # L2 penalty passed to the optimizer
    lr_decay: float = 1.0  # multiply the learning rate by this after each epoch (1: constant)
    epochs: int = 10  # passes over the training split
    batch_size: int = 32  # sequences per step
    clip_grad_norm: Optional[float] = 5.0  # rescale gradients whose global L2 norm exceeds this; None: off
    seed: int = 0  # model initialisation and batch order
    shuffle: bool = True  # new length-bucketed random batches each epoch; False: fixed order (tutorial)
    max_steps: Optional[int] = None  # stop (finished) after this many optimizer steps
    time_budget_s: Optional[float] = None  # stop (finished) after this much training time
    eval_every: int = 1  # evaluate on dev every k epochs and after the last (0: never; skipped when dev is empty)
    restore_best: bool = False  # at the end, keep the evaluated weights with the best dev accuracy
    log_every: int = 1  # a StepEvent every k steps (k doubles whenever max_events is reached)
    max_events: int = 20_000  # bound on kept step events; older ones are thinned to every other one
    grad_norm_every: int = 10  # per-gate gradient norms every k steps (0: never); they cost ~ a backward's tail
    probe_every: int = 50  # record the probe sentences every k steps (0: never); also at step 0 and the end
    probe_sentences: int = 3  # how many fixed dev (else train) examples a probe records
    probe_max_len: int = 40  # probe examples are cut to this many tokens
    max_probes: int = 40  # bound on kept probes; older ones are thinned (the first and newest stay)
    guard_nan: bool = True  # copy the weights each step so a NaN/inf loss can restore the last good ones
    monitor_budget: float = 0.05  # probes and per-gate grad norms use at most this share of the training time:
    #                               a due one is skipped while over it (the first and last probe always run); 0: no cap
    eval_batch_size: int = 128  # sequences per evaluation batch (no gradients, so larger)
    # torch intra-op CPU threads while this run trains, restored afterwards (None: leave torch's setting).
    # 1 suits tiny models: their matrices are too small to split, and idle OpenMP threads spinning on a busy
    # machine made the tutorial 3-30x slower here. torch keeps the count process-wide for threads that
    # start meanwhile, so leave it None for big models shared with other work.
    threads: Optional[int] = None

    def __post_init__(self):
        if self.device not in ("auto", "cpu", "cuda", "mps") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'mps', got {self.device!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        for name in ("epochs", "batch_size", "log_every", "max_events", "probe_max_len", "max_probes",
                     "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.monitor_budget < 1.0:
            raise ValueError(f"monitor_budget must be in [0, 1), got {self.monitor_budget!r}")
        for name in ("grad_norm_every", "probe_every", "probe_sentences", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None, got {self.max_steps!r}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ValueError(f"clip_grad_norm must be > 0 or None, got {self.clip_grad_norm!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0 or None, got {self.time_budget_s!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The PyTorch tutorial: SGD lr 0.1, 300 epochs, one sentence per step, fixed order, no clipping.
    "tutorial": TrainConfig(optimizer="sgd", lr=0.1, epochs=300, batch_size=1, shuffle=False, clip_grad_norm=None,
                            probe_every=30, grad_norm_every=5, eval_every=10, threads=1),
    # Adam on mini-batches for the real corpora.
    "default": TrainConfig(),
}


# -- immutable results published to readers ---------------------------------------------------------------------
@dataclass(frozen=True)
class StepEvent:
    step: int  # optimizer steps done
    epoch: int
    loss: float  # mean training loss over the steps since the previous event
    accuracy: float  # training accuracy (tokens for pos, texts for sentiment) over the same steps
    lr: float
    tokens_per_s: float  # real tokens per second of wall time since the previous event
    elapsed_s: float
    grad_norm: Optional[float] = None  # global gradient norm before clipping (when clipping is on)
    gate_grad_norms: Optional[Mapping[tuple[int, int, str], float]] = None  # (layer, direction, gate) -> norm


@dataclass(frozen=True)
class EvalResult:
    loss: float  # mean cross-entropy per token (pos) or per text (sentiment)
    accuracy: float  # token accuracy without padding (pos) or text accuracy (sentiment)
    count: int  # tokens (pos) or texts (sentiment) evaluated


@dataclass(frozen=True)
class EvalEvent:
    step: int
    epoch: int
    split: str  # "dev" (each epoch) or "train"
    loss: float
    accuracy: float
    count: int


@dataclass(frozen=True)
class ProbeSnapshot:
    """The fixed probe examples replayed through `model.rnn` at one step (eval mode, no gradients).

    Arrays are read-only float16 numpy, `[num_layers, num_directions, batch, time, units]`, zero at padding.
    """

    step: int
    epoch: int
    kind: str  # "lstm", "gru" or "rnn"
    tokens: tuple[tuple[str, ...], ...]  # the probe sentences (cut to probe_max_len)
    lengths: tuple[int, ...]
    gate_names: tuple[str, ...]
    gates: Mapping[str, np.ndarray]  # gate name -> [L, D, B, T, H]
    hidden: np.ndarray  # h_t [L, D, B, T, H]
    cell: Optional[np.ndarray]  # c_t [L, D, B, T, H], LSTM only
    predictions: tuple  # per example: a tuple of tags (pos) or a label (sentiment)
    targets: tuple  # gold tags / labels in the same form


@dataclass(frozen=True)
class TrainerSnapshot:
    status: str  # "idle", "running", "stopped", "finished" or "failed"
    step: int
    epoch: int
    total_steps: int  # planned steps (epochs x batches, capped by max_steps)
    progress: float  # 0..1
    eta_s: Optional[float]  # estimated seconds left (None before the first step or when not running)
    elapsed_s: float
    events: tuple[StepEvent, ...]
    evals: tuple[EvalEvent, ...]
    probes: tuple[ProbeSnapshot, ...]
    message: str  # the last human-readable message (e.g. why it failed)
    metrics: Mapping[str, float]  # latest loss, accuracy, tokens_per_s, dev_loss, dev_accuracy, best_dev_accuracy


# -- helpers usable without a Trainer ---------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was requested but CUDA is not available here; use 'cpu' or 'auto'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was requested but Apple MPS is not available here; use 'cpu' or 'auto'")
    return torch.device(name)


def build_encoder(model_config: ModelConfig, corpus: Corpus) -> BatchEncoder:
    """Vocabularies from the training split (words, chars) and labels from the whole corpus."""
    if corpus.task != model_config.task:
        raise ValueError(f"corpus {corpus.name!r} is for task {corpus.task!r} but the model is for "
                         f"{model_config.task!r}; pick a matching dataset or task")
    if not corpus.train:
        raise ValueError(f"corpus {corpus.name!r} has no training examples")
    token_seqs = [ex.tokens for ex in corpus.train]
    vocab = Vocab.build(token_seqs, min_freq=model_config.min_freq, max_size=model_config.max_vocab,
                        lowercase=model_config.lowercase)
    seen = set(corpus.labels)
    for split in (corpus.train, corpus.dev, corpus.test):
        for ex in split:
            seen.update(ex.tags if model_config.task == "pos" else (ex.label,))
    labels = Vocab.labels(sorted(seen))
    chars = Vocab.build_chars(token_seqs) if model_config.char_features else None
    return BatchEncoder(model_config.task, vocab, labels, chars)


def batch_loss(model: Model, batch: Batch, reduction: str = "mean"):
    """Forward one batch -> (loss, correct count as a tensor, count). Padding never counts (IGNORE_INDEX)."""
    logits = model(batch.tokens, batch.model_lengths, batch.chars)
    targets = batch.targets
    if logits.dim() == 3:  # tagger [B, T, C]
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction=reduction)
        count = batch.num_tokens
    else:
        loss = F.cross_entropy(logits, targets, reduction=reduction)
        count = targets.shape[0]
    correct = (logits.detach().argmax(-1) == targets).sum()
    return loss, correct, count


def evaluate(model: Model, examples: Sequence[Example] | Sequence[Encoded], encoder: BatchEncoder, *,
             batch_size: int = 128, device: Optional[torch.device] = None,
             stop: Optional[threading.Event] = None) -> Optional[EvalResult]:
    """Loss and accuracy of `model` on examples (or already encoded items). None if there is nothing to
    evaluate or `stop` was set midway. The model's train/eval mode is restored afterwards."""
    items = list(examples) if all(isinstance(e, Encoded) for e in examples) else encoder.encode_all(examples)
    return _evaluate_batches(model, make_batches(encoder, items, batch_size), device, stop)


def _evaluate_batches(model: Model, batches: Sequence[Batch], device=None, stop=None) -> Optional[EvalResult]:
    if not batches:
        return None
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    total_correct = torch.zeros((), dtype=torch.long, device=device)
    count = 0
    try:
        with torch.no_grad():
            for batch in batches:
                if stop is not None and stop.is_set():
                    return None
                loss, correct, n = batch_loss(model, batch.to(device), reduction="sum")
                total_loss += loss.double()
                total_correct += correct
                count += n
    finally:
        model.train(was_training)
    loss, correct = torch.stack([total_loss, total_correct.double()]).tolist()
    return EvalResult(loss=loss / max(count, 1), accuracy=correct / max(count, 1), count=count)


def predict(model: Model, encoder: BatchEncoder, token_lists: Sequence[Sequence[str]], *,
            batch_size: int = 128) -> list:
    """Tags per sentence (pos) or one label per text (sentiment), in input order, in eval mode."""
    device = next(model.parameters()).device
    out: list = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, len(token_lists), batch_size):
                batch = encoder.batch_tokens(token_lists[s: s + batch_size]).to(device)
                out.extend(encoder.decode(batch, model(batch.tokens, batch.model_lengths, batch.chars)))
    finally:
        model.train(was_training)
    return out


def warm_up() -> None:
    """Load what torch imports lazily on the first optimizer (torch._dynamo: 1-4 s here), so that the first
    training starts at once. Safe to call from a background thread at application start."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _gate_grad_norms(rnn: torch.nn.Module) -> Mapping[tuple[int, int, str], float]:
    return MappingProxyType(gate_grad_norms(rnn))


def _frozen_array(t: Optional[torch.Tensor]) -> Optional[np.ndarray]:
    if t is None:
        return None
    a = t.detach().to(torch.float16).cpu().numpy()
    a.flags.writeable = False
    return a


class _ThreadSetting:
    """torch's intra-op thread count is process-wide: runs that set `threads` share one saved value, and the
    last one to finish restores it (so two trainers in parallel cannot leave the process at 1 thread)."""

    _lock = threading.Lock()
    _users = 0
    _saved = 0

    @classmethod
    def enter(cls, threads: int) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved = torch.get_num_threads()
            cls._users += 1
            torch.set_num_threads(threads)

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                torch.set_num_threads(cls._saved)


class _Window:
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


# -- the trainer ------------------------------------------------------------------------------------------------
class Trainer:
    """Trains one model on one corpus. Each Trainer owns its model, optimizer and batches (no globals).

    `run()` trains in the calling thread; `start()` runs it in a new daemon thread; `stop()` asks it to
    stop after the current step; `snapshot()` may be called from any thread at any time. Do not use
    `trainer.model` from another thread while it runs; read probes from snapshots instead.
    """

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, corpus: Corpus, *,
                 encoder: Optional[BatchEncoder] = None, model: Optional[Model] = None,
                 probe_examples: Optional[Sequence[Example]] = None):
        self.model_config = model_config
        self.train_config = cfg = train_config
        self.corpus = corpus
        self.encoder = encoder if encoder is not None else build_encoder(model_config, corpus)
        if self.encoder.task != model_config.task:
            raise ValueError(f"encoder is for task {self.encoder.task!r}, the model for {model_config.task!r}")
        self.device = resolve_device(cfg.device)
        if model is None:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
                torch.manual_seed(cfg.seed)
                model = build_model(model_config, len(self.encoder.vocab), len(self.encoder.labels),
                                    len(self.encoder.char_vocab) if self.encoder.char_vocab else 0)
        self.model = model.to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self._params = params

        self._train_items = self.encoder.encode_all(corpus.train)
        if not self._train_items:
            raise ValueError(f"corpus {corpus.name!r} has no non-empty training examples")
        self._dev_batches = make_batches(self.encoder, self.encoder.encode_all(corpus.dev), cfg.eval_batch_size)
        self._rng = random.Random(cfg.seed)
        # Without shuffling the batches never change: encode and pad them once (the tutorial's 600 steps).
        self._fixed_batches = (None if cfg.shuffle else
                               [b.to(self.device) for b in make_batches(self.encoder, self._train_items,
                                                                        cfg.batch_size)])
        self.batches_per_epoch = math.ceil(len(self._train_items) / cfg.batch_size)
        planned = cfg.epochs * self.batches_per_epoch
        self.total_steps = min(planned, cfg.max_steps) if cfg.max_steps else planned
        self._probe_batch, self._probe_examples = self._make_probe(probe_examples)

        self._callbacks: dict[str, list[Callable[["Trainer"], Any]]] = defaultdict(list)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._started = False
        self._good: Optional[list[torch.Tensor]] = None  # weights of the last step with a finite loss
        self._best_state: Optional[dict[str, torch.Tensor]] = None  # restore_best: best dev weights so far
        self._best_step = -1
        # state published through snapshot(), guarded by _lock
        self._status = "idle"
        self._step = 0
        self._epoch = 0
        self._events: list[StepEvent] = []
        self._evals: list[EvalEvent] = []
        self._probes: list[ProbeSnapshot] = []
        self._message = "ready"
        self._metrics: Mapping[str, float] = MappingProxyType({})
        self._t_start: Optional[float] = None
        self._t_end: Optional[float] = None
        self._log_every = cfg.log_every
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

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for a started run; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self._status not in ("running",)

    @property
    def is_running(self) -> bool:
        return self._status == "running"

    def snapshot(self) -> TrainerSnapshot:
        with self._lock:
            now = self._t_end or time.perf_counter()
            elapsed = (now - self._t_start) if self._t_start else 0.0
            progress = min(1.0, self._step / self.total_steps) if self.total_steps else 0.0
            if self.train_config.time_budget_s:  # whichever ends the run first
                progress = max(progress, min(1.0, elapsed / self.train_config.time_budget_s))
            if self._status == "finished":
                progress = 1.0
            eta = None
            if self._status == "running" and self._step > 0:
                eta = elapsed / self._step * max(self.total_steps - self._step, 0)
                if self.train_config.time_budget_s:
                    eta = min(eta, max(self.train_config.time_budget_s - elapsed, 0.0))
            return TrainerSnapshot(
                status=self._status, step=self._step, epoch=self._epoch, total_steps=self.total_steps,
                progress=progress, eta_s=eta, elapsed_s=elapsed, events=tuple(self._events),
                evals=tuple(self._evals), probes=tuple(self._probes), message=self._message,
                metrics=self._metrics)

    def evaluate(self, split: str = "dev") -> Optional[EvalResult]:
        """Evaluate the current weights on a corpus split (not while the trainer runs in another thread)."""
        return evaluate(self.model, self.corpus.split(split), self.encoder,
                        batch_size=self.train_config.eval_batch_size, device=self.device)

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, token_lists)

    # -- internals ------------------------------------------------------------------------------------------
    def _claim(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("a Trainer runs once; make a new Trainer (pass model=...) to train further")
            self._started = True
            self._status = "running"
            self._message = "training"
            self._t_start = time.perf_counter()

    def _publish(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, "_" + key, value)

    def _update_metrics(self, **values) -> None:
        with self._lock:
            merged = dict(self._metrics)
            merged.update(values)
            self._metrics = MappingProxyType(merged)

    def _trigger(self, event: str) -> None:
        for fn in self._callbacks.get(event, ()):
            fn(self)

    def _make_probe(self, examples: Optional[Sequence[Example]]):
        cfg = self.train_config
        if cfg.probe_every == 0 or cfg.probe_sentences == 0:
            return None, ()
        if examples is None:
            pool = [ex for ex in (self.corpus.dev or self.corpus.train) if len(ex.tokens) >= 2]
            pool = pool or [ex for ex in self.corpus.train if len(ex.tokens)]
            examples = pool[: cfg.probe_sentences]
        examples = [replace(ex, tokens=ex.tokens[: cfg.probe_max_len], tags=ex.tags[: cfg.probe_max_len])
                    if hasattr(ex, "tags") else replace(ex, tokens=ex.tokens[: cfg.probe_max_len])
                    for ex in examples if len(ex.tokens)]
        if not examples:
            return None, ()
        return self.encoder.collate(self.encoder.encode_all(examples)).to(self.device), tuple(examples)

    def _epoch_batches(self) -> list[Batch]:
        if self._fixed_batches is not None:
            return self._fixed_batches
        return make_batches(self.encoder, self._train_items, self.train_config.batch_size, shuffle=True,
                            rng=self._rng)

    def _save_good(self) -> None:
        # detached views share the parameters' storage, so they are made once; the copy is one fused call
        if self._good is None:
            self._param_data = [p.detach() for p in self._params]
            self._good = [t.clone() for t in self._param_data]
        else:
            torch._foreach_copy_(self._good, self._param_data)

    def _restore_good(self) -> bool:
        if self._good is None:
            return False
        with torch.no_grad():
            for buf, p in zip(self._good, self._params):
                p.copy_(buf)
        return True

    def _weights_finite(self) -> bool:
        with torch.no_grad():
            return bool(torch.stack([torch.isfinite(p).all() for p in self._params]).all())

    def _probe(self, step: int, epoch: int) -> None:
        if self._probe_batch is None:
            return
        from ..record.tracing import trace  # built in parallel with this module

        b, model = self._probe_batch, self.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                x = model.embed_inputs(b.tokens, b.chars)
                tr = trace(model.rnn, x, lengths=b.lengths)
                logits = model(b.tokens, b.model_lengths, b.chars)
        except Exception as err:  # noqa: BLE001 - a recording problem must not end the training
            self._probe_batch = None
            self._publish(message=f"probes disabled: {type(err).__name__}: {err}")
            return
        finally:
            model.train(was_training)
        preds = self.encoder.decode(b, logits)
        targets = tuple(ex.tags if hasattr(ex, "tags") else ex.label for ex in self._probe_examples)
        probe = ProbeSnapshot(
            step=step, epoch=epoch, kind=tr.kind, tokens=tuple(ex.tokens for ex in self._probe_examples),
            lengths=tuple(b.lengths.tolist()), gate_names=tuple(tr.gate_names),
            gates=MappingProxyType({k: _frozen_array(v) for k, v in tr.gates.items()}),
            hidden=_frozen_array(tr.hidden), cell=_frozen_array(tr.cell), predictions=tuple(preds),
            targets=targets)
        with self._lock:
            probes = self._probes + [probe]
            if len(probes) > self.train_config.max_probes:
                # keep the first, every other one of the rest, and always the newest
                thinned = probes[:1] + probes[2:-1:2]
                probes = thinned + [probes[-1]]
            self._probes = probes
        self._trigger("on_probe")

    def _run(self) -> None:
        threads = self.train_config.threads
        try:
            if threads:
                _ThreadSetting.enter(threads)
            self._train()
        except BaseException as err:  # noqa: BLE001 - any failure must end as a visible status
            self.error = err
            restored = self._restore_good() if not self._weights_finite() else False
            self._publish(status="failed", message=f"training failed: {type(err).__name__}: {err}"
                          + (" (restored the last good weights)" if restored else ""))
        finally:
            if threads:
                _ThreadSetting.leave()
            with self._lock:
                self._t_end = time.perf_counter()
            try:
                self._trigger("on_finish")
            except Exception as err:  # noqa: BLE001
                if self.error is None:
                    self.error = err

    def _nan_message(self, value: float, step: int) -> str:
        cfg = self.train_config
        what = "NaN" if math.isnan(value) else "infinite"
        clip = (f"lower gradient clipping (now {cfg.clip_grad_norm:g})" if cfg.clip_grad_norm
                else "enable gradient clipping")
        return (f"loss became {what} at step {step}; lower the learning rate (now {cfg.lr:g}) or {clip}. "
                f"The weights of the last step with a finite loss were restored.")

    def _train(self) -> None:
        cfg, model, opt = self.train_config, self.model, self.optimizer
        model.train()
        t0 = time.perf_counter()
        self._monitor_s = 0.0  # seconds spent in probes and per-gate norms (see TrainConfig.monitor_budget)
        step, epoch = self._step, 0
        self._probe(step, epoch)
        win = _Window(time.perf_counter())  # training stats since the previous event
        tokens_seen = 0
        ended = None  # why training ended early: "stopped", "max_steps", "budget", "nan"
        nan_value = 0.0
        for epoch in range(1, cfg.epochs + 1):
            self._publish(epoch=epoch)
            for batch in self._epoch_batches():
                if self._stop.is_set():
                    ended = "stopped"
                    break
                if cfg.max_steps and step >= cfg.max_steps:
                    ended = "max_steps"
                    break
                if cfg.time_budget_s and time.perf_counter() - t0 >= cfg.time_budget_s:
                    ended = "budget"
                    break
                batch = batch.to(self.device)
                loss, correct, count = batch_loss(model, batch)
                loss_value, correct_value = torch.stack([loss.detach(), correct.to(loss.dtype)]).tolist()
                if not math.isfinite(loss_value):
                    nan_value, ended = loss_value, "nan"
                    break
                if cfg.guard_nan:
                    self._save_good()  # these weights gave a finite loss
                opt.zero_grad(set_to_none=True)
                loss.backward()
                step += 1
                log_now = step % self._log_every == 0
                # gate norms ride on logging steps only, so events stay evenly spaced
                gate_norms = (self._monitored(t0, _gate_grad_norms, model.rnn)
                              if log_now and cfg.grad_norm_every and step % cfg.grad_norm_every == 0 else None)
                total_norm = (torch.nn.utils.clip_grad_norm_(self._params, cfg.clip_grad_norm)
                              if cfg.clip_grad_norm else None)
                opt.step()
                win.add(loss_value, correct_value, count, batch.num_tokens)
                tokens_seen += batch.num_tokens
                if log_now:
                    self._emit(win, step, epoch, t0, total_norm, gate_norms, tokens_seen)
                else:
                    self._step = step  # an int store is atomic; the lock guards compound updates
                if cfg.probe_every and step % cfg.probe_every == 0:
                    self._monitored(t0, self._probe, step, epoch)
                self._trigger("on_step_end")
            if ended:
                break
            if cfg.eval_every and self._dev_batches and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
                self._evaluate_dev(step, epoch)
            if cfg.lr_decay != 1.0:
                for group in opt.param_groups:
                    group["lr"] *= cfg.lr_decay
            self._trigger("on_epoch_end")
        if win.steps:  # the last steps since the previous event
            self._emit(win, step, epoch, t0, None, None, tokens_seen)
        self._finish(ended, step, epoch, nan_value, tokens_seen)

    def _monitored(self, t0: float, fn, *args):
        """fn(*args) unless monitoring has used more than its share of the time since t0 (then None)."""
        budget = self.train_config.monitor_budget
        start = time.perf_counter()
        if budget and self._monitor_s > budget * (start - t0):
            return None
        try:
            return fn(*args)
        finally:
            self._monitor_s += time.perf_counter() - start

    def _emit(self, win: "_Window", step: int, epoch: int, t0: float, total_norm, gate_norms,
              tokens_seen: int) -> None:
        now = time.perf_counter()
        event = StepEvent(
            step=step, epoch=epoch, loss=win.loss / win.steps, accuracy=win.correct / max(win.count, 1),
            lr=self.optimizer.param_groups[0]["lr"], tokens_per_s=win.tokens / max(now - win.t_start, 1e-9),
            elapsed_s=now - t0, grad_norm=None if total_norm is None else float(total_norm),
            gate_grad_norms=gate_norms)
        win.reset(now)
        with self._lock:
            self._step = step
            self._events.append(event)
            if len(self._events) > self.train_config.max_events:
                self._events = self._events[1::2]  # keeps steps 2k, 4k, ...: the new stride is 2k
                self._log_every *= 2
            self._metrics = MappingProxyType({**self._metrics, "loss": event.loss, "accuracy": event.accuracy,
                                              "tokens_per_s": event.tokens_per_s, "tokens_seen": tokens_seen})

    def _evaluate_dev(self, step: int, epoch: int) -> Optional[EvalResult]:
        res = _evaluate_batches(self.model, self._dev_batches, self.device, self._stop)
        if res is None:
            return None
        event = EvalEvent(step=step, epoch=epoch, split="dev", loss=res.loss, accuracy=res.accuracy, count=res.count)
        best = max([e.accuracy for e in self._evals] + [res.accuracy])
        if self.train_config.restore_best and res.accuracy >= best:
            self._best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self._best_step = step
        with self._lock:
            self._evals = self._evals + [event]
        self._update_metrics(dev_loss=res.loss, dev_accuracy=res.accuracy, best_dev_accuracy=best)
        return res

    def _finish(self, ended: Optional[str], step: int, epoch: int, nan_value: float, tokens_seen: int) -> None:
        cfg = self.train_config
        if ended == "nan" or not self._weights_finite():
            self._restore_good()
            self._publish(step=step, status="failed", message=self._nan_message(nan_value, step + 1)
                          if ended == "nan" else self._nan_message(float("nan"), step))
            self._probe(step, epoch)
            return
        self._publish(step=step)
        self._update_metrics(tokens_seen=tokens_seen)
        if cfg.restore_best and self._dev_batches and not self._stop.is_set():
            evaluated = bool(self._evals) and self._evals[-1].step == step
            if not evaluated:
                self._evaluate_dev(step, epoch)
            if self._best_state is not None and self._best_step != step:
                self.model.load_state_dict(self._best_state)
        if self.train_config.probe_every and (not self._probes or self._probes[-1].step != step):
            self._probe(step, epoch)
        if ended == "stopped":
            status, message = "stopped", f"stopped at step {step} on request"
        elif ended == "max_steps":
            status, message = "finished", f"finished: reached max_steps={cfg.max_steps}"
        elif ended == "budget":
            status, message = "finished", f"finished: time budget of {cfg.time_budget_s:g} s reached at step {step}"
        else:
            status, message = "finished", f"finished {cfg.epochs} epochs ({step} steps)"
        if self._best_state is not None and cfg.restore_best and self._best_step != step:
            message += f"; kept the weights of step {self._best_step} (best dev accuracy)"
        self._publish(status=status, message=message)


def hold_out_dev(corpus: Corpus, fraction: float, seed: int = 0) -> Corpus:
    """A copy of `corpus` whose dev split is a seeded random `fraction` of train (for corpora without dev,
    e.g. rt-polarity), the rest staying in train. A corpus that has a dev split is returned unchanged."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"dev fraction must be in [0, 1), got {fraction}")
    if corpus.dev or fraction == 0.0:
        return corpus
    order = list(range(len(corpus.train)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(fraction * len(order)))
    dev = tuple(corpus.train[i] for i in sorted(order[:n_dev]))
    train = tuple(corpus.train[i] for i in sorted(order[n_dev:]))
    notes = {**corpus.notes, "dev": f"held out {n_dev} of {len(order)} training examples (seed {seed})"}
    return replace(corpus, train=train, dev=dev, notes=notes)

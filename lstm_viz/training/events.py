"""What a run publishes to its readers, all immutable: a StepEvent per logged step, EvalResult/EvalEvent for
evaluations, ProbeSnapshot (the gates recorded on fixed probe examples at one step) and TrainerSnapshot (the
whole published state at one moment)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np


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

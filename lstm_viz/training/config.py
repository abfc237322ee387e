"""What a training run is told: TrainConfig (a frozen dataclass, one comment per default), the run statuses
and callback events, and which torch device a config's "auto" means here."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Optional

import torch

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
    # at most this many padded tokens (sequences x longest) per step, so a step on long documents stays short
    # and Stop acts within about a second on a CPU; sentences (32 x 40 = 1,280) are never cut. None: batch_size only
    max_batch_tokens: Optional[int] = 4000
    # with max_batch_tokens: a batch over the cap is cut into pieces whose gradients add up to ONE optimizer step
    # (the whole batch's mean loss: the same step, in bounded pieces; Stop acts between pieces and discards a
    # half-done step). False: each piece is a step of its own (smaller, noisier steps on long documents)
    accumulate: bool = False
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
    # probes (with their alarm checks) and per-gate grad norms use at most this share of the training time, the
    # first and last probe (which always run) included: each is scheduled by its measured cost (a due probe waits
    # until it fits, due norms are skipped); runs shorter than ~2 probes / share cannot fit both. 0: no cap.
    # 3%: with the NaN guard's copy and the step events (~1-2% of a tutorial step) all monitoring stays within 5%
    monitor_budget: float = 0.03
    eval_batch_size: int = 128  # sequences per evaluation batch (no gradients, so larger)
    # torch intra-op CPU threads while this run trains, restored afterwards. None: chosen by timing the run's
    # own steps (threads.ThreadChooser: 1 vs torch's default, re-checked as the machine's load changes);
    # k: fixed k. 1 suits tiny models: idle OpenMP threads spinning on a busy machine made the tutorial 3-30x slower.
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
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be >= 1 or None, got {self.max_batch_tokens!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0 or None, got {self.time_budget_s!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def resolve_device(name: str) -> torch.device:
    """The torch device for a TrainConfig.device value ("auto": cuda, else mps, else cpu)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was requested but CUDA is not available here; use 'cpu' or 'auto'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was requested but Apple MPS is not available here; use 'cpu' or 'auto'")
    return torch.device(name)

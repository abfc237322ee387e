"""Every step's numbers at a per-step cost that does not show next to a sub-millisecond step.

The training loop reads one number per step (the loss, which the NaN check needs anyway, as any loop's
`loss.item()` does) and keeps references: the detached logits and targets for the accuracy, the clipping
norm as a tensor. `StepWindow` sums the steps between two StepEvents; `close()` turns them into a
`LoggedWindow` (plain data and tensor references, no torch work). `events_of()` turns a list of them into
StepEvents in one go: the correct predictions of all of them with one argmax, one comparison and one cumulative
sum, whatever the number of steps. RunState calls it when a reader takes a snapshot or the pending
windows grow (by count, by kept logits or by age), so readers always see every logged step and the numbers
are those the per-step computation gave (integer counts, the same float32 losses summed in the same order).
"""
from __future__ import annotations

import itertools
import time
from typing import Mapping, NamedTuple, Optional, Sequence

import torch

from .events import StepEvent


class LoggedWindow(NamedTuple):
    """The steps since the previous StepEvent, as the training thread leaves them (no torch work yet)."""

    step: int
    epoch: int
    loss_sum: float  # sum of the steps' mean losses (Python floats, summed in step order)
    steps: int
    count: int  # tokens (pos) or texts (sentiment) the accuracy is over
    outputs: tuple  # ((logits [N, C] detached, targets [N]), ...) one pair per step
    positions: int  # N summed over the steps (predictions compared)
    elements: int  # logit values kept alive until this window becomes a StepEvent
    lr: float
    tokens_per_s: float
    elapsed_s: float
    grad_norm: Optional[torch.Tensor]  # the clipping norm of the last step (a 0-d tensor), None without clipping
    gate_grad_norms: Optional[Mapping]
    tokens_seen: int  # real tokens trained on up to this step (for the metrics)


class StepWindow:
    """Sums over the steps since the previous StepEvent."""

    __slots__ = ("loss", "count", "tokens", "steps", "t_start", "outputs", "positions", "elements")

    def __init__(self, t_start: float):
        self.reset(t_start)

    def reset(self, t_start: float) -> None:
        self.loss = 0.0
        self.count = self.tokens = self.steps = self.positions = self.elements = 0
        self.outputs: list = []
        self.t_start = t_start

    def add(self, loss: float, logits: torch.Tensor, targets: torch.Tensor, count: int, tokens: int) -> None:
        """One step: its mean loss, its detached logits [N, C] with targets [N] (IGNORE_INDEX at padding
        never matches a prediction), how many targets count and how many real tokens it trained on."""
        self.loss += loss
        self.outputs.append((logits, targets))
        self.positions += targets.shape[0]
        self.elements += logits.numel()
        self.count += count
        self.tokens += tokens
        self.steps += 1

    def close(self, step: int, epoch: int, lr: float, t0: float, grad_norm: Optional[torch.Tensor],
              gate_grad_norms: Optional[Mapping], tokens_seen: int) -> LoggedWindow:
        """These steps as a LoggedWindow (t0: when training started); the window starts afresh."""
        now = time.perf_counter()
        logged = LoggedWindow(step, epoch, self.loss, self.steps, self.count, tuple(self.outputs), self.positions,
                              self.elements, lr,
                              self.tokens / max(now - self.t_start, 1e-9), now - t0, grad_norm, gate_grad_norms,
                              tokens_seen)
        self.reset(now)
        return logged


def _correct_counts(windows: Sequence[LoggedWindow]) -> list[int]:
    """Correct predictions per window, for all windows with one argmax, comparison and cumulative sum."""
    pairs = [pair for w in windows for pair in w.outputs]
    logits = torch.cat([lg for lg, _ in pairs])  # [N, C]
    targets = torch.cat([t for _, t in pairs])  # [N]
    hits = (logits.argmax(-1) == targets).cumsum(0)  # correct predictions up to each position
    ends = list(itertools.accumulate(w.positions for w in windows))
    totals = hits[torch.tensor(ends, device=hits.device) - 1].tolist()
    return [b - a for a, b in zip([0] + totals, totals)]


def events_of(windows: Sequence[LoggedWindow]) -> list[StepEvent]:
    """The StepEvents of logged windows, in order."""
    if not windows:
        return []
    correct = _correct_counts(windows)
    clipped = [w.grad_norm for w in windows if w.grad_norm is not None]
    norms = iter(torch.stack(clipped).tolist() if clipped else ())
    return [StepEvent(step=w.step, epoch=w.epoch, loss=w.loss_sum / w.steps, accuracy=c / max(w.count, 1), lr=w.lr,
                      tokens_per_s=w.tokens_per_s, elapsed_s=w.elapsed_s,
                      grad_norm=None if w.grad_norm is None else next(norms), gate_grad_norms=w.gate_grad_norms)
            for w, c in zip(windows, correct)]

"""Weight averaging: an exponential moving average of a model's trained weights (Polyak averaging), updated after
each optimizer step, which dev evaluation, `restore_best` and the final model use instead of the last step's weights.

The average after t steps is the bias-corrected EMA of the weights w_1..w_t that the steps produced,
    m_t = decay * m_(t-1) + (1 - decay) * w_t  (m_0 = 0),   average_t = m_t / (1 - decay^t),
kept directly as average_t = lerp(average_(t-1), w_t, (1 - decay) / (1 - decay^t)): the first step's weights
exactly, then a mean over roughly the last 1 / (1 - decay) steps. Training itself is unchanged: the optimizer
always steps the trained weights, and the average only enters the model while an evaluation runs (`applied`)
and at the end of a run (`copy_to_model`).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch


class WeightAverage:
    """The bias-corrected exponential moving average of `params` (the tensors the optimizer steps)."""

    def __init__(self, params: Sequence[torch.nn.Parameter], decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the averaging decay must be in (0, 1), got {decay!r}")
        self.params, self.decay = list(params), decay
        self.updates = 0  # optimizer steps averaged so far
        self.average = [p.detach().clone() for p in self.params]  # the average (the initial weights before any step)
        self.in_model = False  # the model holds the average for good (copy_to_model at the end of a run)

    def update(self) -> None:
        """Fold the weights of the optimizer step just taken into the average."""
        self.updates += 1
        weight = (1.0 - self.decay) / (1.0 - self.decay ** self.updates)  # 1 at the first step: its weights exactly
        with torch.no_grad():
            torch._foreach_lerp_(self.average, [p.detach() for p in self.params], weight)

    def copy_to_model(self) -> None:
        """Put the average into the model for good (the end of a run: what is evaluated, kept and saved)."""
        with torch.no_grad():
            torch._foreach_copy_([p.detach() for p in self.params], self.average)
        self.in_model = True

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The average in the model for the duration of the block (a dev evaluation), the trained weights back
        afterwards, bit for bit; a no-op once the average is in the model for good."""
        if self.in_model:
            yield
            return
        trained = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            torch._foreach_copy_([p.detach() for p in self.params], self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self.params], trained)

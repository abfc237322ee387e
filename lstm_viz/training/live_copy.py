"""A CPU copy of a training model's weights for readers in other threads (the app's analysis pages).

The model belongs to the training thread, and its weights are whole only between two optimizer steps. A
reader that wants a copy raises a flag and waits on a Condition; the training thread, at its next step end,
copies the weights, hands them over and wakes the reader. The training thread never waits for a reader, and
it pays for a copy only when one was asked for.
"""
from __future__ import annotations

import copy
import threading
from typing import Optional

from .models import Model
from .trainer import Trainer


def cpu_copy(model: Model) -> Model:
    """An independent CPU copy of `model` in eval mode (analysis never trains it)."""
    return copy.deepcopy(model).cpu().eval()


class LiveCopy:
    """Hands `(step, cpu copy)` of `trainer.model` to readers, taken between optimizer steps."""

    def __init__(self, trainer: Trainer):
        self._trainer = trainer
        self._changed = threading.Condition()
        self._wanted = False  # a reader waits for a copy (set by readers, cleared by the training thread)
        self._copy: Optional[tuple[int, Model]] = None  # the newest copy handed over
        trainer.add_callback("on_step_end", self._serve)
        trainer.add_callback("on_finish", self._wake_readers)

    def get(self, wait_s: float = 2.0) -> Optional[tuple[int, Model]]:
        """A copy of the weights at the current step. While training, waits at most `wait_s` for the next
        step end and then returns the newest copy there is (None if there is none yet)."""
        trainer = self._trainer
        with self._changed:
            step = trainer.state.step
            if self._copy is not None and self._copy[0] == step:
                return self._copy
            if trainer.is_running:
                self._wanted = True
                self._changed.wait_for(lambda: not self._wanted or not trainer.is_running, timeout=wait_s)
                if trainer.is_running or not self._wanted:
                    return self._copy
            # not training (any more): the weights are final and nobody else touches them
            self._wanted = False
            self._copy = (trainer.state.step, cpu_copy(trainer.model))
            return self._copy

    def _serve(self, trainer: Trainer) -> None:
        # the training thread, between optimizer steps: the weights are whole here
        if not self._wanted:  # a plain read: the common case costs no lock
            return
        made = (trainer.step, cpu_copy(trainer.model))
        with self._changed:
            self._copy, self._wanted = made, False
            self._changed.notify_all()

    def _wake_readers(self, trainer: Trainer) -> None:
        with self._changed:
            self._changed.notify_all()  # they take the final weights themselves

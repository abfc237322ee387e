"""A job that runs once, in the caller's thread or a daemon thread, and publishes its state: the control
side of a Trainer (start, run, stop, join, callbacks, snapshot), apart from what a training step is."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any, Callable, Optional

from .config import CALLBACK_EVENTS
from .events import TrainerSnapshot
from .run_state import RunState
from .threads import ThreadChooser


class BackgroundRun:
    """Subclasses implement `_train()` (check `self._stop` between steps, run each step inside
    `with self.threads.step(work):`) and may override `_recover()`."""

    def __init__(self, state: RunState, threads: Optional[int]):
        self.state = state
        self.threads = ThreadChooser.for_config(threads)  # torch's intra-op threads: fixed, or timed per step
        self._callbacks: dict[str, list[Callable[[Any], Any]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.error: Optional[BaseException] = None  # an unexpected exception that ended the run

    def add_callback(self, event: str, fn: Callable[[Any], Any]) -> None:
        """`fn(self)` runs in the training thread at `event` (one of CALLBACK_EVENTS)."""
        if event not in CALLBACK_EVENTS:
            raise ValueError(f"unknown callback event {event!r}; use one of {CALLBACK_EVENTS}")
        self._callbacks[event].append(fn)

    def run(self) -> TrainerSnapshot:
        """Train in this thread until done, stopped or failed; returns the final snapshot. Unexpected
        exceptions (not NaN, which ends with status 'failed') are re-raised after the status is set."""
        self.state.claim()
        self._run()
        if self.error is not None:
            raise self.error
        return self.snapshot()

    def start(self) -> threading.Thread:
        """Train in a new daemon thread; poll `snapshot()`, call `stop()` / `join()`."""
        self.state.claim()
        self._thread = threading.Thread(target=self._run, name="lstm-viz-trainer", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the run to stop after the current step (or evaluation batch); the weights stay whole."""
        if not self._stop.is_set() and self.state.stop_step is None:
            self.state.stop_step = self.state.step  # the step count when Stop was pressed (for the message)
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for a started run; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return not self.is_running

    @property
    def is_running(self) -> bool:
        return self.state.status == "running"

    def snapshot(self) -> TrainerSnapshot:
        return self.state.snapshot()

    def _train(self) -> None:
        raise NotImplementedError

    def _recover(self) -> str:
        """After an unexpected exception: repair what can be repaired; a note for the message ("" if none)."""
        return ""

    def _run(self) -> None:
        try:
            with self.threads:
                self._train()
        except BaseException as err:  # noqa: BLE001 - any failure must end as a visible status
            self.error = err
            self.state.set(status="failed", message=f"training failed: {type(err).__name__}: {err}" + self._recover())
        finally:
            self.state.set(t_end=time.perf_counter())
            try:
                self._trigger("on_finish")
            except Exception as err:  # noqa: BLE001
                if self.error is None:
                    self.error = err

    def _trigger(self, event: str) -> None:
        for fn in self._callbacks.get(event, ()):
            fn(self)

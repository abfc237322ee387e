"""torch's intra-op CPU thread count for the length of a run (TrainConfig.threads): fixed, or chosen by
timing the run's own steps (ThreadChooser)."""
from __future__ import annotations

import statistics
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Sequence

import torch


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


@contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    """Run the body with `threads` intra-op threads (None: leave torch's setting alone)."""
    if not threads:
        yield
        return
    _ThreadSetting.enter(threads)
    try:
        yield
    finally:
        _ThreadSetting.leave()


class ThreadChooser:
    """Chooses torch's intra-op thread count by timing the training steps themselves.

    On a machine whose cores are busy with other work (a browser drawing the live page, other processes),
    OpenMP threads that wait for a core make a step many times slower: a 2-layer BiLSTM step took 12 s with
    2 threads and 1.3 s with 1 thread on a loaded 2-core machine, while on an idle one 2 threads win. So the
    run alternates the candidates for a few steps, keeps the fastest (median seconds per padded token), and
    measures again after `recheck_s` seconds (doubling while the choice holds, up to `max_recheck_s`).

        with chooser:                        # sets the first candidate; restores torch's setting after
            for batch in batches:
                if chooser.timing():         # a round of trials (or time to start one): time this step
                    with chooser.step(batch.tokens.numel()):
                        train_step(batch)
                else:                        # between rounds a step costs nothing extra
                    train_step(batch)
    """

    def __init__(self, candidates: Sequence[int], *, trials: int = 2, recheck_s: float = 60.0,
                 max_recheck_s: float = 600.0, clock: Callable[[], float] = time.perf_counter):
        if not candidates or any(c < 1 for c in candidates):
            raise ValueError(f"candidates must be thread counts >= 1, got {list(candidates)}")
        self.candidates = tuple(dict.fromkeys(candidates))  # unique, in order
        self.trials = trials  # timed steps per candidate in each round (after one untimed warm-up step each)
        self.recheck_s, self.max_recheck_s, self._period = recheck_s, max_recheck_s, recheck_s
        self._clock = clock
        self.chosen: Optional[int] = self.candidates[0] if len(self.candidates) == 1 else None
        self.history: list[tuple[int, float]] = []  # (threads, seconds per unit of work) of timed steps
        self._queue: list[tuple[int, bool]] = []  # (threads, timed) still to try in this round
        self._round: dict[int, list[float]] = {}
        self._next_check = 0.0
        self._entered = False
        if self.chosen is None:
            self._start_round()

    @classmethod
    def for_config(cls, threads: Optional[int]) -> "ThreadChooser":
        """Fixed `threads`, or (None) a choice between 1 thread and all of torch's default threads."""
        if threads:
            return cls([threads])
        default = torch.get_num_threads()
        return cls([default, 1] if default > 1 else [1])

    @property
    def current(self) -> int:
        return self._queue[0][0] if self._queue else (self.chosen or self.candidates[0])

    def __enter__(self) -> "ThreadChooser":
        _ThreadSetting.enter(self.current)
        self._entered = True
        return self

    def __exit__(self, *exc) -> None:
        if self._entered:
            self._entered = False
            _ThreadSetting.leave()

    def timing(self) -> bool:
        """Whether the next step should run inside `step()`: during a round of trials, or when the time to
        measure again has come (which starts a round). False between rounds and with a single candidate."""
        if self._queue:
            return True
        if len(self.candidates) > 1 and self._clock() >= self._next_check:
            self._start_round()
            return True
        return False

    @contextmanager
    def step(self, work: int) -> Iterator[None]:
        """Time one step of `work` units (e.g. padded tokens) with the thread count due now."""
        threads, timed = self._queue[0] if self._queue else (self.current, False)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        start = self._clock()
        yield
        seconds = self._clock() - start
        if self._queue:
            self._queue.pop(0)
            if timed:
                per_unit = seconds / max(work, 1)
                self._round.setdefault(threads, []).append(per_unit)
                self.history.append((threads, per_unit))
            if not self._queue:
                self._decide()
        elif self._clock() >= self._next_check and len(self.candidates) > 1:
            self._start_round()

    def _start_round(self) -> None:
        self._round = {}
        warm = [(c, False) for c in self.candidates]
        timed = [(c, True) for _ in range(self.trials) for c in self.candidates]  # alternate: fair under drift
        self._queue = warm + timed

    def _decide(self) -> None:
        best = min(self._round, key=lambda c: statistics.median(self._round[c]))
        self._period = min(self._period * 2, self.max_recheck_s) if best == self.chosen else self.recheck_s
        self.chosen = best
        torch.set_num_threads(best)
        self._next_check = self._clock() + self._period

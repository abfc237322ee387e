"""ThreadChooser: picks the thread count whose steps are fastest, re-measures later, restores torch's setting."""
from __future__ import annotations

import pytest
import torch

from lstm_viz.training.threads import ThreadChooser

pytestmark = pytest.mark.timeout(60)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run_steps(chooser, clock, seconds_per_token, steps, work=100):
    used = []
    for _ in range(steps):
        with chooser.step(work):
            threads = torch.get_num_threads()
            used.append(threads)
            clock.now += seconds_per_token[threads] * work
    return used


def test_chooses_the_faster_count_and_restores_torchs_setting():
    before = torch.get_num_threads()
    clock = FakeClock()
    chooser = ThreadChooser([2, 1], trials=2, recheck_s=1e9, clock=clock)
    with chooser:
        used = _run_steps(chooser, clock, {1: 0.001, 2: 0.008}, steps=20)
    assert used[:6] == [2, 1, 2, 1, 2, 1]  # one warm-up step each, then alternating timed steps
    assert chooser.chosen == 1 and set(used[6:]) == {1}
    assert [t for t, _ in chooser.history] == [2, 1, 2, 1]  # warm-up steps are not timed
    assert torch.get_num_threads() == before


def test_chooses_more_threads_when_they_are_faster_and_rechecks_when_load_changes():
    clock = FakeClock()
    chooser = ThreadChooser([2, 1], trials=1, recheck_s=10.0, clock=clock)
    with chooser:
        _run_steps(chooser, clock, {1: 0.01, 2: 0.004}, steps=6)
        assert chooser.chosen == 2
        # the machine gets busy: two threads now wait for cores; after the re-check period the choice moves
        _run_steps(chooser, clock, {1: 0.01, 2: 0.05}, steps=30)
        assert chooser.chosen == 1


def test_fixed_threads_never_explore():
    clock = FakeClock()
    chooser = ThreadChooser.for_config(1)
    chooser._clock = clock
    with chooser:
        used = _run_steps(chooser, clock, {1: 0.01}, steps=5)
    assert used == [1] * 5 and chooser.chosen == 1 and chooser.history == []
    with pytest.raises(ValueError, match="thread counts"):
        ThreadChooser([0])


def test_steps_are_timed_only_during_rounds_as_the_trainer_runs_them():
    """The Trainer times a step only when `timing()` says so: during a round of trials, or when the re-check
    is due (which starts a round). Between rounds and with fixed threads a step costs no timing at all, and
    the choices are the same as when every step goes through `step()`."""
    clock = FakeClock()
    chooser = ThreadChooser([2, 1], trials=1, recheck_s=10.0, clock=clock)
    timed, used = [], []

    def run(seconds_per_token, steps, work=100):
        for _ in range(steps):
            gate = chooser.timing()
            timed.append(gate)
            if gate:
                with chooser.step(work):
                    used.append(torch.get_num_threads())
                    clock.now += seconds_per_token[torch.get_num_threads()] * work
            else:
                used.append(torch.get_num_threads())
                clock.now += seconds_per_token[torch.get_num_threads()] * work

    with chooser:
        run({1: 0.01, 2: 0.004}, steps=10)
        assert chooser.chosen == 2 and timed[:4] == [True] * 4 and timed[4:] == [False] * 6
        assert set(used[4:]) == {2}
        # busy machine: the re-check (10 s of steps later) starts a round, and the choice moves to 1 thread
        run({1: 0.01, 2: 0.05}, steps=30)
        assert chooser.chosen == 1 and any(timed[10:]) and not all(timed[10:])
    fixed = ThreadChooser.for_config(1)
    fixed._clock = clock
    with fixed:
        clock.now += 1e6
        assert not fixed.timing()

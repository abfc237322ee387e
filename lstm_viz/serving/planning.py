"""The queue's one dispatch rule and what it predicts: which waiting run starts next, and when each waiting
run should start if the estimates hold. Pure functions of numbers, so the rule the scheduler follows and the
wait it shows a student are the same rule."""
from __future__ import annotations

import heapq
from typing import Optional, Sequence


def pick_next(waiting_big: Sequence[bool], big_running: int, big_slots: int) -> Optional[int]:
    """Index of the waiting run that takes a free slot: the earliest one in line that may run now (a big run
    may not while `big_slots` big runs train, which keeps a slot for small runs). None when none may."""
    for k, big in enumerate(waiting_big):
        if not big or big_running < big_slots:
            return k
    return None


def plan_starts(running: Sequence[tuple[float, bool]], waiting: Sequence[tuple[float, bool]], slots: int,
                big_slots: int) -> list[float]:
    """Predicted start time (seconds from now) of each waiting run, in line order.

    running: (seconds left, big) of each training run; waiting: (estimated seconds, big) in line order.
    Simulates the dispatch rule of `pick_next` as slots free up.
    """
    ends = [(max(0.0, left), big) for left, big in running]  # heap of (end time, big)
    heapq.heapify(ends)
    line = list(range(len(waiting)))
    starts: list[float] = [0.0] * len(waiting)
    now = 0.0
    while line:
        while len(ends) < slots:
            big_running = sum(big for _, big in ends)
            k = pick_next([waiting[i][1] for i in line], big_running, big_slots)
            if k is None:
                break
            i = line.pop(k)
            starts[i] = now
            heapq.heappush(ends, (now + max(0.0, waiting[i][0]), waiting[i][1]))
            if not line:
                return starts
        now = max(now, heapq.heappop(ends)[0])  # the next run to end frees its slot
    return starts


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def about(seconds: float) -> str:
    """A wait as a person says it: 'a few seconds', 'about 40 s', 'about 3 min'."""
    if seconds < 5:
        return "a few seconds"
    if seconds < 90:
        return f"about {int(5 * round(seconds / 5))} s"
    return f"about {round(seconds / 60)} min"

"""TrainingScheduler: one per server process. At most `ServerLimits.training_slots` runs train at once; the
rest wait in line, first come first served, except that big runs may hold at most `big_slots` slots, so a small
teaching run never waits behind big ones when there are two or more slots. One queued or training run per
session. Each run can say where it stands ("3rd in line, about 40 s"), be cancelled from the line, and frees
its slot however it ends (finished, stopped, or its thread raised). The runs of sessions that closed are
stopped and forgotten after a grace period.

It drives the Trainer only through its public API (start, stop, join, snapshot) from one supervising thread
per training run; nothing here knows about Streamlit: pages pass their session id and a liveness check.
"""
from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from .cost import RunCost, trainer_cost
from .limits import LimitError, ServerLimits, refusal
from .planning import about, ordinal, pick_next, plan_starts

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class QueueStatus:
    run_id: str
    session_id: str
    label: str
    state: str  # "queued", "running", then "finished", "stopped" or "failed" (the trainer's), or "cancelled"
    position: Optional[int]  # 1-based place in line while queued (by predicted start), else None
    wait_s: Optional[float]  # predicted seconds until it starts, while queued
    estimate_s: float  # predicted training time
    big: bool  # in the big-run lane (estimated longer than ServerLimits.small_run_s)
    message: str  # why it ended, for a run that did not finish normally

    def describe(self) -> str:
        if self.state == "queued":
            return f"{ordinal(self.position or 1)} in line, {about(self.wait_s or 0.0)}"
        if self.state == "running":
            return "training"
        return self.message or self.state


@dataclass(eq=False)  # identity: entries are dict keys
class _Entry:
    run_id: str
    session_id: str
    trainer: object
    label: str
    cost: RunCost
    estimate_s: float
    big: bool
    state: str = "queued"
    message: str = ""
    orphaned: bool = False  # its session is gone: forget it as soon as it ends


class TrainingScheduler:
    """The server's training line (thread-safe). `session_alive(session_id)` says whether a session is still
    connected (None: sessions never expire); `clock` is injectable so tests can move time."""

    def __init__(self, limits: Optional[ServerLimits] = None, *,
                 session_alive: Optional[Callable[[str], bool]] = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or ServerLimits()
        self._alive = session_alive  # None: sessions never expire by themselves
        self._clock = clock
        self._cond = threading.Condition()
        self._runs: dict[str, _Entry] = {}  # every kept run, in submission order
        self._line: list[_Entry] = []  # waiting runs, in submission order
        self._gone_since: dict[str, float] = {}  # session -> when it was first seen closed
        self._ids = itertools.count(1)
        # observed / estimated training time of finished runs per lane (geometric running mean): the cost model's
        # error differs between tiny runs (Python overhead) and big ones (matrix work), so each lane learns its own
        self._speed = {False: 1.0, True: 1.0}
        self._janitor_stop = threading.Event()

    # -- admission ---------------------------------------------------------------------------------------------
    def check(self, session_id: str, cost: RunCost) -> None:
        """Raise LimitError, with what to do, when a run of this cost from this session would be refused."""
        with self._cond:
            mine = [e for e in self._runs.values() if e.session_id == session_id and not e.orphaned]
            busy = next(((e.label, e.state) for e in mine if e.state in ACTIVE), None)
            message = refusal(self.limits, cost, busy=busy, session_runs=len(mine), server_runs=len(self._runs),
                              queued=len(self._line), kept_mb=sum(e.cost.megabytes for e in self._runs.values()))
        if message:
            raise LimitError(message)

    def submit(self, session_id: str, trainer, label: str = "", cost: Optional[RunCost] = None) -> str:
        """Put a not yet started Trainer in line; returns its run id. Raises LimitError when refused."""
        cost = cost if cost is not None else trainer_cost(trainer)
        with self._cond:
            self.check(session_id, cost)  # the Condition's lock is re-entrant
            big = cost.seconds > self.limits.small_run_s  # by the plain estimate, so a lane never depends on load
            entry = _Entry(f"run-{next(self._ids)}", session_id, trainer, label or "run", cost,
                           cost.seconds * self._speed[big], big)
            self._runs[entry.run_id] = entry
            self._line.append(entry)
            self._dispatch()
            return entry.run_id

    # -- what a page reads -------------------------------------------------------------------------------------
    def status(self, run_id: str) -> QueueStatus:
        """Where the run stands; LimitError when this server does not know it (forgotten or never queued)."""
        with self._cond:
            entry = self._runs.get(run_id)
            if entry is None:
                raise LimitError(f"run {run_id!r} is not known here (it was removed, or the server restarted)")
            position = wait = None
            if entry.state == "queued":
                order = self._predicted_starts()
                ranked = sorted(order, key=lambda e: (order[e], self._line.index(e)))
                position, wait = ranked.index(entry) + 1, order[entry]
            return QueueStatus(entry.run_id, entry.session_id, entry.label, entry.state, position, wait,
                               entry.estimate_s, entry.big, entry.message)

    def session_runs(self, session_id: str) -> list[QueueStatus]:
        with self._cond:
            ids = [e.run_id for e in self._runs.values() if e.session_id == session_id]
            return [self.status(i) for i in ids]

    def counts(self) -> dict[str, float]:
        """Server-wide figures: runs training, waiting and kept, and the kept runs' estimated megabytes."""
        with self._cond:
            return {"running": sum(e.state == "running" for e in self._runs.values()), "queued": len(self._line),
                    "kept": len(self._runs), "kept_mb": sum(e.cost.megabytes for e in self._runs.values())}

    def wait(self, run_id: str, timeout: Optional[float] = None) -> QueueStatus:
        """Block until the run has ended (or the timeout passed); its status then."""
        with self._cond:
            self._cond.wait_for(lambda: run_id not in self._runs or self._runs[run_id].state not in ACTIVE,
                                timeout)
        return self.status(run_id)

    # -- control -----------------------------------------------------------------------------------------------
    def cancel(self, run_id: str) -> str:
        """Take a waiting run out of line ("cancelled"), or ask a training one to stop; returns the state."""
        with self._cond:
            entry = self._runs.get(run_id)
            if entry is None:
                return "unknown"
            if entry.state == "queued":
                self._line.remove(entry)
                entry.state, entry.message = "cancelled", "cancelled before it started"
                self._cond.notify_all()
            elif entry.state == "running":
                entry.trainer.stop()
            return entry.state

    def forget(self, run_id: str) -> None:
        """The session no longer keeps this run: cancel or stop it, and stop counting it against the limits."""
        with self._cond:
            entry = self._runs.get(run_id)
            if entry is None:
                return
            self.cancel(run_id)
            if entry.state == "running":
                entry.orphaned = True  # dropped when its supervisor sees it end
            else:
                del self._runs[run_id]

    def sweep(self) -> list[str]:
        """Forget the runs of sessions closed for longer than the grace period; returns their run ids."""
        if self._alive is None:
            return []
        now, forgotten = self._clock(), []
        with self._cond:
            for session in {e.session_id for e in self._runs.values()}:
                if self._alive(session):
                    self._gone_since.pop(session, None)
                    continue
                since = self._gone_since.setdefault(session, now)
                if now - since >= self.limits.session_grace_s:
                    for entry in [e for e in self._runs.values() if e.session_id == session]:
                        self.forget(entry.run_id)
                        forgotten.append(entry.run_id)
            for session in set(self._gone_since) - {e.session_id for e in self._runs.values()}:
                del self._gone_since[session]
        return forgotten

    def start_janitor(self, every_s: float = 10.0) -> "TrainingScheduler":
        """Sweep every `every_s` seconds in a daemon thread until shutdown()."""
        def loop():
            while not self._janitor_stop.wait(every_s):
                self.sweep()
        threading.Thread(target=loop, name="lstm-viz-janitor", daemon=True).start()
        return self

    def shutdown(self, timeout: Optional[float] = None) -> None:
        """Cancel every waiting run, stop every training one and wait (up to timeout) for them to end."""
        self._janitor_stop.set()
        with self._cond:
            for entry in list(self._runs.values()):
                self.cancel(entry.run_id)
            self._cond.wait_for(lambda: all(e.state not in ACTIVE for e in self._runs.values()), timeout)

    # -- internals (called with the lock held) -----------------------------------------------------------------
    def _dispatch(self) -> None:
        running = [e for e in self._runs.values() if e.state == "running"]
        while self._line and len(running) < self.limits.training_slots:
            k = pick_next([e.big for e in self._line], sum(e.big for e in running), self.limits.big_slots)
            if k is None:
                return
            entry = self._line.pop(k)
            entry.state = "running"
            running.append(entry)
            threading.Thread(target=self._supervise, args=(entry,), name=f"lstm-viz-{entry.run_id}",
                             daemon=True).start()

    def _supervise(self, entry: _Entry) -> None:
        failure = None
        try:
            entry.trainer.start()
            entry.trainer.join()
        except BaseException as err:  # noqa: BLE001 - a run that cannot start must still free its slot
            failure = f"training could not start: {type(err).__name__}: {err}"
        snap = entry.trainer.snapshot()
        with self._cond:
            entry.state = "failed" if failure or snap.status not in ("finished", "stopped") else snap.status
            entry.message = failure or snap.message
            if snap.status == "finished" and entry.cost.seconds > 0 and snap.elapsed_s > 0:
                ratio = min(20.0, max(0.05, snap.elapsed_s / entry.cost.seconds))
                old = self._speed[entry.big]
                self._speed[entry.big] = math.exp(0.7 * math.log(old) + 0.3 * math.log(ratio))
            if entry.orphaned:
                self._runs.pop(entry.run_id, None)
            self._dispatch()
            self._cond.notify_all()

    def _predicted_starts(self) -> dict[_Entry, float]:
        running = []
        for e in self._runs.values():
            if e.state == "running":
                snap = e.trainer.snapshot()
                left = snap.eta_s if snap.eta_s is not None else e.estimate_s - snap.elapsed_s
                running.append((left, e.big))
        waiting = [(e.cost.seconds * self._speed[e.big], e.big) for e in self._line]
        starts = plan_starts(running, waiting, self.limits.training_slots, self.limits.big_slots)
        return dict(zip(self._line, starts))

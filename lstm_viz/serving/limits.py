"""ServerLimits: every bound the server enforces on training, in one frozen dataclass read from the
environment (`LSTM_VIZ_*`), and LimitError, the clear refusal a page shows when a bound is hit."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Mapping, Optional

if TYPE_CHECKING:
    from .cost import RunCost

ENV_PREFIX = "LSTM_VIZ_"


class LimitError(ValueError):
    """A request the server refuses (queue full, too many runs kept, too much memory). The message says
    which bound was hit and what the user can do; a page shows it as is."""


def cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ServerLimits:
    # Runs that train at the same time. Pages train with one CPU thread per run, so one run per core keeps
    # every core busy without oversubscribing them (None: the number of cores; env LSTM_VIZ_MAX_TRAINING).
    max_training: Optional[int] = None
    # Of those, how many may be big runs at once (None: max_training - 1, at least 1), so that with two or
    # more slots one slot is always free for a small teaching run (env LSTM_VIZ_MAX_BIG_TRAINING).
    max_big_training: Optional[int] = None
    small_run_s: float = 15.0  # a run estimated to train for at most this many seconds counts as small
    max_queued: int = 100  # runs waiting server-wide; one more is refused with "the queue is full"
    max_runs_per_session: int = 8  # runs a session keeps (queued, training or finished); delete one to add
    max_runs_server: int = 240  # runs all sessions keep together (30 students x 8)
    max_run_mb: float = 2048.0  # estimated memory of one run (weights, gradients, optimizer, probes, data)
    max_kept_mb: float = 8192.0  # estimated memory of all runs kept server-wide
    session_grace_s: float = 120.0  # a closed session's runs are stopped and forgotten after this many seconds
    #                                 (a browser that reconnects within it finds its runs as they were)

    def __post_init__(self):
        for name in ("max_training", "max_big_training"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        for name in ("max_queued", "max_runs_per_session", "max_runs_server"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("small_run_s", "max_run_mb", "max_kept_mb", "session_grace_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    @property
    def training_slots(self) -> int:
        return self.max_training if self.max_training is not None else cores()

    @property
    def big_slots(self) -> int:
        if self.max_big_training is not None:
            return min(self.max_big_training, self.training_slots)
        return max(1, self.training_slots - 1)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ServerLimits":
        """Limits with any field overridden by `LSTM_VIZ_<FIELD NAME IN CAPITALS>` (e.g. LSTM_VIZ_MAX_TRAINING=4).
        A value that is not a number raises LimitError naming the variable."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            text = env.get(key, "").strip()
            if not text:
                continue
            number = int if f.name.startswith("max_") and not f.name.endswith("_mb") else float
            try:
                values[f.name] = number(text)
            except ValueError:
                raise LimitError(f"{key}={text!r} is not a{'n integer' if number is int else ' number'}; "
                                 f"unset it or give e.g. {key}={getattr(cls(), f.name) or 2}") from None
        try:
            return cls(**values)
        except ValueError as err:
            raise LimitError(f"bad {ENV_PREFIX}* setting: {err}") from None


def refusal(limits: ServerLimits, cost: "RunCost", *, busy: Optional[tuple[str, str]], session_runs: int,
            server_runs: int, queued: int, kept_mb: float) -> Optional[str]:
    """Why a new run of this cost is refused (None: admitted). busy: (label, "queued"/"running") of the
    session's active run, if any; the counts and megabytes are those kept now."""
    if busy is not None:
        return (f"'{busy[0]}' is still {'in line' if busy[1] == 'queued' else 'training'}: wait for it, or stop "
                "it, before starting another (one run per session at a time keeps the line fair)")
    if session_runs >= limits.max_runs_per_session:
        return f"this session keeps {session_runs} runs, the most it may keep here; delete one of them first"
    if server_runs >= limits.max_runs_server:
        return (f"the server keeps {server_runs} runs, the most it may keep; try again when other sessions "
                "have closed")
    if queued >= limits.max_queued:
        return f"the training queue is full ({queued} waiting, the most this server holds); try again in a minute"
    if cost.megabytes > limits.max_run_mb:
        return (f"this run would need about {cost.megabytes:,.0f} MB ({cost.params:,} parameters), more than "
                f"the {limits.max_run_mb:,.0f} MB one run may use here; use fewer hidden units, layers or words "
                "in the vocabulary")
    if kept_mb + cost.megabytes > limits.max_kept_mb:
        return (f"the server holds {kept_mb:,.0f} MB of runs and this one needs about {cost.megabytes:,.0f} MB "
                f"more (at most {limits.max_kept_mb:,.0f} MB); delete a run you no longer need or try again later")
    return None

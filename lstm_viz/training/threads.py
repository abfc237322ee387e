"""torch's intra-op CPU thread count for the length of a run (TrainConfig.threads)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, Optional

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

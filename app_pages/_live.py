"""Pacing of live views: a view that redraws while a run trains measures what a redraw costs, and redraws
only as often as keeps that cost under a small share of the server's time (the redraw competes with the
training thread for the CPU and for Python's GIL)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

LIVE_SHARE = 0.02  # a live view may use at most this share of the server's time


def redraw_every(view: str, fastest_s: float = 2.0, slowest_s: float = 30.0) -> float:
    """Seconds between redraws of `view`: its last measured cost / LIVE_SHARE, within [fastest_s, slowest_s]."""
    cost = st.session_state.get(f"_lv_cost_{view}", 0.0)
    return min(max(cost / LIVE_SHARE, fastest_s), slowest_s)


@contextmanager
def measured(view: str) -> Iterator[None]:
    """Time one redraw of `view` for `redraw_every`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        st.session_state[f"_lv_cost_{view}"] = time.perf_counter() - start

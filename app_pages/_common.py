"""What every page shares. The session's models live in `_session.py`, the shared widgets in `_widgets.py`;
this module keeps the font size, the per-session and server-wide caches and the torch warm-up, and re-exports
the rest so that pages import everything shared from one place: `from app_pages._common import ...`.
Streamlit code lives here and in the pages, never in lstm_viz."""
from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from lstm_viz.figures.frozen import freeze
from lstm_viz.serving.view_cache import ViewCache
from lstm_viz.training import warm_up
from lstm_viz.training.run import TrainingRun as Run  # noqa: F401 - pages make training runs as Run(name, trainer, dataset)
from app_pages._session import (  # noqa: F401 - re-exported for the pages
    STATE_KEY, SessionState, activate_from_callback, active_run, active_subject, add_inspected, add_loaded_run,
    add_run, model_choices, shared_identity, state, subject_of, train_tutorial_tagger,
)
from app_pages._widgets import (  # noqa: F401 - re-exported for the pages
    choose_input, guarded, layer_direction, model_picker, require_subject, show_error, sidebar,
    subject_and_input, threshold_slider,
)

FONT_SIZE = 16  # readable from the back of a lecture hall


class ScriptActivity:
    """When the server last ran a page script, and how many run now (router.py wraps every page in `running`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running, self._last = 0, time.monotonic()

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last page script ended (0 while one runs)."""
        with self._lock:
            return 0.0 if self._running else time.monotonic() - self._last


SCRIPTS = ScriptActivity()
WARM_UP_IDLE_S, WARM_UP_LATEST_S = 2.0, 60.0


def _warm_up_when_idle() -> None:
    # the warm-up's imports hold the GIL for seconds: started right after the first page, they slowed the next
    # page (the fresh browser's click on Gates) by as much; so wait until no page has run for a moment
    deadline = time.monotonic() + WARM_UP_LATEST_S
    while SCRIPTS.idle_for() < WARM_UP_IDLE_S and time.monotonic() < deadline:
        time.sleep(0.25)
    warm_up()
    gc.freeze()  # and what it imported


@st.cache_resource(show_spinner=False)
def warm_up_torch() -> threading.Thread:
    """Once per server process: load what torch imports on the first optimizer (1-4 s) in the background once
    the server is idle, so the first click on a training button starts at once."""
    thread = threading.Thread(target=_warm_up_when_idle, name="lstm-viz-warm-up", daemon=True)
    thread.start()
    gc.freeze()  # the imported libraries stay for good: later collections need not scan their ~250k objects
    return thread


def session_cached(name: str, owner: object, key: object, compute: Callable, max_items: int = 4):
    """compute() once per (owner, key) in this browser session: a small most-recent-first cache in
    st.session_state (never shared with other sessions, unlike st.cache_resource). `owner` is usually the
    subject; entries of another owner object (a new model, a newer training step) never match, and the
    entry keeps its owner alive so that its id cannot be reused meanwhile."""
    slot = f"_lvcache_{name}"
    entries = st.session_state.get(slot)
    if entries is None:
        entries = st.session_state[slot] = []
    for k, (o, kk, value) in enumerate(entries):
        if o is owner and kk == key:
            entries.insert(0, entries.pop(k))
            return value
    value = compute()
    entries.insert(0, (owner, key, value))
    del entries[max_items:]
    return value


@st.cache_resource(show_spinner=False)
def view_cache() -> ViewCache:
    """The server's one cache of analysis results of shared models (bounds: LSTM_VIZ_VIEW_CACHE_ITEMS/_MB)."""
    return ViewCache.from_env()


def view_cached(name: str, subject: object, key: object, compute: Callable, max_items: int = 4):
    """compute() once per server when `subject` is a model every session shares read-only (a built-in model,
    the tutorial trained once per server), with its figures frozen (their data made once for every session);
    else once per browser session (`session_cached`). `key` must say everything the result depends on
    besides the model (input, layer, options, style) and be hashable."""
    identity = shared_identity(subject)
    if identity is None:
        return session_cached(name, subject, key, compute, max_items)
    return view_cache().get((identity, name, key), lambda: freeze(compute()))

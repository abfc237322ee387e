"""The server's one training queue, as pages use it: `training_scheduler()` (one TrainingScheduler per server
process, shared by every session, its limits read from LSTM_VIZ_* environment variables), `session_id()`
(this browser session's key in it), `queue_note(run_id)` (where a run stands, with a Cancel button while it
waits), `train_and_wait(trainer, label)` (a page trains a small model within one script run),
`shared_training(...)` (a deterministic run trained once per server, every session waiting for that one run)
and `tutorial_run(fresh)` (the tutorial tagger as a run of this session, shared or trained anew). A session
that closed keeps its runs for ServerLimits.session_grace_s, then they are stopped and forgotten (Streamlit's
runtime says which sessions are still connected)."""
from __future__ import annotations

import time
import uuid
from typing import Optional

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_viz.data import tutorial_corpus
from lstm_viz.serving.limits import LimitError, ServerLimits
from lstm_viz.serving.scheduler import ACTIVE, QueueStatus, TrainingScheduler
from lstm_viz.serving.shared_run import SHARED_SESSION, SharedRun, TrainOnce, run_key
from lstm_viz.training import TRAIN_PRESETS, Trainer
from lstm_viz.training.models import preset
from lstm_viz.training.run import TrainingRun

LOCAL_SESSION = "local"  # outside a server (AppTest, bare mode) every script shares this key


def _session_connected(session_id: str) -> bool:
    if session_id == LOCAL_SESSION or session_id.startswith(SHARED_SESSION) or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(session_id)


@st.cache_resource(show_spinner=False)
def training_scheduler() -> TrainingScheduler:
    """The one scheduler of this server process (thread-safe; created on first use)."""
    return TrainingScheduler(ServerLimits.from_env(), session_alive=_session_connected).start_janitor()


def session_id() -> str:
    """This browser session's key in the queue: the server's session id (so the janitor can see when it
    closed); in a session the server does not know (AppTest, where every session has the same id) a key of its
    own."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return LOCAL_SESSION
    if Runtime.exists() and Runtime.instance().is_active_session(ctx.session_id) is True:  # AppTest: a mock
        return ctx.session_id
    return st.session_state.setdefault("_tq_session", f"{LOCAL_SESSION}-{uuid.uuid4().hex[:12]}")


def queue_state(run_id: Optional[str]) -> Optional[str]:
    """The queue's state of a run ("queued", "running", "finished", "cancelled", ...); None when unknown."""
    if run_id is None:
        return None
    try:
        return training_scheduler().status(run_id).state
    except LimitError:
        return None


def submit(trainer, label: str, wait_start_s: float = 2.0) -> str:
    """Put a not yet started Trainer in the server's line for this session (raises LimitError when refused);
    its run id. When a slot is free it starts at once: wait (at most wait_start_s) until it is training, so the
    page drawn next already shows it running."""
    scheduler = training_scheduler()
    run_id = scheduler.submit(session_id(), trainer, label)
    deadline = time.monotonic() + wait_start_s
    while (trainer.snapshot().status == "idle" and queue_state(run_id) == "running"
           and time.monotonic() < deadline):
        time.sleep(0.005)
    return run_id


def queue_note(run_id: str, key: str = "queue", on_cancel=None) -> str:
    """Show where the run stands while it waits ("3rd in line, about 40 s", with Cancel); returns its state.
    Call it from a fragment that reruns every second or so while the state is "queued". `on_cancel(run_id)`
    runs in Cancel's callback after the run left the line."""
    scheduler = training_scheduler()
    try:
        status = scheduler.status(run_id)
    except LimitError as err:
        st.warning(str(err))
        return "unknown"
    if status.state == "queued":
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        running = int(scheduler.counts()["running"])
        c1.info(f"Waiting to train: **{status.describe()}**. "
                f"{running} {'run is' if running == 1 else 'runs are'} training on this server now.")
        c2.button("Cancel", key=f"{key}_cancel_{run_id}", on_click=_cancel, args=(run_id, on_cancel),
                  icon=":material/close:")
    elif status.state in ("failed", "cancelled"):
        st.error(status.describe())
    return status.state


def _cancel(run_id: str, then=None) -> None:
    training_scheduler().cancel(run_id)
    if then is not None:
        then(run_id)


def train_and_wait(trainer, label: str, keep: bool = False, poll_s: float = 0.25) -> QueueStatus:
    """Train a not yet started Trainer through the server's queue and wait for it in this script run, showing
    the place in line meanwhile; its final status ("finished", "stopped" or "failed"). Raises LimitError when
    the queue refuses it. keep=False: the queue forgets it once it ended (the session holds it from then on).
    If the script run is interrupted (the user went elsewhere), a waiting run leaves the line."""
    scheduler = training_scheduler()
    run_id = scheduler.submit(session_id(), trainer, label)
    holder = st.empty()
    ended = False
    try:
        with holder.container():
            note = st.empty()
            # any click (this one too) interrupts this script run, and the finally below takes the run out of line
            st.button("Cancel", key=f"cancel_{run_id}", icon=":material/close:")
        while True:
            status = scheduler.wait(run_id, poll_s)
            if status.state not in ACTIVE:
                ended = True
                return status
            note.info(f"**{label}**: {status.describe()}")
    finally:
        holder.empty()
        if not ended:
            scheduler.cancel(run_id)  # interrupted: a waiting run leaves the line, a training one stops
        if not keep or not ended:
            scheduler.forget(run_id)


@st.cache_resource(show_spinner=False, max_entries=16)
def _train_once(key: str, _make_trainer, label: str) -> TrainOnce:
    return TrainOnce(key, _make_trainer, training_scheduler(), label)


def shared_training(model_config, train_config, corpus, label: str, poll_s: float = 0.25) -> tuple[Trainer, bool]:
    """The finished Trainer of this exact configuration (both configs, seed and data), trained once per server
    through the queue; every session that asks waits for that one run, seeing its place in line. Returns
    (trainer, waited): waited is False when the result was already there. The trainer is shared: read only.
    Raises LimitError when the queue refuses the run or it did not finish."""
    key = run_key(model_config, train_config, corpus)
    once = _train_once(key, lambda: Trainer(model_config, train_config, corpus), label)
    note, waited = st.empty(), False
    try:
        while (status := once.wait(poll_s)) is not None:
            waited = True
            if status.state == "finished":
                continue  # the next wait() hands over the result
            if status.state not in ACTIVE:
                raise LimitError(f"{label}: {status.describe()}")
            note.info(f"**{label}** (trained once for everyone on this server): {status.describe()}")
    finally:
        note.empty()
    return once.result(), waited


def tutorial_run(fresh: bool = False):
    """The tutorial tagger (preset settings and seed) as a new run of this session, made the shown model.
    fresh=False: a copy of the one training this server does of it (identical weights: one thread, fixed
    order, fixed seed); fresh=True: trained anew for this session through the queue. Raises LimitError."""
    from app_pages._session import add_run, state

    model_config, train_config, corpus = preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus()
    name = state().unique_name("Tutorial tagger")
    if fresh:
        trainer = Trainer(model_config, train_config, corpus)
        status = train_and_wait(trainer, "Tutorial tagger")
        if status.state != "finished":
            raise LimitError(f"Tutorial tagger: {status.describe()}")
        run = TrainingRun(name, trainer, "tutorial")
    else:
        trainer, waited = shared_training(model_config, train_config, corpus, "Tutorial tagger")
        run = SharedRun(name, trainer, "tutorial")
        st.session_state.setdefault("_tq_waited", {})[name] = waited
    add_run(run)
    return run


def trained_for_this_session(run) -> bool:
    """True when this session waited for the shared training of `run` (it was trained just then)."""
    return bool(st.session_state.get("_tq_waited", {}).get(run.name))

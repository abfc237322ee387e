"""The server's one training queue, as pages use it: `training_scheduler()` (one TrainingScheduler per server
process, shared by every session, its limits read from LSTM_VIZ_* environment variables), `session_id()`
(this browser session's key in it), `queue_note(run_id)` (where a run stands, with a Cancel button while it
waits) and `train_and_wait(trainer, label)` (a page trains a small model within one script run). A session
that closed keeps its runs for ServerLimits.session_grace_s, then they are stopped and forgotten (Streamlit's
runtime says which sessions are still connected)."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_viz.serving.limits import LimitError, ServerLimits
from lstm_viz.serving.scheduler import QueueStatus, TrainingScheduler

LOCAL_SESSION = "local"  # outside a server (AppTest, bare mode) every script shares this key


def _session_connected(session_id: str) -> bool:
    if session_id == LOCAL_SESSION or not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(session_id)


@st.cache_resource(show_spinner=False)
def training_scheduler() -> TrainingScheduler:
    """The one scheduler of this server process (thread-safe; created on first use)."""
    return TrainingScheduler(ServerLimits.from_env(), session_alive=_session_connected).start_janitor()


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else LOCAL_SESSION


def queue_note(run_id: str, key: str = "queue") -> str:
    """Show where the run stands while it waits ("3rd in line, about 40 s", with Cancel); returns its state.
    Call it from a fragment that reruns every second or so while the state is "queued"."""
    scheduler = training_scheduler()
    try:
        status = scheduler.status(run_id)
    except LimitError as err:
        st.warning(str(err))
        return "unknown"
    if status.state == "queued":
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(f"Waiting to train: **{status.describe()}**. "
                f"{scheduler.counts()['running']:.0f} runs are training on this server now.")
        c2.button("Cancel", key=f"{key}_cancel_{run_id}", on_click=scheduler.cancel, args=(run_id,),
                  icon=":material/close:")
    elif status.state in ("failed", "cancelled"):
        st.error(status.describe())
    return status.state


def train_and_wait(trainer, label: str, keep: bool = False, poll_s: float = 0.25) -> QueueStatus:
    """Train a not yet started Trainer through the server's queue and wait for it in this script run, showing
    the place in line meanwhile; its final status ("finished", "stopped" or "failed"). Raises LimitError when
    the queue refuses it. keep=False: the queue forgets it once it ended (the session holds it from then on).
    If the script run is interrupted (the user went elsewhere), a waiting run leaves the line."""
    scheduler = training_scheduler()
    run_id = scheduler.submit(session_id(), trainer, label)
    note = st.empty()
    ended = False
    try:
        while True:
            status = scheduler.wait(run_id, poll_s)
            if status.state not in ("queued", "running"):
                ended = True
                return status
            note.caption(f"**{label}**: {status.describe()}")
    finally:
        note.empty()
        if not ended:
            scheduler.cancel(run_id)  # interrupted: a waiting run leaves the line, a training one stops
        if not keep or not ended:
            scheduler.forget(run_id)

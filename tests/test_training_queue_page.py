"""The pages' side of the training queue (app_pages/_training_queue.py) in a real Streamlit script run: one
scheduler per server process, the waiting student's line ("1st in line, ...") with a Cancel button that takes
the run out of line, and a clear message for a run the server no longer knows."""
from __future__ import annotations

import threading

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lstm_viz.data import tutorial_corpus
from lstm_viz.training import TrainConfig, Trainer
from lstm_viz.training.models import preset

pytestmark = pytest.mark.timeout(120)


def _page(run_id: str) -> None:
    import streamlit as st

    from app_pages._training_queue import queue_note

    st.session_state["state"] = queue_note(run_id)


def _tutorial(steps: int = 3) -> Trainer:
    cfg = TrainConfig(device="cpu", optimizer="sgd", lr=0.1, epochs=100, batch_size=1, shuffle=False,
                      probe_every=0, grad_norm_every=0, eval_every=0, threads=1, max_steps=steps)
    return Trainer(preset("tutorial"), cfg, tutorial_corpus())


def test_queue_note_shows_the_line_and_cancel_takes_the_run_out(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAINING", "1")
    st.cache_resource.clear()
    from app_pages._training_queue import session_id, training_scheduler

    scheduler = training_scheduler()
    assert scheduler is training_scheduler() and scheduler.limits.training_slots == 1
    assert session_id() == "local"  # outside a server script run
    started, release = threading.Event(), threading.Event()
    holder = _tutorial()
    holder.add_callback("on_step_end", lambda t: (started.set(), release.wait(60)))
    first = scheduler.submit("student-1", holder, "holder")
    waiting = scheduler.submit("student-2", _tutorial(), "waiting")
    try:
        assert started.wait(60)
        at = AppTest.from_function(_page, args=(waiting,), default_timeout=30).run()
        assert not at.exception
        assert at.info and at.info[0].value.startswith("Waiting to train: **1st in line, ")
        assert at.session_state["state"] == "queued"
        at.button[0].click().run()  # Cancel
        assert scheduler.status(waiting).state == "cancelled"
        assert at.error and at.error[0].value == "cancelled before it started"
        scheduler.forget(waiting)
        at = AppTest.from_function(_page, args=(waiting,), default_timeout=30).run()
        assert at.warning and "not known here" in at.warning[0].value and not at.exception
        release.set()
        assert scheduler.wait(first, 60).state == "finished"
    finally:
        release.set()
        scheduler.shutdown(60)
        st.cache_resource.clear()


def _train_page() -> None:
    import streamlit as st

    from app_pages._training_queue import session_id, train_and_wait
    from lstm_viz.data import tutorial_corpus
    from lstm_viz.serving.limits import LimitError
    from lstm_viz.training import TrainConfig, Trainer
    from lstm_viz.training.models import preset

    if "trainer" not in st.session_state:
        cfg = TrainConfig(device="cpu", optimizer="sgd", lr=0.1, epochs=100, batch_size=1, shuffle=False,
                          probe_every=0, grad_norm_every=0, eval_every=0, threads=1, max_steps=4)
        st.session_state["trainer"] = Trainer(preset("tutorial"), cfg, tutorial_corpus())
    trainer = st.session_state["trainer"]
    st.session_state["sid"] = session_id()
    try:
        st.session_state["ended"] = train_and_wait(trainer, "Tutorial tagger").state
    except LimitError as err:
        st.error(str(err))


def test_train_and_wait_trains_through_the_queue_and_refuses_clearly(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAINING", "1")
    st.cache_resource.clear()
    from app_pages._training_queue import training_scheduler

    release = threading.Event()
    try:
        at = AppTest.from_function(_train_page, default_timeout=60).run()
        assert not at.exception and at.session_state["ended"] == "finished"
        trainer = at.session_state["trainer"]
        assert trainer.snapshot().step == 4
        assert training_scheduler().counts()["kept"] == 0  # keep=False: the session holds it, not the queue
        scheduler = training_scheduler()
        started = threading.Event()
        holder = _tutorial()
        holder.add_callback("on_step_end", lambda t: (started.set(), release.wait(60)))
        scheduler.submit(at.session_state["sid"], holder, "a run of this session")
        assert started.wait(60)
        del at.session_state["trainer"]
        at.run()
        assert at.error and "'a run of this session' is still training" in at.error[0].value
    finally:
        release.set()
        training_scheduler().shutdown(60)
        st.cache_resource.clear()

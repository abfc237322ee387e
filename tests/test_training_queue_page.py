"""The pages' side of the training queue (app_pages/_training_queue.py) in a real Streamlit script run: one
scheduler per server process, the waiting student's line ("1st in line, ...") with a Cancel button that takes
the run out of line, and a clear message for a run the server no longer knows."""
from __future__ import annotations

import threading
import time

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


def _runs(at) -> dict:
    return at.session_state["lstm_viz_state"].runs if "lstm_viz_state" in at.session_state else {}


def test_train_page_start_waits_in_line_and_cancel_takes_the_run_out(monkeypatch):
    """With every slot taken, Start puts the run in line: the page says where it stands, Start is off (one run
    per session), Cancel takes it out of line and out of the session; once a slot frees it trains."""
    from tests.apptest_util import assert_clean, open_page

    monkeypatch.setenv("LSTM_VIZ_MAX_TRAINING", "1")
    at = open_page("app_pages/train.py")  # clears cache_resource: a fresh scheduler with one slot
    from app_pages._training_queue import training_scheduler

    scheduler = training_scheduler()
    started, release = threading.Event(), threading.Event()
    holder = _tutorial()
    holder.add_callback("on_step_end", lambda t: (started.set(), release.wait(60)))
    scheduler.submit("another student", holder, "holder")
    try:
        assert started.wait(60)
        at.button(key="tr_start").click().run()
        assert_clean(at)
        (run,) = _runs(at).values()
        assert run.status == "idle"  # waiting: its Trainer has not started
        assert any(i.value.startswith("Waiting to train: **1st in line, ") for i in at.info), [i.value for i in at.info]
        assert at.button(key="tr_start").disabled
        cancel = [b for b in at.button if b.key and b.key.startswith("tr_queue_cancel_")]
        assert len(cancel) == 1
        cancel[0].click().run()
        assert_clean(at)
        assert _runs(at) == {} and not at.button(key="tr_start").disabled
        assert scheduler.counts()["queued"] == 0 and scheduler.counts()["kept"] == 1  # only the holder
        at.button(key="tr_start").click().run()  # in line again; the holder ends, so this one trains
        (run,) = _runs(at).values()
        assert run.status == "idle"
        release.set()
        deadline = time.time() + 90
        while run.status in ("idle", "running"):
            assert time.time() < deadline, "the queued run never trained"
            time.sleep(0.2)
            at.run()
        at.run()
        assert_clean(at)
        assert run.status == "finished" and run.snapshot().step == 600
        assert any("finished 300 epochs" in s.value for s in at.success)
    finally:
        release.set()
        scheduler.shutdown(60)
        st.cache_resource.clear()


def _tutorial_session() -> AppTest:
    """A new session of the real app on the Tutorial tagger page, without clearing the server's caches."""
    from tests.apptest_util import APP

    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("app_pages/tutorial_tagger.py").run()
    return at


def test_tutorial_is_trained_once_per_server_and_equals_a_fresh_training_exactly():
    """"Train it now" in two sessions: one training on the server, each session its own copy of identical
    weights, said honestly on the page; the shared weights equal a fresh training's state_dict bit for bit,
    and "Train it anew" trains the session's own run to the same weights."""
    import torch

    from lstm_viz.serving.shared_run import SharedRun
    from lstm_viz.training import TRAIN_PRESETS
    from lstm_viz.training.run import TrainingRun
    from tests.apptest_util import assert_clean

    st.cache_resource.clear()
    try:
        a = _tutorial_session()
        a.button[0].click().run()  # "Train it now" (the sidebar has no buttons before a run exists)
        assert_clean(a)
        b = _tutorial_session()
        assert [x.label for x in b.button] == ["Train it now"]
        b.button[0].click().run()
        assert_clean(b)
        (ra,), (rb,) = _runs(a).values(), _runs(b).values()
        assert isinstance(ra, SharedRun) and isinstance(rb, SharedRun) and ra.status == rb.status == "finished"
        assert any("Trained on this server just now" in i.value for i in a.info)
        assert any("already trained on this server" in i.value for i in b.info)
        ma, mb = ra.model_copy()[1], rb.model_copy()[1]
        assert ma is not mb  # each session analyses its own copy
        fresh = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
        fresh.run()
        want = fresh.model.state_dict()
        for model in (ma, mb):
            got = model.state_dict()
            assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
        assert a.get("plotly_chart") and b.get("plotly_chart")  # the heatmap of the shared model
        assert any("`The`/**DET**" in m.value and "`dog`/**NN**" in m.value for m in a.markdown)
        anew = [x for x in b.button if x.label == "Train it anew"]
        assert len(anew) == 1
        anew[0].click().run()
        assert_clean(b)
        own = _runs(b)["Tutorial tagger (2)"]
        assert isinstance(own, TrainingRun) and own.status == "finished" and own.trainer is not fresh
        got = own.model_copy()[1].state_dict()
        assert all(torch.equal(got[k], want[k]) for k in want)
        assert b.session_state["lstm_viz_state"].active == "run:Tutorial tagger (2)"
    finally:
        st.cache_resource.clear()

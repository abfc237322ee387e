"""The server-wide training scheduler with real Trainers (the tutorial tagger): order, the small-run lane,
one run per session, cancellation, a failing run, closed sessions, limits and wait estimates.

Runs are held at their first step by a gate callback (a threading.Event), so every test is deterministic
without sleeps: a test releases the runs it wants to end.
"""
from __future__ import annotations

import threading
import time

import pytest
import torch

from lstm_viz.data import generated_pos_corpus, load_corpus, tutorial_corpus
from lstm_viz.serving.cost import RunCost, count_params, estimate_cost
from lstm_viz.serving.limits import LimitError, ServerLimits
from lstm_viz.serving.planning import about, ordinal, plan_starts
from lstm_viz.serving.scheduler import TrainingScheduler
from lstm_viz.training import TRAIN_PRESETS, TrainConfig, Trainer
from lstm_viz.training.models import preset

pytestmark = pytest.mark.timeout(120)
WAIT = 60  # seconds a test waits for an event before it fails


def tutorial_trainer(steps: int = 4) -> Trainer:
    cfg = TrainConfig(device="cpu", optimizer="sgd", lr=0.1, epochs=300, batch_size=1, shuffle=False,
                      probe_every=0, grad_norm_every=0, eval_every=0, threads=1, max_steps=steps)
    return Trainer(preset("tutorial"), cfg, tutorial_corpus())


def cost(seconds: float, mb: float = 1.0) -> RunCost:
    return RunCost(params=423, dense_params=357, steps=4, tokens_per_step=4.0, seconds=seconds,
                   bytes=int(mb * 2**20))


class Gated:
    """A real tutorial Trainer held at its first step until `release` is set; logs the order runs start in."""

    def __init__(self, name: str, log: list, fail: type = None):
        self.name, self.log, self.fail = name, log, fail
        self.started, self.release = threading.Event(), threading.Event()
        self.trainer = tutorial_trainer()
        self.trainer.add_callback("on_step_end", self._step)

    def _step(self, trainer: Trainer) -> None:
        if not self.started.is_set():
            self.log.append(self.name)
            self.started.set()
        while not self.release.wait(0.005):
            if trainer.stop_requested:
                return
        if self.fail:
            raise self.fail(f"{self.name} broke")

    def wait_started(self) -> None:
        assert self.started.wait(WAIT), f"{self.name} never started"


def make(limits: ServerLimits, **kw) -> TrainingScheduler:
    return TrainingScheduler(limits, **kw)


@pytest.fixture
def log():
    return []


def test_runs_start_in_the_order_they_were_submitted(log):
    s = make(ServerLimits(max_training=1))
    runs = {n: Gated(n, log) for n in "ABC"}
    ids = {n: s.submit(f"session-{n}", g.trainer, n, cost(2.0)) for n, g in runs.items()}
    runs["A"].wait_started()
    assert [s.status(ids[n]).state for n in "ABC"] == ["running", "queued", "queued"]
    assert [s.status(ids[n]).position for n in "BC"] == [1, 2]
    for n in "ABC":
        runs[n].release.set()
    for n in "ABC":
        assert s.wait(ids[n], WAIT).state == "finished"
    assert log == ["A", "B", "C"]
    assert s.counts() == {"running": 0, "queued": 0, "kept": 3, "kept_mb": pytest.approx(3.0)}


def test_a_small_run_does_not_wait_behind_big_ones(log):
    s = make(ServerLimits(max_training=2, small_run_s=10))  # big runs may hold one of the two slots
    big1, big2, small = Gated("big1", log), Gated("big2", log), Gated("small", log)
    b1 = s.submit("s1", big1.trainer, "big1", cost(300))
    b2 = s.submit("s2", big2.trainer, "big2", cost(300))
    sm = s.submit("s3", small.trainer, "small", cost(1))
    big1.wait_started()
    small.wait_started()
    assert s.status(b2).state == "queued" and s.status(b2).big and not s.status(sm).big
    small.release.set()
    assert s.wait(sm, WAIT).state == "finished"
    assert s.status(b2).state == "queued"  # the free slot stays a small-run slot while big1 trains
    for g in (big1, big2):
        g.release.set()
    assert s.wait(b1, WAIT).state == "finished" and s.wait(b2, WAIT).state == "finished"
    assert sorted(log[:2]) == ["big1", "small"] and log[2:] == ["big2"]  # the first two start together


def test_a_big_run_is_not_starved_by_small_runs_behind_it(log):
    s = make(ServerLimits(max_training=2, small_run_s=10))
    big1, small1 = Gated("big1", log), Gated("small1", log)
    big2, small2 = Gated("big2", log), Gated("small2", log)
    s.submit("s1", big1.trainer, "big1", cost(300))
    s.submit("s2", small1.trainer, "small1", cost(1))
    b2 = s.submit("s3", big2.trainer, "big2", cost(300))
    s2 = s.submit("s4", small2.trainer, "small2", cost(1))
    big1.wait_started()
    small1.wait_started()
    big1.release.set()  # a slot frees: big2 was in line before small2 and may run now
    big2.wait_started()
    assert s.status(s2).state == "queued"
    for g in (small1, big2, small2):
        g.release.set()
    assert s.wait(s2, WAIT).state == "finished" and s.wait(b2, WAIT).state == "finished"
    assert sorted(log[:2]) == ["big1", "small1"] and log[2:] == ["big2", "small2"]


def test_one_queued_or_training_run_per_session(log):
    s = make(ServerLimits(max_training=1))
    first, other = Gated("first", log), Gated("other", log)
    a = s.submit("s1", first.trainer, "first", cost(1))
    with pytest.raises(LimitError, match="'first' is still training.*one run per session"):
        s.submit("s1", tutorial_trainer(), "second", cost(1))
    b = s.submit("s2", other.trainer, "other", cost(1))  # another session may queue meanwhile
    with pytest.raises(LimitError, match="'other' is still in line"):
        s.submit("s2", tutorial_trainer(), "again", cost(1))
    first.release.set()
    other.release.set()
    assert s.wait(a, WAIT).state == "finished" and s.wait(b, WAIT).state == "finished"
    third = s.submit("s1", tutorial_trainer(), "third", cost(1))  # the first has ended: allowed now
    assert s.wait(third, WAIT).state == "finished"


def test_cancel_from_the_queue_and_stop_a_training_run(log):
    s = make(ServerLimits(max_training=1))
    a, b, c = Gated("A", log), Gated("B", log), Gated("C", log)
    ia, ib, ic = (s.submit(f"s{n}", g.trainer, n, cost(2)) for n, g in (("A", a), ("B", b), ("C", c)))
    a.wait_started()
    assert s.status(ic).position == 2
    assert s.cancel(ib) == "cancelled"
    assert s.status(ib).describe() == "cancelled before it started"
    assert s.status(ic).position == 1  # C moved up
    assert s.cancel(ia) == "running"  # a training run is asked to stop instead
    assert s.wait(ia, WAIT).state == "stopped"
    c.release.set()
    assert s.wait(ic, WAIT).state == "finished"
    assert log == ["A", "C"] and b.trainer.snapshot().status == "idle" and b.trainer.snapshot().step == 0
    assert s.cancel("run-unknown") == "unknown"


@pytest.mark.parametrize("error", [RuntimeError, MemoryError])  # a bug, or a run out of memory
def test_a_failing_run_frees_its_slot_and_the_others_go_on(log, error):
    s = make(ServerLimits(max_training=2, max_big_training=2))
    bad, alongside, behind = Gated("bad", log, fail=error), Gated("alongside", log), Gated("behind", log)
    i_bad = s.submit("s1", bad.trainer, "bad", cost(1))
    i_along = s.submit("s2", alongside.trainer, "alongside", cost(1))
    i_behind = s.submit("s3", behind.trainer, "behind", cost(1))
    bad.wait_started()
    alongside.wait_started()
    assert s.status(i_behind).state == "queued"
    bad.release.set()
    ended = s.wait(i_bad, WAIT)
    assert ended.state == "failed" and f"{error.__name__}: bad broke" in ended.describe()
    behind.wait_started()  # took the failed run's slot while the other kept training
    assert s.status(i_along).state == "running"
    alongside.release.set()
    behind.release.set()
    assert s.wait(i_along, WAIT).state == "finished" and s.wait(i_behind, WAIT).state == "finished"
    # a trainer that cannot even start (it already ran) fails clearly and frees its slot too
    used = tutorial_trainer()
    used.run()
    i_used = s.submit("s4", used, "used", cost(1))
    assert s.wait(i_used, WAIT).state == "failed" and "could not start" in s.status(i_used).message
    assert s.counts()["running"] == 0
    assert s.wait(s.submit("s5", tutorial_trainer(), "after", cost(1)), WAIT).state == "finished"


def test_runs_of_a_closed_session_are_cleaned_up_after_the_grace_period(log):
    now, alive = [0.0], {"s1": True, "s2": True, "s3": True}
    s = make(ServerLimits(max_training=1, session_grace_s=60), session_alive=alive.__getitem__,
             clock=lambda: now[0])
    a, b = Gated("A", log), Gated("B", log)
    ia, ib = s.submit("s1", a.trainer, "A", cost(1)), s.submit("s2", b.trainer, "B", cost(1))
    a.wait_started()
    alive["s2"] = False
    assert s.sweep() == []
    now[0] = 59.0
    assert s.sweep() == []  # still within the grace period
    alive["s2"] = True  # the browser reconnected: the grace period starts again next time it closes
    assert s.sweep() == [] and s.status(ib).state == "queued"
    alive["s2"], alive["s1"] = False, False
    now[0] = 100.0
    assert s.sweep() == []
    now[0] = 160.0
    assert sorted(s.sweep()) == sorted([ia, ib])
    with pytest.raises(LimitError, match="not known here"):
        s.status(ib)
    assert a.trainer.stop_requested and b.trainer.snapshot().status == "idle"
    assert a.trainer.join(WAIT) and a.trainer.snapshot().status == "stopped"
    c = Gated("C", log)
    c.release.set()
    ic = s.submit("s3", c.trainer, "C", cost(1))
    assert s.wait(ic, WAIT).state == "finished"  # the slot A held is free again
    assert s.counts()["kept"] == 1 and log == ["A", "C"]


def test_limits_are_refused_with_a_clear_message():
    lim = ServerLimits(max_training=1, max_runs_per_session=2, max_runs_server=3, max_run_mb=100,
                       max_kept_mb=250, max_queued=1)
    s = make(lim)
    done = [s.submit("s1", tutorial_trainer(), f"r{k}", cost(1)) for k in range(1)]
    s.wait(done[0], WAIT)
    s.wait(s.submit("s1", tutorial_trainer(), "r1", cost(1)), WAIT)
    with pytest.raises(LimitError, match="this session keeps 2 runs"):
        s.submit("s1", tutorial_trainer(), "r2", cost(1))
    s.forget(done[0])
    s.wait(s.submit("s1", tutorial_trainer(), "r2", cost(1)), WAIT)  # one deleted: room again
    with pytest.raises(LimitError, match="would need about 200 MB .* more than the 100 MB"):
        s.check("s2", cost(1, mb=200))
    s.wait(s.submit("s2", tutorial_trainer(), "x", cost(1)), WAIT)
    with pytest.raises(LimitError, match="the server keeps 3 runs"):
        s.check("s3", cost(1))
    s.forget(done[0])  # already forgotten: nothing happens
    s2 = make(ServerLimits(max_training=1, max_kept_mb=250))
    s2.submit("a", tutorial_trainer(), "a", cost(1, mb=90))
    s2.submit("b", tutorial_trainer(), "b", cost(1, mb=90))
    with pytest.raises(LimitError, match="holds 180 MB of runs"):
        s2.check("c", cost(1, mb=90))
    s2.shutdown(WAIT)
    s3 = make(ServerLimits(max_training=1, max_queued=1))
    g = Gated("g", [])
    s3.submit("a", g.trainer, "a", cost(1))
    g.wait_started()
    s3.submit("b", tutorial_trainer(), "b", cost(1))
    with pytest.raises(LimitError, match="queue is full"):
        s3.submit("c", tutorial_trainer(), "c", cost(1))
    g.release.set()
    s3.shutdown(WAIT)
    assert s3.counts()["running"] == 0


def test_wait_estimates_follow_the_dispatch_rule(log):
    # two slots, one of them big at most: the big run waits for the big one, small runs share the other
    assert plan_starts([(30, True), (5, False)], [(60, True), (2, False), (2, False)], 2, 1) == [30, 5, 7]
    assert plan_starts([], [(4, False), (4, False), (4, False)], 1, 1) == [0, 4, 8]
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "102nd"]
    assert (about(2), about(38), about(200)) == ("a few seconds", "about 40 s", "about 3 min")
    s = make(ServerLimits(max_training=1))
    runs = [Gated(n, log) for n in "ABCD"]
    ids = [s.submit(f"s{k}", g.trainer, g.name, cost(20)) for k, g in enumerate(runs)]
    runs[0].wait_started()
    status = s.status(ids[3])
    assert status.position == 3 and 40 <= status.wait_s <= 60  # A's 20 s (less what it ran), then B and C
    assert status.describe().startswith("3rd in line, about ")
    s.shutdown(WAIT)
    assert [s.status(i).state for i in ids] == ["stopped", "cancelled", "cancelled", "cancelled"]


def test_cost_model_counts_parameters_exactly_and_sorts_runs_into_lanes():
    lim = ServerLimits()
    tut = estimate_cost(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    trainer = tutorial_trainer()
    assert tut.params == sum(p.numel() for p in trainer.model.parameters())
    assert tut.steps == 600 and tut.seconds <= lim.small_run_s
    sentiment = load_corpus("generated-sentiment", task="sentiment")
    big = estimate_cost(preset("sentiment-bilstm"), TrainConfig(epochs=5), sentiment)
    assert big.seconds > lim.small_run_s and big.bytes > 4 * big.params * 4  # weights, grads, Adam's two
    char = preset("pos-bilstm-char")
    corpus = generated_pos_corpus()
    c = estimate_cost(char, TrainConfig(epochs=1), corpus)
    built = Trainer(char, TrainConfig(epochs=1, device="cpu"), corpus)
    assert c.params == sum(p.numel() for p in built.model.parameters())
    assert count_params(char, 10, 3, 5)[0] < c.params  # a smaller vocabulary, fewer parameters


def test_limits_from_the_environment():
    lim = ServerLimits.from_env({"LSTM_VIZ_MAX_TRAINING": "3", "LSTM_VIZ_SESSION_GRACE_S": "30"})
    assert (lim.training_slots, lim.big_slots, lim.session_grace_s) == (3, 2, 30.0)
    assert ServerLimits(max_training=1).big_slots == 1
    assert ServerLimits().training_slots >= 1
    with pytest.raises(LimitError, match="LSTM_VIZ_MAX_TRAINING='many' is not an integer"):
        ServerLimits.from_env({"LSTM_VIZ_MAX_TRAINING": "many"})
    with pytest.raises(LimitError, match="max_training must be a positive integer"):
        ServerLimits.from_env({"LSTM_VIZ_MAX_TRAINING": "0"})


def test_estimates_learn_from_finished_runs_per_lane():
    s = make(ServerLimits(max_training=1, small_run_s=50))
    first = s.submit("s1", tutorial_trainer(), "first", cost(40))  # planned 40 s; four tutorial steps take less
    assert s.wait(first, WAIT).state == "finished" and s.status(first).estimate_s == 40
    small = s.submit("s2", tutorial_trainer(), "small", cost(40))
    big = s.submit("s3", tutorial_trainer(), "big", cost(100))
    assert s.status(small).estimate_s < 40  # the small lane learnt that its runs end sooner than planned
    assert s.status(big).estimate_s == 100 and s.status(big).big  # the big lane has seen no run yet
    s.shutdown(WAIT)


def test_train_once_trains_one_configuration_once_for_every_waiter_and_again_after_a_failure():
    """Thirty sessions asking for the same deterministic run share one training; each gets its own weights."""
    from lstm_viz.serving.shared_run import SharedRun, TrainOnce, run_key

    scheduler = make(ServerLimits(max_training=1))
    made, log = [], []

    def make_trainer() -> Trainer:
        gated = Gated(f"try {len(made) + 1}", log, fail=RuntimeError if not made else None)
        made.append(gated)
        return gated.trainer

    once = TrainOnce("key", make_trainer, scheduler, "Tutorial tagger")
    first = once.submit()
    assert once.submit() == first and len(made) == 1  # a second caller joins the same run
    made[0].release.set()
    assert once.wait(WAIT).state == "failed" and once.result() is None  # the first try raised
    results = []
    waiters = [threading.Thread(target=lambda: results.append(once.wait(WAIT))) for _ in range(5)]
    for t in waiters:
        t.start()
    deadline = time.monotonic() + WAIT
    while len(made) < 2 and time.monotonic() < deadline:  # the first waiter submits the second try
        time.sleep(0.005)
    made[-1].wait_started()
    made[-1].release.set()
    for t in waiters:
        t.join(WAIT)
    assert len(made) == 2  # retried once after the failure, then shared by all five waiters
    assert once.result() is made[1].trainer and once.wait(WAIT) is None and once.submit() is None
    assert scheduler.counts()["kept"] == 0  # the shared result is not a session's kept run
    a, b = (SharedRun(f"copy {k}", once.result(), "tutorial") for k in "ab")
    assert a.snapshot() == b.snapshot() and a.model_copy()[1] is not b.model_copy()[1]
    assert a.model_copy()[1] is a.model_copy()[1]  # one copy per run: the pages' caches stay valid
    for x, y in zip(a.model_copy()[1].parameters(), b.model_copy()[1].parameters()):
        assert torch.equal(x, y)
    with pytest.raises(ValueError, match="finished training"):
        SharedRun("early", tutorial_trainer(), "tutorial")
    key = run_key(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    assert key == run_key(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    assert key != run_key(preset("tutorial"), TrainConfig(**{**TRAIN_PRESETS["tutorial"].__dict__, "seed": 1}),
                          tutorial_corpus())

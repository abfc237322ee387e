"""AppTest of the Gradients page's LSTM vs GRU vs RNN: a run trained here offers to train the missing
architectures the same way, then overlays three trained models; a model from a file gets untrained modules,
named untrained in every legend entry and in the caption."""
from __future__ import annotations

import json

import pytest

from .apptest_util import assert_clean, button
from .test_app_analysis_pages import cold_start, open_with, tiny_run

pytestmark = pytest.mark.timeout(240)


def compare_figure(at) -> dict:
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [f for f in figs if " vs " in title(f)]
    assert len(found) == 1, [title(f) for f in figs]
    return found[0]


def title(fig: dict) -> str:
    """The figure's title as one line (the figure wraps long titles with <br>)."""
    return fig["layout"]["title"]["text"].replace("<br>", " ")


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_a_run_trained_here_gets_trained_siblings():
    at = cold_start("app_pages/gradients.py")  # the tutorial tagger, trained here
    fig = compare_figure(at)
    assert title(fig).startswith("untrained LSTM vs GRU vs RNN (random weights)")
    assert all("(untrained, random weights)" in d["name"] for d in fig["data"])
    assert "Untrained: random weights" in captions(at)
    button(at, "Train GRU and RNN the same way").click()
    at.run()
    assert_clean(at)
    fig = compare_figure(at)
    assert title(fig).startswith("trained LSTM vs GRU vs RNN")
    names = {d["name"].split(" ‖")[0].split(" forget")[0].split(" update")[0] for d in fig["data"]}
    assert any(n.startswith("LSTM (this model, dev acc.") for n in names), names
    assert any(n.startswith("GRU (trained here, dev acc.") for n in names), names
    assert any(n.startswith("RNN (trained here, dev acc.") for n in names), names
    assert not any("untrained" in d["name"] for d in fig["data"])
    text = captions(at)
    # the tutorial's 300 epochs of two sentences, fixed order: 600 steps each, like the LSTM itself
    assert "GRU: 600 of 600 planned steps" in text and "RNN: 600 of 600 planned steps" in text
    assert "the same split as the run 'Tutorial tagger'" in text and "seed (0)" in text
    assert "cut short" not in text
    assert not at.warning  # the tutorial's 600 steps fit in the time budget
    at.radio(key="grad_layout").set_value("side_by_side").run()
    assert_clean(at)
    assert "xaxis3" in compare_figure(at)["layout"]
    button(at, "Discard these and train again").click()
    at.run()
    assert_clean(at)
    assert title(compare_figure(at)).startswith("untrained")
    assert button(at, "Train GRU and RNN the same way")


def test_a_model_from_a_file_is_compared_with_untrained_modules_named_so():
    at = open_with("app_pages/gradients.py", tiny_run("lstm"), as_file=True)
    assert not [b for b in at.button if b.label.startswith("Train GRU")]
    fig = compare_figure(at)
    assert fig["data"] and all("untrained, random weights" in d["name"] for d in fig["data"])
    text = captions(at)
    assert "Untrained: random weights, not this model" in text and "came from a file" in text


def test_a_gru_run_trains_lstm_and_rnn():
    at = open_with("app_pages/gradients.py", tiny_run("gru"))
    button(at, "Train LSTM and RNN the same way").click()
    at.run()
    assert_clean(at)
    names = " ".join(d["name"] for d in compare_figure(at)["data"])
    assert "GRU (this model" in names and "LSTM (trained here" in names and "RNN (trained here" in names
    assert "LSTM: 8 of 8 planned steps" in captions(at)  # tiny_run: 4 epochs x 2 sentences


def test_a_builtin_model_offers_siblings_trained_by_its_recipe():
    from lstm_viz.teaching.builtin import default_builtin_key

    from .apptest_util import open_page

    if default_builtin_key() != "ewt-pos-lstm":
        pytest.skip("the built-in EWT tagger is not built (python -m lstm_viz.teaching build)")
    at = open_page("app_pages/gradients.py")  # a fresh session shows the built-in EWT tagger
    assert_clean(at)
    assert button(at, "Train GRU and RNN the same way")
    assert any("Universal Dependencies English Web Treebank v2.16, the same split" in m.value for m in at.markdown)
    assert all("untrained, random weights" in d["name"] for d in compare_figure(at)["data"])
    assert any("trained in advance" in i.value for i in at.info)


def test_siblings_cut_short_by_a_time_budget_are_called_partly_trained():
    from dataclasses import replace

    run = tiny_run("lstm")
    run.train_config = replace(run.train_config, epochs=300, time_budget_s=0.05)  # the run's own budget binds
    at = open_with("app_pages/gradients.py", run)
    button(at, "Train GRU and RNN the same way").click()
    at.run()
    assert_clean(at)
    assert any("partly trained" in w.value and "GRU and RNN" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert "cut short: time budget of 0.05 s reached" in captions(at)


def test_siblings_train_through_the_servers_queue():
    """The siblings go through the server's training queue like every other training: a session that already
    has a run in the queue is refused (one run per session) with the queue's message, and the page keeps working."""
    from dataclasses import replace

    from app_pages._training_queue import training_scheduler
    from lstm_viz.data import tutorial_corpus
    from lstm_viz.training import TRAIN_PRESETS, Trainer
    from lstm_viz.training.models import preset

    at = cold_start("app_pages/gradients.py")  # the tutorial tagger, trained here
    at.session_state["_tq_session"] = "test-session-with-a-run-in-line"
    blocker = Trainer(preset("tutorial"), replace(TRAIN_PRESETS["tutorial"], epochs=10**6), tutorial_corpus())
    scheduler = training_scheduler()
    run_id = scheduler.submit("test-session-with-a-run-in-line", blocker, "a long run")
    try:
        button(at, "Train GRU and RNN the same way").click()
        at.run()
        assert_clean(at)
        errors = " ".join(e.value for e in at.error)
        assert "Could not train the GRU" in errors and "a long run" in errors, errors
        assert title(compare_figure(at)).startswith("untrained")  # nothing half-trained is kept
    finally:
        scheduler.cancel(run_id)
        scheduler.forget(run_id)

"""AppTest: the Cell anatomy page (no model needed) and the Timeline page (replays a run's probe snapshots)."""
from __future__ import annotations

import time

import pytest

from lstm_viz.explore import cell_step

from .apptest_util import assert_clean, open_page

pytestmark = pytest.mark.timeout(240)


def metrics(at) -> dict[str, str]:
    """label -> value of the LSTM tab's metrics, then the GRU tab's (labels repeat: 'hidden h_t')."""
    return {f"{k}:{m.label}": m.value for k, m in enumerate(at.metric)}


def lstm_values(at) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric[:6]}


def gru_values(at) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric[6:]}


def regions(at) -> list[str]:
    return [m.value.split("**")[1] for m in at.markdown if m.value.startswith("### Region:")]


def test_cell_anatomy_cold_start():
    at = open_page("app_pages/cell_anatomy.py")
    assert_clean(at)
    # LSTM preset "remember everything", x = 1, h = 0, c = 0.5: the cell keeps 0.5
    step = cell_step.lstm_step([1.0], [0.0], [0.5], cell_step.LSTM_PRESETS["remember everything"].weights)
    got = lstm_values(at)
    assert got["input gate i"] == pytest.approx(step["i"][0], abs=1e-3)
    assert got["cell c_t"] == pytest.approx(step["c"][0], abs=1e-3) == pytest.approx(0.5, abs=0.01)
    assert regions(at) == ["remember", "keep"]
    latex = [x.value for x in at.latex]
    assert any(r"i_t = \sigma(" in x and r"= \sigma(-6.00) = 0.002" in x for x in latex)
    assert any(x.startswith("$$\nc_t = 1.00 \\cdot 0.50") for x in latex)  # the substituted cell equation
    assert any(r"n_t = \tanh(" in x for x in latex) and any(r"(1 - z_t)" in x for x in latex)
    assert len(at.get("plotly_chart")) == 4  # two truth-table squares, two sequence charts


def test_cell_anatomy_presets_and_sliders_change_values():
    at = open_page("app_pages/cell_anatomy.py")
    at.selectbox(key="ca_lstm_preset").set_value("write new input").run()
    assert regions(at)[0] == "overwrite"
    w = cell_step.LSTM_PRESETS["write new input"].weights
    at.slider(key="ca_lstm_x").set_value(-0.5).run()
    at.slider(key="ca_lstm_c").set_value(2.0).run()
    expected = cell_step.lstm_step([-0.5], [0.0], [2.0], w)
    got = lstm_values(at)
    assert got["cell c_t"] == pytest.approx(expected["c"][0], abs=1e-3) and got["cell c_t"] < 0  # old 2.0 is gone
    assert got["hidden h_t"] == pytest.approx(expected["h"][0], abs=1e-3)
    # editing a weight: the forget bias from -6 to +6 turns "overwrite" into "add"
    at.number_input(key="ca_lstm_w_write new input_f_b").set_value(6.0).run()
    assert regions(at)[0] == "add"
    assert lstm_values(at)["cell c_t"] == pytest.approx(2.0 + expected["input_part"][0], abs=2e-2)
    # thresholds: with closed < 0 and open > 1 no gate is ever saturated
    at.slider(key="ca_thresholds").set_value((0.0, 1.0)).run()
    assert regions(at) == ["in between", "in between"]
    # GRU: reset and overwrite ignores the previous state
    at.selectbox(key="ca_gru_preset").set_value("reset and overwrite").run()
    at.slider(key="ca_thresholds").set_value((0.1, 0.9)).run()
    assert regions(at)[1] == "reset+overwrite"
    before = gru_values(at)["hidden h_t"]
    at.slider(key="ca_gru_h").set_value(-1.0).run()
    assert gru_values(at)["hidden h_t"] == pytest.approx(before, abs=1e-2)  # z ~ 0.0025 lets h_{t-1} barely in
    at.slider(key="ca_gru_x").set_value(0.5).run()
    assert gru_values(at)["hidden h_t"] == pytest.approx(
        cell_step.gru_step([0.5], [-1.0], cell_step.GRU_PRESETS["reset and overwrite"].weights)["h"][0], abs=1e-3)
    assert_clean(at)


def test_cell_anatomy_sequence_input_errors_are_messages():
    at = open_page("app_pages/cell_anatomy.py")
    at.text_input(key="ca_lstm_seq_remember everything").set_value("1, two, 3").run()
    assert_clean(at)
    assert any("entry 2 ('two') is not a number" in e.value for e in at.error)
    at.text_input(key="ca_lstm_seq_remember everything").set_value("").run()
    assert any("at least one number" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 3  # the other charts stay


def predicted_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Predicted tags:**"))


def test_timeline_cold_start_offers_the_tutorial_and_replays_steps():
    at = open_page("app_pages/timeline.py")
    assert_clean(at)
    assert any("No run yet" in i.value for i in at.info)
    at.button(key="tl_quick").click().run()
    assert_clean(at)
    (slider,) = at.select_slider
    steps = [int(s) for s in slider.options]
    assert steps[0] == 0 and steps[-1] == 600 and int(slider.value) == 600
    assert any(m.value.startswith("#### Step 600") for m in at.markdown)
    assert ":red[" not in predicted_line(at)  # all right at the end of training
    assert len(at.get("plotly_chart")) == 4  # gates, truth-table shares, saturation, shares over training
    slider.set_value(0).run()
    assert_clean(at)
    assert any(m.value.startswith("#### Step 0 (epoch 0)") for m in at.markdown)
    assert ":red[" in predicted_line(at)  # untrained: some tags wrong
    at.selectbox(key="tl_sentence").set_value(1).run()
    assert "`Everybody`" in predicted_line(at) and int(at.select_slider[0].value) == 0


def _stop_all(at) -> None:
    for run in at.session_state["lstm_viz_state"].runs.values():
        run.trainer.stop()
        run.trainer.join(10)


def test_timeline_follows_a_run_while_it_trains():
    at = open_page("app_pages/train.py")
    try:
        at.selectbox(key="tr_preset").set_value("custom").run()
        at.selectbox(key="tr_dataset_pos").set_value("generated-pos")
        for key, value in (("tr_hidden", 16), ("tr_embed", 16), ("tr_epochs", 1000), ("tr_limit", 200),
                           ("tr_batch", 32)):
            at.number_input(key=key).set_value(value)
        at.checkbox(key="tr_bidir").check()
        at.selectbox(key="tr_opt").set_value("adam")
        at.select_slider(key="tr_lr").set_value(0.01).run()
        at.button(key="tr_start").click().run()
        at.switch_page("app_pages/timeline.py").run()
        assert_clean(at)
        (run,) = at.session_state["lstm_viz_state"].runs.values()
        deadline = time.time() + 60
        while len(run.trainer.snapshot().probes) < 3:
            assert time.time() < deadline
            time.sleep(0.3)
            at.run()
        at.run()
        assert_clean(at)
        assert any("is training" in c.value for c in at.caption)
        first = [int(s) for s in at.select_slider[0].options]
        assert int(at.select_slider[0].value) == first[-1]  # follows the newest recording
        at.radio(key="tl_direction").set_value(1).run()
        assert_clean(at)
        at.select_slider[0].set_value(first[0]).run()
        deadline = time.time() + 60
        while len(run.trainer.snapshot().probes) <= len(first):
            assert time.time() < deadline
            time.sleep(0.3)
        at.run()
        assert [int(s) for s in at.select_slider[0].options][-1] > first[-1]
        assert int(at.select_slider[0].value) == first[0]  # an older step the user picked stays picked
    finally:
        _stop_all(at)
    at.run()
    assert_clean(at)


def test_timeline_rnn_and_loaded_runs_explain_what_is_missing():
    at = open_page("app_pages/train.py")
    at.selectbox(key="tr_preset").set_value("custom").run()
    at.selectbox(key="tr_arch").set_value("rnn").run()
    at.number_input(key="tr_epochs").set_value(5).run()
    at.button(key="tr_start").click().run()
    run = next(iter(at.session_state["lstm_viz_state"].runs.values()))
    assert run.trainer.join(60)
    at.switch_page("app_pages/timeline.py").run()
    assert_clean(at)
    assert any("plain RNN has no gates" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1  # the hidden state heatmap still shows
    # a checkpoint has no training history
    at.switch_page("app_pages/train.py").run()
    data = next(iter(at.session_state["tr_checkpoint"].values()))
    at.file_uploader(key="tr_ckpt").set_value(("rnn.pt", data, "application/octet-stream")).run()
    at.switch_page("app_pages/timeline.py").run()
    assert_clean(at)
    assert any("no training history" in i.value for i in at.info)


def test_sentiment_preset_trains_and_the_timeline_shows_labels():
    at = open_page("app_pages/train.py")
    try:
        at.selectbox(key="tr_preset").set_value("sentiment-bilstm").run()
        assert at.radio(key="tr_task").value == "sentiment"
        at.number_input(key="tr_limit").set_value(64).run()
        at.number_input(key="tr_epochs").set_value(1).run()
        at.button(key="tr_start").click().run()
        (run,) = at.session_state["lstm_viz_state"].runs.values()
        assert run.name == "sentiment-bilstm" and run.trainer.join(120)
        at.run()
        assert_clean(at)
        assert run.status == "finished" and len(run.corpus.train) == 64
        assert list(at.dataframe[0].value["arch"]) == ["BiLSTM x2, 256 units"]
        at.switch_page("app_pages/timeline.py").run()
        assert_clean(at)
        line = next(m.value for m in at.markdown if m.value.startswith("**Predicted label:**"))
        assert "positive" in line or "negative" in line
        at.radio(key="tl_direction").set_value(1).run()
        at.selectbox(key="tl_layer").set_value(1).run()
        assert_clean(at)
        assert len(at.get("plotly_chart")) == 4  # gates, shares, saturation, shares over training (plotly)
    finally:
        _stop_all(at)

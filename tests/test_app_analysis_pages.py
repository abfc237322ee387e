"""AppTest of the four analysis pages (Gates, Truth table, Saturation, Gradients) in the real app: cold start,
the main interactions, bad input, and GRU / plain RNN / 2-layer bidirectional / from-file models."""
from __future__ import annotations

import base64
import json
from dataclasses import replace

import numpy as np
import pytest

from lstm_viz.data import tutorial_corpus
from lstm_viz.training.models import preset
from lstm_viz.training import TRAIN_PRESETS, Trainer
from app_pages._common import STATE_KEY, Run, SessionState, subject_of

from .apptest_util import assert_clean, button, open_page

pytestmark = pytest.mark.timeout(240)

LONG_PASTE = "The dog ate the apple " * 1000  # 5,000 tokens


def figures_of(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def array(v) -> np.ndarray:
    """A figure array from its JSON: a plain list, or plotly's base64 {"bdata", "dtype"} form."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def trace_types(fig: dict) -> list[str]:
    return [d.get("type", "scatter") for d in fig["data"]]


def cold_start(page: str):
    """A fresh session on `page`: no model, so the page offers the tutorial tagger; press it."""
    at = open_page(page)
    assert_clean(at)
    assert any("No model" in i.value for i in at.info)
    button(at, "Train the tutorial tagger").click()
    at.run()
    assert_clean(at)
    return at


def tiny_run(arch: str = "lstm", **model) -> Run:
    """A finished run of the tutorial tagger with another recurrent layer (a few epochs: a second at most)."""
    trainer = Trainer(preset("tutorial", arch=arch, **model), replace(TRAIN_PRESETS["tutorial"], epochs=4,
                                                                      grad_norm_every=1), tutorial_corpus())
    trainer.run()
    assert trainer.snapshot().status == "finished"
    return Run(f"{arch} tagger", trainer, "tutorial")


def open_with(page: str, run: Run, as_file: bool = False):
    """A fresh session whose only model is `run` (or its weights as if loaded from a file)."""
    at = open_page("app_pages/home.py")
    s = SessionState()
    if as_file:
        s.inspected[run.name] = subject_of(run)
        s.active = f"file:{run.name}"
    else:
        s.runs[run.name] = run
        s.active = f"run:{run.name}"
    at.session_state[STATE_KEY] = s
    at.switch_page(page)
    at.run()
    assert_clean(at)
    return at


def set_text(at, key: str, text: str):
    at.text_input(key=key).set_value(text).run()
    assert_clean(at)


def check_bad_inputs(at, key: str) -> None:
    """Empty text and only unknown words give a message; a 5,000-token paste is cut with a note."""
    set_text(at, key, "   ")
    assert any("empty" in e.value for e in at.error)
    set_text(at, key, "qwzx blorft")
    assert any("vocabulary" in e.value for e in at.error)
    set_text(at, key, LONG_PASTE)
    assert any("2,000" in i.value for i in at.info), [i.value for i in at.info]


# -- Gates ---------------------------------------------------------------------------------------------------------
def test_gates_cold_start_interactions_and_bad_input():
    at = cold_start("app_pages/gates.py")
    heat, line = figures_of(at)
    assert trace_types(heat) == ["heatmap"] * 6  # i, f, g, o, c, h
    assert heat["data"][0]["x"][1] == "dog<br>NN"  # predicted tag under each token
    assert len(line["data"]) == 6
    for by in ("variance", "saturation", "correlation"):
        at.selectbox(key="gates_by").set_value(by).run()
        assert_clean(at)
    at.selectbox(key="gates_tag").set_value("V").run()
    assert_clean(at)
    assert any("correlation" in o for o in at.selectbox(key="gates_unit").options)
    at.selectbox(key="gates_of").set_value("f").run()
    assert_clean(at)
    unit = int(at.selectbox(key="gates_unit").options[-1].split()[1])  # "unit 4 (correlation +0.3)"
    at.selectbox(key="gates_unit").set_value(unit).run()
    assert at.selectbox(key="gates_unit").value == unit
    assert figures_of(at)[1]["layout"]["title"]["text"].startswith(f"unit {unit},")
    at.slider(key="gates_max_units").set_value(3).run()
    assert_clean(at)
    assert len(figures_of(at)[0]["data"][0]["y"]) == 3
    at.multiselect(key="gates_show").set_value(["f", "cell"]).run()
    assert trace_types(figures_of(at)[0]) == ["heatmap"] * 2
    check_bad_inputs(at, "gates_text")
    assert any("page 1 of 20" in i.value for i in at.info)  # 2,000 tokens in pages of 100
    at.slider(key="gates_page").set_value(20).run()
    assert_clean(at)
    assert figures_of(at)[0]["data"][0]["x"][0].startswith("The")
    assert any("page 20 of 20" in i.value for i in at.info)


def test_gates_two_layer_bidirectional_gru():
    at = open_with("app_pages/gates.py", tiny_run("gru", num_layers=2, bidirectional=True))
    assert trace_types(figures_of(at)[0]) == ["heatmap"] * 4  # r, z, n, h
    at.selectbox(key="gates_layer").set_value(1).run()
    assert_clean(at)
    at.radio(key="gates_direction").set_value(1).run()
    assert_clean(at)
    assert figures_of(at)[0]["layout"]["title"]["text"].startswith("layer 1 bwd")


def test_gates_plain_rnn():
    at = open_with("app_pages/gates.py", tiny_run("rnn"))
    assert trace_types(figures_of(at)[0]) == ["heatmap"]  # h only
    at.selectbox(key="gates_by").set_value("saturation").run()
    assert_clean(at)


# -- Truth table ------------------------------------------------------------------------------------------------
def test_truth_table_cold_start_thresholds_and_bad_input():
    at = cold_start("app_pages/truth_table.py")
    heat, shares, diagram = figures_of(at)
    assert [d["name"] for d in heat["data"]] == ["remember", "add", "erase", "overwrite", "in between"]
    assert "low 0.1, high 0.9" in heat["layout"]["title"]["text"]
    at.slider(key="truth_thresholds").set_value((0.3, 0.7)).run()
    assert_clean(at)
    assert "low 0.3, high 0.7" in figures_of(at)[0]["layout"]["title"]["text"]
    at.slider(key="truth_thresholds").set_value((0.5, 0.5)).run()  # both handles on one value
    assert_clean(at)
    assert any("below high" in w.value for w in at.warning)
    assert "low 0.5, high 0.51" in figures_of(at)[0]["layout"]["title"]["text"]
    at.selectbox(key="truth_token").set_value(2).run()
    assert_clean(at)
    assert "ate" in at.main.caption[-1].value
    check_bad_inputs(at, "truth_text")
    at.slider(key="truth_page").set_value(3).run()
    assert_clean(at)


def test_truth_table_gru_and_rnn():
    at = open_with("app_pages/truth_table.py", tiny_run("gru"))
    assert [d["name"] for d in figures_of(at)[0]["data"]] == ["keep", "overwrite", "reset+overwrite", "in between"]
    assert any("update gate z" in m.value for m in at.markdown)
    at = open_with("app_pages/truth_table.py", tiny_run("rnn"))
    assert any("no gates" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_truth_table_layers_and_directions():
    at = open_with("app_pages/truth_table.py", tiny_run("lstm", num_layers=2, bidirectional=True))
    at.selectbox(key="truth_layer").set_value(1).run()
    at.radio(key="truth_direction").set_value(1).run()
    assert_clean(at)
    assert "layer 1 bwd" in figures_of(at)[0]["layout"]["title"]["text"]
    assert len(figures_of(at)[1]["data"][1]["x"]) == 4  # shares per layer: L0/L1 x fwd/bwd


# -- Saturation ---------------------------------------------------------------------------------------------------
def test_saturation_cold_start_and_interactions():
    at = cold_start("app_pages/saturation.py")
    scatter, hist = figures_of(at)
    assert [d["name"] for d in scatter["data"]][:2] == ["i: input gate", "f: forget gate"]
    assert array(scatter["data"][0]["x"]).size == 6  # one point per unit
    assert any("train sentences" in c.value or "dev sentences" in c.value for c in at.caption)
    at.slider(key="sat_thresholds").set_value((0.2, 0.8)).run()
    assert_clean(at)
    assert "low 0.2, high 0.8" in figures_of(at)[0]["layout"]["title"]["text"]
    at.radio(key="sat_gate").set_value("f").run()
    assert_clean(at)
    assert [d["name"] for d in figures_of(at)[0]["data"]] == ["f: forget gate"]
    at.slider(key="sat_n").set_value(50).run()
    at.slider(key="sat_always").set_value(0.5).run()
    assert_clean(at)
    assert at.dataframe or at.success  # the flagged-units table (or the all-clear)


def test_saturation_gru_rnn_and_a_model_without_data():
    at = open_with("app_pages/saturation.py", tiny_run("gru", num_layers=2))
    at.selectbox(key="sat_layer").set_value(1).run()
    assert_clean(at)
    assert [d["name"] for d in figures_of(at)[0]["data"]] == ["r: reset gate", "z: update gate", "n: candidate"]
    at = open_with("app_pages/saturation.py", tiny_run("rnn"))
    assert any("no gates" in i.value for i in at.info)
    assert len(figures_of(at)) == 1  # the h_t histogram
    run = tiny_run("lstm")
    run.trainer.corpus = replace(run.corpus, train=(), dev=(), test=())  # nothing to sample
    at = open_with("app_pages/saturation.py", run)
    assert any("Measuring over one input" in i.value for i in at.info)
    assert len(figures_of(at)) == 2


# -- Gradients ---------------------------------------------------------------------------------------------------
def test_gradients_cold_start_interactions_and_bad_input():
    at = cold_start("app_pages/gradients.py")
    own, cmp, history = figures_of(at)
    names = [d["name"] for d in own["data"]]
    assert any("dL/dh_t" in n for n in names) and any("dL/dc_t" in n for n in names)
    assert any("forget-gate product" in n for n in names)
    assert own["layout"]["yaxis"]["type"] == "log"
    cmp_names = " ".join(d["name"] for d in cmp["data"])
    assert all(k in cmp_names for k in ("LSTM", "GRU", "RNN"))
    assert history["data"]  # per-gate gradient norms of the tutorial run
    at.radio(key="grad_layout").set_value("side_by_side").run()
    assert_clean(at)
    assert "xaxis3" in figures_of(at)[1]["layout"]
    at.number_input(key="grad_seed").set_value(7).run()
    assert_clean(at)
    check_bad_inputs(at, "grad_text")
    assert any("first 200 of 2000" in i.value for i in at.info)
    assert array(figures_of(at)[0]["data"][0]["x"]).size == 200


def test_gradients_gru_rnn_and_from_file():
    at = open_with("app_pages/gradients.py", tiny_run("gru", bidirectional=True))
    at.radio(key="grad_direction").set_value(1).run()
    assert_clean(at)
    assert any("update-gate product" in d["name"] for d in figures_of(at)[0]["data"])
    at = open_with("app_pages/gradients.py", tiny_run("rnn"))
    own = figures_of(at)[0]
    assert not any("product" in d["name"] for d in own["data"])
    at = open_with("app_pages/gradients.py", tiny_run("lstm"), as_file=True)
    assert any("loaded from a file" in i.value for i in at.info)
    assert len(figures_of(at)) == 2


def test_a_run_reloaded_from_a_checkpoint_without_its_data():
    """A checkpoint reloaded on the Train page: no training events, no train config, no corpus."""
    from lstm_viz.training.checkpoint import Bundle
    from lstm_viz.training.loaded_run import LoadedRun

    trained = tiny_run("lstm").trainer
    run = LoadedRun("reloaded", trained.model, Bundle(trained.model_config, trained.encoder), None,
                    dataset="tagger.pt")
    at = open_with("app_pages/gradients.py", run)
    assert any("no training history" in i.value for i in at.info)
    assert len(figures_of(at)) == 2
    at = open_with("app_pages/saturation.py", run)
    assert any("Measuring over one input" in i.value for i in at.info)
    assert len(figures_of(at)) == 2
    for page in ("app_pages/gates.py", "app_pages/truth_table.py"):
        at = open_with(page, run)
        assert figures_of(at)

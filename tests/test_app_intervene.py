"""AppTest of the Interventions page in the real app: cold start, clamping, silencing, a GRU, and choices
that leave nothing to change."""
from __future__ import annotations

import json

import pytest

from .apptest_util import assert_clean, open_page
from .test_app_analysis_pages import array, cold_start, open_with, tiny_run

pytestmark = pytest.mark.timeout(240)
PAGE = "app_pages/intervene.py"


def prediction_rows(at):
    frames = at.dataframe
    assert frames, "no predictions table"
    return frames[0].value


def test_clamping_the_forget_gate_changes_the_tutorial_taggers_states():
    at = cold_start(PAGE)
    assert [c.proto.spec for c in at.get("plotly_chart")], "no figures"
    # default: clamp i of unit 0 to 0 over the whole sentence
    at.selectbox(key="intervene_what").set_value("f").run()
    at.toggle(key="intervene_all").set_value(True).run()
    assert at.slider(key="intervene_value_f").value == 1.0  # f's own default: keep everything
    at.slider(key="intervene_value_f").set_value(0.0).run()
    assert_clean(at)
    rows = prediction_rows(at)
    assert list(rows["token"]) == ["The", "dog", "ate", "the", "apple"]
    assert set(rows.columns) == {"token", "before", "after", "changed"}
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figs) == 5  # f before/after, h before/after, the change per step
    before_f, after_f = array(figs[0]["data"][0]["z"]), array(figs[1]["data"][0]["z"])
    assert (after_f == 0).all() and (before_f > 0.05).all()  # f clamped to 0 everywhere
    bars = figs[-1]["data"][0]
    change = array(bars["y"])
    assert bars["type"] == "bar" and change.shape == (5,)
    assert change[0] == 0 and (change[1:] > 1e-4).all()  # c_{-1} = 0: forgetting it changes nothing at step 0
    assert any("changed" in m.value for m in at.markdown)


def test_silencing_units_and_an_empty_choice():
    at = cold_start(PAGE)
    at.selectbox(key="intervene_what").set_value("silence").run()
    at.multiselect(key="intervene_units").set_value([0, 1, 2]).run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 3  # h before/after, change
    at.multiselect(key="intervene_units").set_value([]).run()
    assert_clean(at)
    assert any("at least one unit" in i.value for i in at.info)


def test_a_gru_model():
    at = open_with(PAGE, tiny_run("gru"))
    options = at.selectbox(key="intervene_what").options
    assert options == ["clamp r: reset gate", "clamp z: update gate", "clamp n: candidate",
                       "silence units (h_t = 0)"], options
    at.selectbox(key="intervene_what").set_value("z").run()
    at.slider(key="intervene_value_z").set_value(1.0).run()
    assert_clean(at)
    rows = prediction_rows(at)
    assert len(rows) == 5
    change = array(json.loads(at.get("plotly_chart")[-1].proto.spec)["data"][0]["y"])
    assert change.shape == (5,) and change[0] > 0  # z = 1 keeps h_0 = 0 from the first step on


def test_page_opens_without_a_model():
    at = open_page(PAGE)
    assert_clean(at)
    assert any("No model" in i.value for i in at.info)

"""The app with a link: projector mode from ?projector=1, a view's state written to the URL and restored in a
fresh session, one input shared by every page, and hostile parameters answered with a message while the page
keeps working (AppTest: the real app, router and sidebar)."""
from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lstm_viz.teaching.builtin import available_builtins

from .apptest_util import APP, assert_clean

pytestmark = pytest.mark.timeout(240)


def open_with(params: dict, page: str = "app_pages/gates.py", first_run: list | None = None) -> AppTest:
    """A fresh session opened with these URL parameters, then on `page` (AppTest starts on Home; the
    warnings of that first run are appended to `first_run`)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if first_run is not None:
        first_run.append(warnings_of(at))
    at.switch_page(page)
    at.run()
    return at


def figures_of(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def warnings_of(at) -> str:
    return "\n".join(w.value for w in at.warning)


def require_builtin() -> str:
    specs = available_builtins()
    if not specs:
        pytest.skip("no built-in trained model in lstm_viz/teaching/models "
                    "(build them with python -m lstm_viz.teaching)")
    return "builtin:" + specs[0].key


def test_hostile_parameters_get_a_message_and_the_page_works() -> None:
    first: list = []
    at = open_with({"model": "run:../../etc/passwd", "input": "x" * 10_240, "layer": "abc", "units": "1,2,x",
                    "gate": "<script>alert(1)</script>", "token": "-3", "projector": "2", "foo": "bar"},
                   first_run=first)
    assert_clean(at)
    said = first[0]
    for expected in ("'model' must look like", "10,240 characters", "'layer' must be a whole number",
                     "'units' must be a whole number", "'gate' must be one of", "'token' must be a whole number",
                     "'projector' must be 1 or 0", "Unknown URL parameter 'foo'"):
        assert expected in said, expected
    assert "<script>" not in said and "../../etc" not in said  # a hostile value is never echoed
    assert figures_of(at), "the Gates page still draws its heatmaps"
    assert "could not be followed" not in warnings_of(at)  # said once; the page keeps working
    at.run()
    assert_clean(at)


def test_values_the_model_lacks_are_ignored_with_a_message() -> None:
    model = require_builtin()
    at = open_with({"model": model, "layer": "7", "units": "999", "token": "500"})
    assert_clean(at)
    said = warnings_of(at)
    assert "layer 7, which does not exist here" in said and "unit 999, which does not exist here" in said
    assert "token 500, which does not exist here" in said
    assert figures_of(at)


def test_a_missing_model_says_so_and_offers_the_builtin() -> None:
    require_builtin()
    at = open_with({"model": "run:My own tagger", "input": "the cat sat"})
    assert_clean(at)
    assert "**My own tagger**" in warnings_of(at) and "does not have" in warnings_of(at)
    assert at.text_input(key="gates_text").value == "the cat sat"  # the rest of the view still applies
    assert any(b.label == "Dismiss" for b in at.button)


def test_projector_parameter_switches_the_mode_and_the_figures() -> None:
    require_builtin()
    at = open_with({"projector": "1"})
    assert_clean(at)
    assert at.toggle(key="lv_projector").value is True
    figs = figures_of(at)
    heat = figs[0]["layout"]
    assert heat["xaxis"]["tickfont"]["size"] >= 18 and heat["yaxis"]["tickfont"]["size"] >= 18
    assert sum(k.startswith("xaxis") for k in heat) == 1  # one gate at a time
    at.button(key="gates_next_panel").click().run()
    assert at.query_params["gate"] == "f"  # the next gate, and it is in the URL
    assert at.query_params["projector"] == "1"


def test_a_view_written_to_the_url_opens_the_same_in_a_fresh_session() -> None:
    model = require_builtin()
    at = open_with({"model": model})
    at.text_input(key="gates_text").set_value("the dog saw a cat").run()
    box = at.selectbox(key="gates_unit")
    unit = int(box.options[-1].split()[1])  # options read "unit 5" (or "unit 5 (variance ...)")
    box.set_value(unit).run()
    at.button(key="gates_next").click().run()  # step to the second token
    at.run()  # the URL is written at the end of the page's run
    assert_clean(at)
    params = {k: v if isinstance(v, str) else v[-1] for k, v in at.query_params.items()}
    assert params["model"] == model and params["input"] == "the dog saw a cat" and params["units"] == str(unit)
    fresh = open_with(params)
    assert_clean(fresh)
    assert fresh.text_input(key="gates_text").value == "the dog saw a cat"
    assert fresh.selectbox(key="gates_unit").value == unit
    assert figures_of(fresh)[0]["data"][0]["x"] == figures_of(at)[0]["data"][0]["x"]
    assert "Token 2 of" in "".join(m.value for m in fresh.markdown)


def test_one_input_is_shared_by_every_page() -> None:
    require_builtin()
    at = open_with({})
    at.text_input(key="gates_text").set_value("a tiny shared sentence").run()
    for page, key in (("app_pages/truth_table.py", "truth_text"), ("app_pages/gradients.py", "grad_text")):
        at.switch_page(page).run()
        assert_clean(at)
        assert at.text_input(key=key).value == "a tiny shared sentence", page

"""The pages' server-wide cache never mixes models: two shared models on the same sentence get their own
results, a second session on a shared model is served the first one's results, and a session's own trained
model is never cached for others."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from .apptest_util import APP, assert_clean, button, open_page

pytestmark = pytest.mark.timeout(300)
SENTENCE = "The dog ate the apple"


def _gates_heatmap(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _on_gates_with(at: AppTest, picker_key: str) -> dict:
    at.sidebar.selectbox(key="model_picker").select(picker_key)
    at.run()
    at.switch_page("app_pages/gates.py")
    at.run()
    at.text_input(key="gates_text").input(SENTENCE).run()
    assert_clean(at)
    return _gates_heatmap(at)


def test_two_models_on_one_sentence_never_share_results():
    from app_pages._common import view_cache

    at = open_page("app_pages/gates.py")
    builtin = _on_gates_with(at, "builtin:tutorial-tagger")
    after_builtin = view_cache().stats()
    assert after_builtin.misses >= 3  # trace, prediction, gates view of the built-in model
    # the same sentence on the tutorial trained once per server (a SharedRun: also cached server-wide)
    at.switch_page("app_pages/tutorial_tagger.py")
    at.run()
    button(at, "Train it now").click()
    at.run()
    shared_key = at.session_state["model_picker"]
    assert shared_key.startswith("run:")
    shared = _on_gates_with(at, shared_key)
    assert view_cache().stats().misses > after_builtin.misses  # its own entries, not the built-in model's
    run = at.session_state["lstm_viz_state"].runs[shared_key[4:]]
    assert {key[0] for key in view_cache().keys()} == {"builtin:ewt-pos-lstm", "builtin:tutorial-tagger",
                                                       "shared-run:" + run.key}  # the page opened on EWT
    assert [t["name"] for t in builtin["data"]] == [t["name"] for t in shared["data"]]  # same shape of figure
    assert [t["z"] for t in builtin["data"]] != [t["z"] for t in shared["data"]]  # different models' values

    # a second session on the same shared model and sentence is served from the cache: no new computation
    before = view_cache().stats()
    other = AppTest.from_file(APP, default_timeout=120)
    other.run()
    other.sidebar.selectbox(key="model_picker").select("builtin:tutorial-tagger").run()
    other.switch_page("app_pages/gates.py")
    other.run()
    other.text_input(key="gates_text").input(SENTENCE).run()
    assert_clean(other)
    assert _gates_heatmap(other) == builtin
    assert view_cache().stats().hits > before.hits

    # the session's own run ("Train it anew": its own weights) is never put in the server's cache
    at.switch_page("app_pages/tutorial_tagger.py")
    at.run()
    button(at, "Train it anew").click()
    at.run()
    at.run()
    own_key = at.session_state["model_picker"]
    assert own_key.startswith("run:") and own_key != shared_key
    before = view_cache().stats()
    own = _on_gates_with(at, own_key)
    assert view_cache().stats() == before  # nothing looked up, nothing kept: the session keeps its own results
    assert own["data"][0]["name"] == builtin["data"][0]["name"]

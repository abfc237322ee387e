"""Start the browser loading Streamlit's plotly bundle early. The bundle (PlotlyChart.js, 4.7 MB) is fetched
only when a page's first chart arrives, and loading and running it takes 2-4 s on 2 cores: the longest part of
a fresh browser's wait for a page's first chart. An empty, invisible chart sent at the very start of a session's
first run makes the browser load it while the page's own run goes on. router.py empties it again before
the page draws (after the page it could not: a page that calls st.stop() ends the run for every later element);
on a warm server that comes so soon that the browser may never mount it, which costs nothing either.
The home page is the exception: its picture is plain HTML (no chart library), and running the bundle would hold
the browser's main thread for seconds before painting it. So a session that opens on the home page requests the
bundle 0.7 s after the picture (a fragment's timer), mostly loaded by the time the user clicks on to a chart.
Torch-free, so that router.py can send it before importing the rest."""
from __future__ import annotations

from typing import Optional

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

_SENT_KEY = "_lv_chart_bundle_sent"
_KEY = "lv_chart_bundle"
# out of sight but laid out (an element of width 0 or display:none may never mount the chart, and never load it)
_CSS = f".st-key-{_KEY}{{position:absolute;left:-2000px;top:0;width:300px;height:1px;overflow:hidden}}"
# made once (plotly validates a new Figure for ms); no axes, so no tick labels anywhere on the page
_EMPTY = go.Figure(layout={"width": 300, "height": 10, "xaxis": {"visible": False}, "yaxis": {"visible": False}})
LATE_DELAY_S = 0.7  # the home page asks for the bundle this long after its picture (painted 0.2-0.4 s after)
HOME_PATHS = ("", "home")  # the URL paths of the home page (router.py: home.py is the default page)


def _opening_home() -> bool:
    """Whether this run is for the home page, read from the run's request (Streamlit is pinned: pyproject.toml).
    Unknown -> False (the early request, as on every other page)."""
    ctx = get_script_run_ctx()
    name = getattr(getattr(ctx, "pages_manager", None), "intended_page_name", None)
    return isinstance(name, str) and name.strip("/").lower() in HOME_PATHS


def request_chart_bundle() -> Optional[st.delta_generator.DeltaGenerator]:
    """On a session's first run: an invisible empty chart; returns its placeholder, to be emptied before the page
    draws (None on later runs, when the browser has the bundle already, and on the home page, which requests it
    after its picture: `request_chart_bundle_after_page`). Every run makes the placeholder, so the page's elements
    keep their places from run to run (else the first run's would stay on screen, shifted, next to the second
    run's until it ended: two "Start training" buttons)."""
    slot = st.empty()
    if st.session_state.get(_SENT_KEY) or _opening_home():
        return None
    _send(slot)
    return slot


def request_chart_bundle_after_page(delay_s: float = LATE_DELAY_S) -> None:
    """The home page's request, `delay_s` after the page, by a fragment's timer: sent with the picture, the
    browser would fetch and run the bundle before painting the picture (a 1.5-3 s task). The timer's first run
    sends the invisible chart (the browser mounts it and starts loading the bundle); its second reruns the app
    once, which stops the timer."""
    if st.session_state.get(_SENT_KEY):
        return
    st.fragment(_late_request, run_every=delay_s)()


def _late_request() -> None:
    if not getattr(get_script_run_ctx(), "fragment_ids_this_run", None):
        return  # the page's own run: only the timer's runs send
    if not st.session_state.get(_SENT_KEY):
        _send(st.empty())
    else:
        st.rerun(scope="app")  # the page again (from its caches), now without the timer


def _send(slot: st.delta_generator.DeltaGenerator) -> None:
    st.session_state[_SENT_KEY] = True
    with slot.container(key=_KEY):
        st.html(f"<style>{_CSS}</style>")
        st.plotly_chart(_EMPTY, key=f"{_KEY}_chart",
                        config={"displayModeBar": False, "staticPlot": True})

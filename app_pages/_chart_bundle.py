"""Start the browser loading Streamlit's plotly bundle at once. The bundle (PlotlyChart.js, 4.7 MB) is fetched
only when a page's first chart arrives, and loading and running it takes 2-3 s on 2 cores: the longest part of
a fresh browser's wait for the first heatmap. An empty, invisible chart sent at the very start of a session's
first run makes the browser load it while a fresh server imports torch (seconds). app.py empties it again before
the page draws (after the page it could not: a page that calls st.stop() ends the run for every later element);
on a warm server that comes so soon that the browser may never mount it, which costs nothing either. Torch-free,
so that app.py can send it before importing the rest."""
from __future__ import annotations

from typing import Optional

import plotly.graph_objects as go
import streamlit as st

_SENT_KEY = "_lv_chart_bundle_sent"
_KEY = "lv_chart_bundle"
# out of sight but laid out (an element of width 0 or display:none may never mount the chart, and never load it)
_CSS = f".st-key-{_KEY}{{position:absolute;left:-2000px;top:0;width:300px;height:1px;overflow:hidden}}"
_EMPTY = go.Figure(layout={"width": 300, "height": 10})  # made once: plotly validates a new Figure for ms


def request_chart_bundle() -> Optional[st.delta_generator.DeltaGenerator]:
    """On a session's first run: an invisible empty chart; returns its placeholder, to be emptied before the page
    draws (None on later runs, when the browser has the bundle already). Every run makes the placeholder, so the
    page's elements keep their places from run to run (else the first run's would stay on screen, shifted, next to
    the second run's until it ended: two "Start training" buttons)."""
    slot = st.empty()
    if st.session_state.get(_SENT_KEY):
        return None
    st.session_state[_SENT_KEY] = True
    with slot.container(key=_KEY):
        st.html(f"<style>{_CSS}</style>")
        st.plotly_chart(_EMPTY, key=f"{_KEY}_chart",
                        config={"displayModeBar": False, "staticPlot": True})
    return slot

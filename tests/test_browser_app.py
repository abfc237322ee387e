"""Real browser: train live, stop, then open the Gates page and read a gate value off the heatmap."""
import re

import pytest

from .browser_util import browser_page, no_exception_on_page, pick, require_browser, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# the forget gate's values as drawn, read in one step: null while a rerun redraws the chart (seen under load)
READ_FORGET_Z = ("() => { const p = document.querySelector('.js-plotly-plot');"
                 " const t = p && p._fullData && p._fullData.find(t => (t.name || '').startsWith('f'));"
                 " return t ? Array.from(t.z, r => Array.from(r)) : null; }")


def test_train_stop_and_read_a_gate_value():
    require_browser()
    with streamlit_server() as url, browser_page() as page:
        page.goto(url + "/train", wait_until="networkidle")
        page.get_by_role("button", name="Start training").wait_for()
        pick(page, "Preset", "pos-bilstm-char")  # a few thousand steps: long enough to stop it midway
        page.wait_for_timeout(500)
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Start training").click()
        main = page.get_by_test_id("stMainBlockContainer")  # the header has its own "Stop" (script) button
        stop = main.get_by_role("button", name="Stop")
        stop.wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"step [1-9]")).first.wait_for(timeout=60_000)  # it is really training
        screenshot(page, "train_running")
        stop.click()
        page.get_by_text(re.compile("stopped", re.I)).first.wait_for(timeout=10_000)
        no_exception_on_page(page)
        screenshot(page, "train_stopped")

        page.get_by_role("link", name="Gates").click()
        drawn = ("() => { const p = document.querySelector('.js-plotly-plot');"
                 " return p && p._fullData && p._fullData.length > 0; }")
        page.wait_for_function(drawn, timeout=60_000)
        page.wait_for_load_state("networkidle")
        no_exception_on_page(page)
        z = page.wait_for_function(READ_FORGET_Z, timeout=60_000).json_value()
        values = [v for row in z for v in row if v is not None]
        assert values and all(0.0 <= v <= 1.0 for v in values)  # a sigmoid gate, read as the browser drew it
        screenshot(page, "gates_after_stop")

"""Real browser: train live, stop, then open the Gates page and read a gate value off the heatmap."""
import re

import pytest

from .browser_util import browser_page, no_exception_on_page, require_browser, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

READ_Z = "(i) => Array.from(document.querySelectorAll('.js-plotly-plot')[0]._fullData[i].z, r => Array.from(r))"
TRACE_NAMES = "() => document.querySelectorAll('.js-plotly-plot')[0]._fullData.map(t => t.name || '')"


def pick(page, label: str, option: str) -> None:
    """Choose an option of a Streamlit selectbox by its label."""
    page.locator('[data-testid="stSelectbox"]', has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


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
        # under load a rerun after the click drew the chart anew (once seen gone at this point): read it once it is back
        page.wait_for_function(drawn, timeout=60_000)
        no_exception_on_page(page)
        names = page.evaluate(TRACE_NAMES)
        forget = next(i for i, n in enumerate(names) if n.startswith("f"))
        z = page.evaluate(READ_Z, forget)
        values = [v for row in z for v in row if v is not None]
        assert values and all(0.0 <= v <= 1.0 for v in values)  # a sigmoid gate, read as the browser drew it
        screenshot(page, "gates_after_stop")

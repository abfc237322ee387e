"""The Interventions page in a real browser at 1280x720: before and after side by side, predictions, and the
change per step after clamping the forget gate of every unit to 0."""
from __future__ import annotations

import pytest

from .browser_util import browser_page, no_exception_on_page, require_browser, screenshot, streamlit_server
from .test_browser_app import pick

pytestmark = pytest.mark.timeout(300)

PLOTS_DRAWN = ("n => { const p = document.querySelectorAll('.js-plotly-plot');"
               " return p.length >= n && [...p].every(q => q._fullData && q._fullData.length > 0); }")
ONE_ALL_UNITS = "() => [...document.querySelectorAll('p')].filter(p => p.textContent == 'All units').length == 1"
# the forget-gate heatmaps (before, after): z of their first trace, flattened
READ_F = ("() => [...document.querySelectorAll('.js-plotly-plot')].slice(0, 2)"
          ".map(p => Array.from(p._fullData[0].z).flatMap(r => Array.from(r)))")


def test_before_and_after_an_intervention_side_by_side():
    require_browser()
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(url + "/intervene", wait_until="networkidle")
        page.get_by_role("button", name="Train the tutorial tagger").click()
        page.wait_for_function(PLOTS_DRAWN, arg=3, timeout=60_000)
        # the built-in model's plots are there before the click's rerun: wait for the tutorial tagger's own
        # (6 units x 5 tokens), or the widgets below would be those of the page being replaced
        page.wait_for_function(f"() => {{ const z = ({READ_F})(); return z.length == 2 && z[0].length == 30; }}",
                               timeout=60_000)
        no_exception_on_page(page)
        pick(page, "Change", "clamp f: forget gate")
        page.wait_for_timeout(300)
        page.wait_for_function(ONE_ALL_UNITS, timeout=30_000)  # the rerun has replaced the previous toggle
        page.get_by_text("All units").click()
        page.wait_for_function(PLOTS_DRAWN, arg=5, timeout=60_000)
        # the page reruns after each widget: wait until the redrawn "after" panel shows the clamp on every unit
        page.wait_for_function(f"() => {{ const z = ({READ_F})(); return z.length == 2 && z[1].length == 30"
                               " && z[1].every(v => v == 1); }", timeout=60_000)
        no_exception_on_page(page)
        before, after = page.evaluate(READ_F)
        assert min(before) > 0.05 and set(after) == {1.0}  # the slider's default for f: clamp to 1 (keep all)
        assert page.get_by_text("Predictions:").count() == 1
        boxes = [page.locator('.js-plotly-plot').nth(k).bounding_box() for k in range(2)]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1
        screenshot(page, "intervene_forget_clamped")
        for k, name in ((0, "intervene_heatmaps"), (4, "intervene_change_per_step")):
            page.locator('.js-plotly-plot').nth(k).scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            screenshot(page, name)

"""Real browser: the tutorial tagger page trains and renders its gate heatmap."""
import pytest

from .browser_util import browser_page, no_exception_on_page, require_browser, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def test_tutorial_tagger_in_chromium():
    require_browser()
    with streamlit_server() as url, browser_page() as page:
        page.goto(url + "/tutorial_tagger", wait_until="networkidle")
        page.get_by_role("button", name="Train it now").click()
        page.get_by_text("Predicted tags:").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        text = page.locator('[data-testid="stMarkdownContainer"]', has_text="Predicted tags:").inner_text()
        assert "The/DET" in text.replace(" ", "") and "dog/NN" in text.replace(" ", "")
        # the heatmap really drew: one heatmap trace per gate, cell and hidden (6 for an LSTM: i, f, g, o, c, h)
        n_traces = page.evaluate("() => document.querySelector('.js-plotly-plot').data.length")
        assert n_traces == 6
        z = page.evaluate(  # the forget gate's values as plotly.js decoded them: [units][tokens]
            "() => Array.from(document.querySelector('.js-plotly-plot')._fullData[1].z, r => Array.from(r))")
        assert len(z) == 6 and len(z[0]) == 5
        assert all(0 <= v <= 1 for row in z for v in row)
        no_exception_on_page(page)
        screenshot(page, "tutorial_tagger")

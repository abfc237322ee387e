"""Real browser, cold start: a fresh server and a fresh browser context at 1280x720 see a trained built-in model's
forget gate on the home page with no click, then the Gates page in one click, each heatmap inside the first screen
(no scrolling) and its gates saturated. The seconds from navigation to the heatmap being drawn are printed, never
asserted (a machine shared with other work is slow, not broken)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from .browser_util import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, no_exception_on_page, require_browser, \
    streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

VIEWPORT = {"width": 1280, "height": 720}
HEATMAP = ".js-plotly-plot .hm image"  # plotly draws each heatmap panel as one <image>
HOME_HEATMAP = ".lvh .lvh-c"  # the home page's picture: plain HTML cells (figures/html_heatmap.py)
# the home picture: its box, its gate and the values of its cells
HOME_PICTURE = """() => { const h = document.querySelector('.lvh'); const b = h.getBoundingClientRect();
  return {box: {left: b.left, top: b.top, right: b.right, bottom: b.bottom}, gate: h.dataset.gate,
          values: Array.from(h.querySelectorAll('.lvh-c')).map(c => parseFloat(c.dataset.v))}; }"""
# the first chart's first panel: its title, cells and token labels (the whole chart when it has one panel)
FIRST_PANEL = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  const panel = plot.querySelector('.cartesianlayer .subplot.xy');
  const boxes = [panel, plot.querySelector('.infolayer .annotation')].filter(Boolean)
    .map(e => e.getBoundingClientRect());
  return {left: Math.min(...boxes.map(b => b.left)), top: Math.min(...boxes.map(b => b.top)),
          right: Math.max(...boxes.map(b => b.right)), bottom: Math.max(...boxes.map(b => b.bottom)),
          panels: plot.querySelectorAll('.cartesianlayer .subplot').length};
}"""
# the Gates page's stacked heatmaps (every gate and state) are drawn: the first chart has several panels
GATES_PAGE_DRAWN = """() => { const plot = document.querySelector('.js-plotly-plot');
  return !!plot && plot.querySelectorAll('.cartesianlayer .subplot').length > 1
    && !!plot.querySelector('.hm image'); }"""
WHOLE_CHART = """() => { const b = document.querySelector('.js-plotly-plot').getBoundingClientRect();
  return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; }"""
# the sigmoid gates plotly drew (name -> z values), read from the chart in the page
GATES = """() => Object.fromEntries(document.querySelector('.js-plotly-plot')._fullData
  .filter(t => ['i', 'f', 'o'].includes(t.name)).map(t => [t.name, t.z]))"""


def _inside(box: dict, what: str) -> None:
    assert box["top"] >= 0 and box["left"] >= 0, f"{what} starts outside the screen: {box}"
    assert box["bottom"] <= VIEWPORT["height"] and box["right"] <= VIEWPORT["width"], \
        f"{what} reaches past the 1280x720 screen (needs scrolling): {box}"


def _saturated_share(page) -> float:
    gates = page.evaluate(GATES)
    assert gates, "the chart shows no sigmoid gate"
    return _saturated(np.concatenate([np.asarray(z, dtype=float).ravel() for z in gates.values()]))


def _saturated(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    assert values.size
    return float(((values < 0.1) | (values > 0.9)).mean())


def _heatmap_seconds(page, start: float, heatmap: str = HEATMAP) -> float:
    page.locator(heatmap).first.wait_for(state="visible", timeout=180_000)
    return time.perf_counter() - start


def test_cold_start_shows_a_trained_gate_heatmap_on_the_first_screen():
    require_browser()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    timings = []
    launched = time.perf_counter()
    with streamlit_server() as url, sync_playwright() as p:
        # `streamlit run` answers once torch and the default model are loaded (app_pages/_server_start.py)
        ready = time.perf_counter() - launched
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # 1. default mode, as a new user: the home page shows a trained model's forget gate with no click ...
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(180_000)
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            timings.append(("fresh server, home page, no click", _heatmap_seconds(page, start, HOME_HEATMAP)))
            page.wait_for_timeout(500)
            no_exception_on_page(page)
            page.screenshot(path=str(SCREENSHOTS / "cold_start_home_1280x720.png"))
            picture = page.evaluate(HOME_PICTURE)
            _inside(picture["box"], "the home page's gate heatmap")
            assert picture["gate"] == "f" and len(picture["values"]) == 16 * 5  # 16 units x "The dog ate the food"
            assert _saturated(np.array(picture["values"])) >= 0.25  # a trained model: gates mostly shut or open
            # ... and one click on "Gates" in the sidebar shows every gate
            start = time.perf_counter()
            page.get_by_role("link", name="Gates", exact=True).click()  # click 1 of at most 2
            page.wait_for_function(GATES_PAGE_DRAWN, timeout=180_000)  # not the home page's chart still there
            timings.append(("then 1 click on Gates", time.perf_counter() - start))
            page.wait_for_timeout(500)  # let plotly finish laying the chart out
            no_exception_on_page(page)
            page.screenshot(path=str(SCREENSHOTS / "cold_start_gates_1280x720.png"))
            panel = page.evaluate(FIRST_PANEL)
            assert panel["panels"] > 1  # every gate and state, stacked ...
            _inside(panel, "the input gate's panel")  # ... the first of them whole on the first screen
            assert _saturated_share(page) >= 0.25  # a trained model: gates mostly shut or open
            context.close()

            # 2. a server already running (the lecturer started it before class), a fresh browser: the home picture
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(180_000)
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            timings.append(("running server, fresh browser context, home page, no click",
                            _heatmap_seconds(page, start, HOME_HEATMAP)))
            assert _saturated(np.array(page.evaluate(HOME_PICTURE)["values"])) >= 0.25
            context.close()

            # 3. projector mode, a prepared link: no click, one panel at a time, the whole chart on screen
            for run in ("first", "second"):
                context = browser.new_context(viewport=VIEWPORT)
                context.set_default_timeout(180_000)
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/gates?projector=1", wait_until="domcontentloaded")
                timings.append((f"link ?projector=1, no click ({run} fresh context)", _heatmap_seconds(page, start)))
                page.wait_for_timeout(500)
                no_exception_on_page(page)
                page.screenshot(path=str(SCREENSHOTS / f"cold_start_gates_projector_{run}_1280x720.png"))
                _inside(page.evaluate(WHOLE_CHART), "the gate heatmap")
                assert _saturated_share(page) >= 0.25
                context.close()
        finally:
            browser.close()
    print(f"the server: `streamlit run` to ready (torch and the default model loaded): {ready:.1f} s")
    for what, seconds in timings:
        print(f"cold start to a trained model's gate heatmap, {what}: {seconds:.1f} s")

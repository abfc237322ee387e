"""What watching costs: training steps/s with the Train page open vs the Home page open, in a real browser.

    python benchmarks/bench_train_page.py [--preset pos-lecture] [--window 20] [--rounds 2]

Starts `streamlit run app.py`, opens it in Debian's Chromium (Playwright, 1280x720), starts a long run of
the preset on the Train page, then alternates: `window` seconds watching the Train page, `window` seconds on
Home. The step count is read from the sidebar's status line (a fragment redrawn every 2 s on every
page) at the moment it changes, so both readings of a window are exact steps at known times. Prints the
steps/s of each window and the ratio watched / not watched (the target is >= 0.95).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_util import browser_page, pick, press_stop, streamlit_server  # noqa: E402

STATUS = re.compile(r"running · step ([\d,]+)")


def sidebar_step(page, timeout_s: float = 60.0) -> tuple[float, int]:
    """(time, step) at the next redraw of the sidebar's status line."""
    status = page.get_by_test_id("stSidebar").get_by_text(STATUS)
    first = status.first.inner_text(timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        text = status.first.inner_text(timeout=timeout_s * 1000)
        if text != first:
            return time.perf_counter(), int(STATUS.search(text).group(1).replace(",", ""))
        page.wait_for_timeout(20)
    raise RuntimeError("the sidebar's step did not change: is the run still training?")


def browser_cpu_seconds() -> float:
    """User+system CPU seconds of every Chromium process so far (Linux /proc): what drawing the page costs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"chrom" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="pos-lecture", help="a preset of the Train page")
    ap.add_argument("--epochs", type=int, default=1000, help="long enough to outlast the measurement (the page "
                    "allows 1000: pos-lecture's ~60k steps last about 8 rounds of 15 s windows at 120 steps/s)")
    ap.add_argument("--window", type=float, default=20.0, help="seconds per measured window")
    ap.add_argument("--rounds", type=int, default=2, help="pairs of windows (watched, not watched)")
    args = ap.parse_args()
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(url + "/train", wait_until="networkidle")
        page.get_by_role("button", name="Start training").wait_for(timeout=180_000)  # a busy machine is slow
        pick(page, "Preset", args.preset)
        page.wait_for_timeout(500)
        epochs = page.get_by_label("Epochs")
        epochs.fill(str(args.epochs))
        epochs.press("Enter")
        page.wait_for_timeout(500)
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Start training").click()
        while sidebar_step(page, 120)[1] < 30:  # past the thread-count measurement of the first steps
            pass
        rates = {"Train page open": [], "Home page open": []}
        for _ in range(args.rounds):
            for label, link in (("Train page open", "Train"), ("Home page open", "Home")):
                page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
                page.wait_for_timeout(1500)  # the page has drawn
                t0, s0 = sidebar_step(page)
                b0 = browser_cpu_seconds()
                page.wait_for_timeout(args.window * 1000)
                t1, s1 = sidebar_step(page)
                browser = (browser_cpu_seconds() - b0) / (t1 - t0)
                rates[label].append((s1 - s0) / (t1 - t0))
                print(f"{label:16s} {rates[label][-1]:7.1f} steps/s  ({s1 - s0} steps in {t1 - t0:.1f} s); "
                      f"Chromium used {browser:.0%} of a core", flush=True)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
        stop = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=60_000)
        page.wait_for_timeout(3000)
        reacted, stopped_text = press_stop(page, stop, react_timeout_ms=30_000)
        print(f"Stop: the page said so {reacted:.2f} s after the click; {stopped_text}")
    watched, unwatched = (statistics.mean(rates[k]) for k in rates)
    print(f"\nmean: Train page open {watched:.1f} steps/s, Home page open {unwatched:.1f} steps/s, "
          f"ratio {watched / unwatched:.2f} (target >= 0.95)")


if __name__ == "__main__":
    main()

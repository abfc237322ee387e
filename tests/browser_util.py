"""Run the real app with `streamlit run` and drive it with Playwright in Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = Path(os.environ.get("LSTM_VIZ_SCREENSHOTS", ROOT / "runs" / "screenshots"))


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); browser tests skipped")
    pytest.importorskip("playwright.sync_api", reason="pytest-playwright is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(timeout: float = 60, console: Optional[Path] = None):
    """`streamlit run app.py` on 127.0.0.1 at a free port; yields the base URL once /_stcore/health answers.
    console: a file that gets the server's output as it prints it (else a pipe, read only if it fails)."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    out = console.open("w") if console is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                printed = (console.read_text() if console is not None
                           else proc.stdout.read() if proc.poll() is not None else "")
                raise RuntimeError(f"streamlit did not come up on {url}: {printed[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if console is not None:
            out.close()


@contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_exception_on_page(page) -> None:
    """Streamlit renders uncaught exceptions in an element with data-testid=stException."""
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def pick(page, label: str, option: str, tries: int = 4) -> None:
    """Choose `option` in the Streamlit selectbox labelled `label`. Under load a rerun can redraw the box between
    the click and the list opening, or a click only focuses it (seen in CI), so each try opens the list afresh
    and the choice counts once the box's input holds it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    field = box.get_by_role("combobox")  # Streamlit's selectbox is a combobox whose input holds the chosen value
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(tries):
        try:
            box.click()
            if not choice.is_visible():
                field.press("ArrowDown")  # opens the list where the click only focused the box
            choice.click(timeout=8_000)
            expect(field).to_have_value(option, timeout=8_000)
            return
        except (PlaywrightTimeout, AssertionError):
            page.keyboard.press("Escape")  # close a half-open list before the next try
    raise AssertionError(f"could not choose {option!r} in the selectbox {label!r} after {tries} tries")


def press_stop(page, stop, react_timeout_ms: int = 10_000) -> tuple[float, str]:
    """Click the Train page's Stop; -> (seconds until the page said it is stopping, the final "stopped at
    step N on request ..." text)."""
    import re
    import time

    clicked = time.perf_counter()
    stop.click()
    stopping = re.compile(r"stopping after this step|stopped at step", re.I)
    page.get_by_text(stopping).first.wait_for(timeout=react_timeout_ms)
    reacted = time.perf_counter() - clicked
    message = page.get_by_text(re.compile(r"stopped at step [\d,]+ on request")).first
    message.wait_for(timeout=60_000)
    return reacted, message.inner_text()

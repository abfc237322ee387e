"""The Your corpus page in a real browser at 1280x720: an uploaded corpus is matched, a binary file is refused
with a message and the page keeps working."""
from __future__ import annotations

import pytest

from .browser_util import browser_page, no_exception_on_page, require_browser, screenshot, streamlit_server

pytestmark = pytest.mark.timeout(300)

LINES = ["The dog ate the apple", "Everybody read that book", "The dog read the book", "that apple ate the dog"]


def test_upload_match_and_a_refused_file(tmp_path):
    require_browser()
    good = tmp_path / "mine.txt"
    good.write_text("\n".join(LINES * 50) + "\n", encoding="utf-8")
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(url + "/corpus", wait_until="networkidle")
        page.get_by_role("button", name="Train the tutorial tagger").click()
        page.get_by_text("Upload a file").click()
        page.get_by_text("Choose a file").wait_for(timeout=60_000)
        page.locator('input[type="file"]').set_input_files(str(bad))
        page.get_by_text("photo.txt is a binary file").wait_for(timeout=60_000)
        no_exception_on_page(page)
        screenshot(page, "corpus_binary_refused")
        page.locator('input[type="file"]').set_input_files(str(good))
        page.get_by_text("mine.txt: 200 sequences").wait_for(timeout=60_000)
        page.get_by_text("match(es)").first.wait_for(timeout=60_000)
        no_exception_on_page(page)
        screenshot(page, "corpus_uploaded")
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        screenshot(page, "corpus_match_heatmap")
        page.get_by_role("tab", name="Token drivers").click()
        page.get_by_text("co-clusters").wait_for(timeout=60_000)
        no_exception_on_page(page)
        screenshot(page, "corpus_token_drivers")

"""Hostile-input catalogue, real browser: hostile files uploaded through the Inspect page's file uploader in
Chromium end in a message on the page, never in an exception element."""
import pytest

from . import hostile_files as hf
from .browser_util import browser_page, no_exception_on_page, require_browser, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

UPLOADS = [  # (file name, builder, text the page must show)
    ("stride0.pt", lambda tmp: hf.stride0_state_dict(100_000), "stores only"),
    ("bomb.pt", lambda tmp: hf.deflated_torch_file(tmp / "b.pt", 320).read_bytes(), "once decompressed"),
    ("evil.pt", lambda tmp: hf.code_pickle(tmp / "pwned"), "Python objects"),
]


def test_hostile_uploads_in_a_real_browser(tmp_path):
    require_browser()
    files = []
    for name, build, needle in UPLOADS:
        path = tmp_path / name
        path.write_bytes(build(tmp_path))
        files.append((path, needle))
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(url + "/inspect_model", wait_until="networkidle")
        page.get_by_text("Upload a file or type its path").wait_for(timeout=60_000)
        for path, needle in files:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
            page.get_by_text(needle).first.wait_for(timeout=60_000)
            no_exception_on_page(page)
            screenshot(page, f"hostile_upload_{path.stem}")
    assert not (tmp_path / "pwned").exists()

"""Helpers for AppTest-driven page tests."""
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "router.py")  # the page script (app.py serves it)


def open_page(page: str, timeout: float = 60) -> AppTest:
    """A fresh session of the real app (router + sidebar) on one page (path relative to the repo)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page != "app_pages/home.py":
        at.switch_page(page)
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception shown on the page."""
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label_start: str):
    found = [b for b in at.button if b.label.startswith(label_start)]
    assert found, f"no button starting {label_start!r}; buttons: {[b.label for b in at.button]}"
    return found[0]

"""`streamlit run app.py` serves router.py through st.App, whose lifespan loads torch and the default built-in
model before the server takes its first request (app_pages/_server_start.py). The browser timings that follow
from it are in test_browser_cold_start.py."""
from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

from app_pages import _server_start
from lstm_viz.teaching.builtin import builtin_subject, default_builtin_key

from .browser_util import streamlit_server

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_run_finds_the_asgi_app_and_it_serves_the_router():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"
    spec = importlib.util.spec_from_file_location("lstm_viz_app_entry", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / module.app.script_path).resolve() == (ROOT / "router.py").resolve()
    assert module.app._user_lifespan is _server_start.ready_first


def test_the_lifespan_loads_the_default_model_before_serving(monkeypatch):
    builtin_subject.cache_clear()
    opened = []
    monkeypatch.setattr(_server_start, "_open_browser", lambda: opened.append(True))

    async def enter_and_leave():
        async with _server_start.ready_first(None):
            return builtin_subject.cache_info().currsize

    loaded = asyncio.run(enter_and_leave())
    assert "torch" in sys.modules and "app_pages._common" in sys.modules
    if default_builtin_key() is not None:
        assert loaded == 1  # the default model is in the cache every session reads
    assert opened == [True]


def test_a_failed_load_is_logged_and_the_server_starts_anyway(monkeypatch, caplog):
    def broken(_key):
        raise RuntimeError("checkpoint unreadable")

    monkeypatch.setattr("lstm_viz.teaching.builtin.builtin_subject", broken)
    monkeypatch.setattr("lstm_viz.teaching.builtin.default_builtin_key", lambda: "ewt-pos-lstm")
    with caplog.at_level(logging.ERROR, logger="lstm_viz.app"):
        seconds = _server_start.load_for_first_page()
    assert seconds >= 0
    assert "loading the app before the first request failed" in caplog.text
    assert "checkpoint unreadable" in caplog.text


def test_the_server_answers_only_once_the_app_is_loaded(tmp_path):
    """A real `streamlit run app.py`: its first HTTP answer comes after the load (its console line), never before."""
    log = tmp_path / "server.log"
    with streamlit_server(timeout=120, console=log):  # yields once /_stcore/health has answered
        console = log.read_text()  # what the server had printed when it first answered
    assert "lstm-viz is ready (torch and the default model loaded in" in console, console[-2000:]

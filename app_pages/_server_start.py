"""What `streamlit run app.py` does once, before the server takes its first request: import torch and the app's
modules and load the default built-in model (3-4 s on 2 cores). Done in a browser's first script run instead,
that wait came on top of the browser's own start and the first picture took 6-7 s; now the server answers
(and Streamlit's /_stcore/health says ok) only when the first page can be drawn at once."""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

LOG = logging.getLogger("lstm_viz.app")


def load_for_first_page() -> float:
    """Import what every page script imports and trace the default model once; -> seconds taken. A failure is
    logged, never raised: the pages load what they need themselves and say what went wrong."""
    start = time.perf_counter()
    try:
        import app_pages._common  # noqa: F401 - torch, lstm_viz, plotly: what router.py imports
        from lstm_viz.explore.subject import default_text
        from lstm_viz.teaching.builtin import builtin_subject, default_builtin_key

        key = default_builtin_key()
        if key is not None:
            subject = builtin_subject(key)  # lru-cached: the sessions share this one
            subject.trace(subject.input_from_text(default_text(subject)))  # torch's first forward pass
        gc.freeze()  # the imported libraries stay for good: later collections need not scan them
    except Exception:  # noqa: BLE001 - the server must start anyway
        LOG.exception("loading the app before the first request failed; the pages will load it themselves")
    return time.perf_counter() - start


def _open_browser() -> None:
    """What `streamlit run` does for a script without st.App, done here once the app is ready."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_util

    if config.get_option("server.headless"):
        return
    address = "localhost"
    if config.is_manually_set("browser.serverAddress"):
        address = config.get_option("browser.serverAddress")
    elif config.is_manually_set("server.address"):
        address = server_util.get_display_address(config.get_option("server.address"))
    cli_util.open_browser(server_util.get_url(address))


@asynccontextmanager
async def ready_first(_app) -> AsyncIterator[None]:
    """st.App's lifespan: the app loaded before uvicorn serves its first request."""
    seconds = await asyncio.to_thread(load_for_first_page)
    # the URL above is printed before this wait; a browser opened on it meanwhile is served once this ends
    print(f"  lstm-viz is ready (torch and the default model loaded in {seconds:.1f} s).\n", flush=True)
    _open_browser()
    yield

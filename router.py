"""lstm-viz's page script, run by Streamlit for every browser session: page config, navigation, the shared
sidebar. `streamlit run app.py` serves it (app.py loads torch and the default model first).
"""
from pathlib import Path

import streamlit as st

from app_pages._chart_bundle import request_chart_bundle

HERE = Path(__file__).resolve().parent
ICON = str(HERE / "app_pages" / "assets" / "icon.png")  # served by the app itself: no request leaves the machine

st.set_page_config(page_title="lstm-viz", page_icon=ICON, layout="wide")
CHART_BUNDLE = request_chart_bundle()  # before the imports below (seconds where app.py did not load them first)

from app_pages._common import SCRIPTS, sidebar, warm_up_torch  # noqa: E402
from app_pages.page_guard import run_page  # noqa: E402
from app_pages._view import (apply_page_css, follow_link_model, missing_model_notice, projector_on,  # noqa: E402
                             projector_switch, read_link_once, show_link_notes)

read_link_once()  # ?projector=1&model=...&input=... of the opening URL (checked; see app_pages/_view.py)
st.set_page_config(initial_sidebar_state="collapsed" if projector_on() else "auto")


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(f"app_pages/{file}", title=title, icon=icon, **kw)


def make_pages() -> dict[str, list[st.Page]]:
    """The navigation's pages (kept in the session: made once per session)."""
    return {
        "Start": [
            page("home.py", "Home", ":material/home:", default=True),
            page("tutorial_tagger.py", "Tutorial tagger", ":material/bolt:"),
            page("cell_anatomy.py", "Cell anatomy", ":material/biotech:"),
        ],
        "Train": [
            page("train.py", "Train", ":material/model_training:"),
            page("timeline.py", "Timeline", ":material/movie:"),
        ],
        "Look inside": [
            page("gates.py", "Gates", ":material/traffic:"),
            page("truth_table.py", "Truth table", ":material/table_chart:"),
            page("saturation.py", "Saturation", ":material/thermostat:"),
            page("gradients.py", "Gradients", ":material/trending_down:"),
            page("char_cells.py", "Character cells", ":material/code:"),
            page("intervene.py", "Interventions", ":material/science:"),
        ],
        "Your model": [
            page("inspect_model.py", "Inspect a model", ":material/folder_open:"),
            page("corpus.py", "Your corpus", ":material/library_books:"),
            page("export.py", "Export", ":material/download:"),
        ],
    }


def render() -> None:
    """Navigation, the shared sidebar and the page itself: all of it inside one guard (page_guard.run_page)."""
    with SCRIPTS.running():  # the torch warm-up waits for a moment without page scripts
        draw()


def draw() -> None:
    if "_lv_pages" not in st.session_state:  # once per session: st.Page resolves and checks its file when made
        st.session_state["_lv_pages"] = make_pages()
    navigation = st.navigation(st.session_state["_lv_pages"])
    follow_link_model()
    projector_switch()
    sidebar()
    apply_page_css()
    show_link_notes()
    missing_model_notice()
    if CHART_BUNDLE is not None:  # the browser has begun loading the bundle by now; after the page it could not
        CHART_BUNDLE.empty()  # go: a page that calls st.stop() ends the run for every later element
    try:
        navigation.run()
    finally:  # after the first page is drawn: the warm-up's imports would hold the GIL while it draws
        warm_up_torch()


run_page(render)  # no traceback reaches a user: a short message, logged on the server

"""lstm-viz: the Streamlit app. A router: page config, navigation, the shared sidebar.

    streamlit run app.py
"""
from pathlib import Path

import streamlit as st

from app_pages._common import sidebar

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="lstm-viz", page_icon="🔁", layout="wide")


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(f"app_pages/{file}", title=title, icon=icon, **kw)


PAGES = {
    "Start": [
        page("home.py", "Home", "🏠", default=True),
        page("tutorial_tagger.py", "Tutorial tagger", "⚡"),
        page("cell_anatomy.py", "Cell anatomy", "🔬"),
    ],
    "Train": [
        page("train.py", "Train", "🏋️"),
        page("timeline.py", "Timeline", "🎞️"),
    ],
    "Look inside": [
        page("gates.py", "Gates", "🚦"),
        page("truth_table.py", "Truth table", "🧮"),
        page("saturation.py", "Saturation", "🌡️"),
        page("gradients.py", "Gradients", "📉"),
    ],
    "Your model": [
        page("inspect_model.py", "Inspect a model", "📂"),
        page("export.py", "Export", "💾"),
    ],
}

navigation = st.navigation(PAGES)
sidebar()
navigation.run()

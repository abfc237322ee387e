"""lstm-viz: the Streamlit app. A router: page config, navigation, the shared sidebar.

    streamlit run app.py
"""
from pathlib import Path

import streamlit as st

from app_pages._common import sidebar, warm_up_torch

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="lstm-viz", page_icon=":material/repeat:", layout="wide")


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(f"app_pages/{file}", title=title, icon=icon, **kw)


PAGES = {
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
    ],
    "Your model": [
        page("inspect_model.py", "Inspect a model", ":material/folder_open:"),
        page("export.py", "Export", ":material/download:"),
    ],
}

warm_up_torch()
navigation = st.navigation(PAGES)
sidebar()
navigation.run()

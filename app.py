"""lstm-viz, the Streamlit app:

    streamlit run app.py

Streamlit serves router.py (page config, navigation, the shared sidebar) to every browser session. This file
only makes the server load torch and the default model before it takes its first request
(app_pages/_server_start.py): a browser opened on a just-started server then sees the first picture at once."""
import streamlit as st

from app_pages._server_start import ready_first

app = st.App("router.py", lifespan=ready_first)

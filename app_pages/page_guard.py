"""The app's last line of defence: a page that fails unexpectedly shows a short message, never a traceback
(which would show server paths and code to everyone in the room); the full error goes to the server's log."""
import logging
import secrets

import streamlit as st

LOG = logging.getLogger("lstm_viz.app")


def run_page(navigation) -> None:
    """`navigation.run()` (or `navigation()` for a plain function, e.g. router.py's whole render step), with any
    unexpected error shown as a short message and logged server-side.

    Streamlit's own control flow (st.stop, st.rerun, st.switch_page) raises BaseExceptions, which pass through.
    """
    try:
        navigation.run() if hasattr(navigation, "run") else navigation()
    except Exception:  # noqa: BLE001 - the whole point: nothing unexpected may reach the browser as a traceback
        error_id = secrets.token_hex(4)
        LOG.exception("page %s failed (error id %s)", getattr(navigation, "title", None) or getattr(
            navigation, "__name__", "?"), error_id)
        st.error(f"Something went wrong on this page (error id {error_id}); it was logged on the server. "
                 "Try again with another input or file, open another page, or reload the page.")

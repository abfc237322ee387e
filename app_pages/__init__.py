"""The app's Streamlit pages and what they share (router.py lists them)."""
import os

# Before torch loads OpenMP (app_pages' modules import it): idle OpenMP threads sleep instead of spinning.
# Spinning workers made every small analysis call (a trace of the tutorial model) cost 18 ms of CPU instead of
# 2 ms on a busy 2-core server, time taken from every other student's page. An operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

"""Serving many sessions from one app server: the server-wide training scheduler (a bounded number of runs
train at once, the rest wait in a fair queue), the resource limits it enforces (one config place), and the
cost model that sizes a run (training time and memory) from its configs before it starts. No Streamlit here:
the pages hold one scheduler per server process and pass it their session id."""

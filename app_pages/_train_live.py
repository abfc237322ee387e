"""The Train page's live view of a run: Stop (a fragment of its own), its place in the server's line while it
waits, status and metrics, and the curves and runs table (both paced by their measured cost, app_pages/_live.py)."""
import streamlit as st

from lstm_viz import figures
from lstm_viz.training.run import TRAINED_HERE
from lstm_viz.training.summary import curve_events, format_seconds, grad_norm_events, progress_text, run_row
from app_pages._common import activate_from_callback, state
from app_pages._live import measured
from app_pages._training_queue import queue_note, queue_state
from app_pages._view import figure_style

# Progress and metrics are redrawn every 4-6 s while training, paced by their measured cost (app_pages/_live.py);
# Stop has a fragment of its own, so a click on it redraws only the button. Each redraw is a Streamlit script run
# (~20-100 ms of the GIL that the training thread then waits for), and costs the browser on the same cores too
# (Chromium's CPU profile of a watched pos-lecture run: ~110 ms of React per status redraw, ~300 ms of plotly.js
# per redraw of the two charts): the curves redraw at most every CHARTS_EVERY_S, and only with new events.
STATUS_EVERY_S = 4.0
STATUS_SLOWEST_S = 6.0
CHARTS_EVERY_S = 8.0


def queued_runs() -> dict:
    """run name -> the server queue's run id, for this session's runs started on this page."""
    return st.session_state.setdefault("tr_queue", {})


def is_waiting(run) -> bool:
    """The run waits in the server's line (its Trainer has not started)."""
    return run.status == "idle" and queue_state(queued_runs().get(run.name)) == "queued"


def is_active(run) -> bool:
    """Training, or waiting in the server's line to train."""
    return run.is_running or is_waiting(run)


def _drop_cancelled(name: str):
    def drop(run_id: str) -> None:  # Cancel's callback: the run never trained, so the session forgets it
        from app_pages._training_queue import training_scheduler

        training_scheduler().forget(run_id)
        s = state()
        s.runs.pop(name, None)
        queued_runs().pop(name, None)
        if s.active == f"run:{name}":
            activate_from_callback(f"run:{list(s.runs)[-1]}" if s.runs else None)
    return drop


def stop_control(name: str) -> None:
    """Stop, alone in a fragment without a timer: a click reruns only this button (a few ms of the server's
    time even while the run holds the CPU), so "Stopping after this step..." shows at once; the status
    fragment says the same at its next redraw, and the whole page redraws when the run has ended."""
    run = state().runs.get(name)
    if run is None or not run.is_running:
        return
    stopping = run.stop_requested
    st.button("Stopping after this step..." if stopping else "Stop", key="tr_stop", on_click=run.stop,
              type="primary", disabled=stopping, icon=":material/stop_circle:",
              help="Stops after the current optimizer step and keeps the model")


def live_status(name: str, polling: bool, waited: bool = False) -> None:
    """Progress, status and the latest metrics of one run, or its place in the server's line (a fragment: every
    4-6 s while it trains or waits). waited: the page was drawn while the run waited in line."""
    with measured("status"):
        _status(name, polling, waited)


def _status(name: str, polling: bool, waited: bool) -> None:
    run = state().runs.get(name)
    if run is None:
        if polling:
            st.rerun()  # cancelled from the line: redraw the page without it
        return
    if is_waiting(run):
        st.subheader(f"Run: {run.name}")
        queue_note(queued_runs()[name], key="tr_queue", on_cancel=_drop_cancelled(name))
        return
    if waited:
        st.rerun()  # its turn came: redraw the whole page (Stop, the curves' timer)
    snap = run.snapshot()
    cfg = run.train_config
    st.subheader(f"Run: {run.name}")
    st.progress(float(snap.progress), text=progress_text(snap, cfg.epochs if cfg else None))
    stopping = snap.status == "running" and run.stop_requested
    note = {"running": st.info, "finished": st.success, "stopped": st.warning, "failed": st.error,
            "idle": st.info}[snap.status]
    note(f"**stopping after this step** (Stop pressed at step {snap.step:,})" if stopping
         else f"**{snap.status}**: {snap.message}")
    watcher = st.session_state.get("tr_alarms", {}).get(run.name)
    alarms = watcher.alarms if watcher is not None else ()
    for alarm in alarms:
        st.warning(alarm.message, icon=":material/warning:")
    for view in dict.fromkeys(alarm.view for alarm in alarms):  # each view that shows an alarm, once
        st.page_link(f"app_pages/{view}.py", label=f"See it on the {view.title()} page", icon=":material/warning:")
    m = snap.metrics
    cols = st.columns(5)
    pct = lambda k: f"{m[k]:.1%}" if k in m else "-"  # noqa: E731
    cols[0].metric("Loss", f"{m['loss']:.4f}" if "loss" in m else "-")
    cols[1].metric("Train accuracy", pct("accuracy"))
    cols[2].metric("Dev accuracy", pct("dev_accuracy"))
    cols[3].metric("Tokens / s", f"{m['tokens_per_s']:,.0f}" if "tokens_per_s" in m else "-")
    cols[4].metric("Elapsed", format_seconds(snap.elapsed_s))
    if polling and not is_active(run):
        st.rerun()  # the run ended: redraw the whole page (save button, start button, no more polling)


def live_charts(name: str) -> None:
    """Training curves, per-gate gradient norms and the runs table; redrawn at `redraw_every("train")` while
    the run trains. Figures are rebuilt only when the run has new events."""
    run = state().runs.get(name)
    if run is None:
        return
    with measured("train"):
        charts(run)


def charts(run) -> None:
    snap = run.snapshot()
    if snap.events:
        made = st.session_state.get("tr_figures")
        key = (run.name, run.created, len(snap.events), snap.events[-1].step, len(snap.evals), figure_style())
        if made is None or made[0] != key:
            norms = grad_norm_events(snap)
            made = st.session_state["tr_figures"] = (key, figures.training_curves(curve_events(snap), style=key[-1]),
                                                     figures.gate_grad_norm_curves(norms, style=key[-1])
                                                     if len(norms) >= 2 else None)  # one point draws no line
        st.plotly_chart(made[1], width="stretch", key="tr_curves")
        if made[2] is not None:
            st.plotly_chart(made[2], width="stretch", key="tr_norms")
        elif snap.status == "running":
            st.caption("Per-gate gradient norms appear after the first logged ones.")
    elif snap.status == "running":
        st.caption("Waiting for the first steps...")
    elif is_waiting(run):
        st.caption("The curves appear once the run trains.")
    else:
        st.caption("No training curves: the run ended before its first step." if run.origin == TRAINED_HERE
                   else f"No training curves: this run was {run.origin} (a checkpoint keeps the weights, not "
                   "the curves).")
    comparison_table()


def comparison_table() -> None:
    runs = state().runs
    if not runs:
        return
    st.subheader("Runs of this session")
    st.dataframe([table_row(run_row(r.name, r.dataset, r.model_config, r.snapshot())) for r in runs.values()],
                 hide_index=True, width="stretch")


def table_row(row: dict) -> dict:
    """A run_row as text: "-" where a value is not known (yet), never "None"."""
    shown = {"loss": "{:.4f}", "dev accuracy": "{:.1%}", "tokens/s": "{:,.0f}"}
    return {k: (("-" if v is None else shown[k].format(v)) if k in shown else v) for k, v in row.items()}



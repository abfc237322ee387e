"""The widgets every page shares: the sidebar's model picker with the live status of the picked run, the
input chooser, layer/direction pickers, the threshold slider, and a clear message instead of a traceback."""
from __future__ import annotations

from typing import Callable

import streamlit as st
import torch

from lstm_viz.files.model_files import weight_warnings

from app_pages._session import (active_run, active_subject, model_choices, showing_builtin_only, state,
                                train_tutorial_tagger)


def _picker_changed() -> None:
    state().active = st.session_state["model_picker"]


def model_picker(where=st.sidebar) -> None:
    """The shared 'which model' select box (in the sidebar by default).

    `SessionState.active` is the truth: a page that adds a model sets it, and the widget is synced to it
    before it is drawn; a user's pick reaches it through on_change, which runs before the script.
    """
    s = state()
    choices = model_choices()
    if not choices:
        where.caption("No model yet.")
        return
    keys = list(choices)
    if s.active not in choices:
        s.active = keys[-1]
    st.session_state["model_picker"] = s.active
    where.selectbox("Model", keys, format_func=choices.get, key="model_picker", on_change=_picker_changed,
                    help="The model every analysis page shows")
    run = active_run()
    if run is not None:
        with where:
            polling = run.is_running
            st.fragment(_run_status, run_every=2.0 if polling else None)(run.name, polling)


def _run_status(name: str, polling: bool) -> None:
    """The picked run's status and step, redrawn every 2 s while it trains (the page itself is not)."""
    run = state().runs.get(name)
    if run is None:
        return
    status = "stopping" if run.is_running and run.stop_requested else run.status
    st.caption(f"{status} · step {run.step:,}")
    if polling and not run.is_running:
        st.rerun()  # it ended: redraw the page once, without polling


def require_subject(what: str = "this page"):
    """The picked model's subject; without one, offer the one-click tutorial model and stop the page."""
    subject = active_subject()
    if subject is not None:
        for warning in weight_warnings(subject.module.state_dict()):  # NaN/Inf weights draw blank heatmaps
            st.warning(warning, icon=":material/warning:")
        run = active_run()
        if run is not None and run.is_running:
            st.caption(f"**{run.name}** is still training: showing a copy of its weights taken at step "
                       f"{run.step:,} or just before. Rerun to refresh.")
        if showing_builtin_only():
            # the button under the note, not beside it: a narrow column cut its label at 150% zoom
            st.info(f"No model of your own yet: showing the built-in **{subject.name}**, trained in advance.")
            _quick_tutorial_button(what, primary=False)
        return subject
    st.info(f"No model to show on {what} yet. Train one on the **Train** page, load your own on "
            "**Inspect a model**, or start with the tutorial tagger right here.")
    _quick_tutorial_button(what, primary=True)
    st.stop()


def _quick_tutorial_button(what: str, primary: bool) -> None:
    if st.button("Train the tutorial tagger (about a second)", type="primary" if primary else "secondary",
                 key=f"quick_{what}"):
        with st.spinner("Training the tutorial tagger..."):
            run = train_tutorial_tagger()
        if run is not None:  # else the queue's refusal stays on the page
            st.rerun()


def subject_and_input(what: str, key: str):
    """The picked model and the chosen input; stops the page (after saying why) when either is missing."""
    subject = require_subject(what)
    probe = choose_input(subject, key=key)
    if probe is None:
        st.stop()
    return subject, probe


def show_error(err: Exception, prefix: str = "") -> None:
    """A clear message on the page instead of a traceback."""
    st.error(f"{prefix}{err}")


def guarded(fn: Callable, *args, prefix: str = "", **kwargs):
    """Call fn; on a ValueError/TypeError (bad input) show its message and return None."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        show_error(err, prefix)
        return None


def sidebar() -> None:
    """The sidebar every page shares."""
    with st.sidebar:
        model_picker(st.sidebar)
        st.caption(f"torch {torch.__version__.split('+')[0]} · "
                   f"{'CUDA available' if torch.cuda.is_available() else 'CPU'}")
        if any(run.is_running for run in state().runs.values()):
            # The live views redraw every second; Streamlit's header would flicker "Running... Stop" with each
            # redraw, and its Stop stops a redraw, not the training: the page's own Stop button does that.
            st.html(f"<style>{HIDE_HEADER_STATUS}</style>")


HIDE_HEADER_STATUS = '[data-testid="stStatusWidget"] { visibility: hidden; }'


def _typed(widget: str) -> None:
    """The user typed a sentence: it becomes the input of every page (a default sentence is not remembered,
    so a fresh session that switches model gets the new model's default)."""
    from app_pages._view import remember_input

    remember_input(text=st.session_state[widget])


def choose_input(subject, key: str):
    """The shared input chooser: type a sentence, or pick a prepared input (dataset example, file, random).

    Returns a AnalysisInput, or None after showing why there is none (the page should then stop or skip).
    """
    from lstm_viz.explore.subject import InputError, default_text

    presets = subject.preset_inputs()
    modes = (["Type a sentence"] if subject.accepts_text else []) + (["Pick an input"] if presets else [])
    if not modes:
        st.warning("This model has no vocabulary and no prepared inputs: add inputs on **Inspect a model**.")
        return None
    from app_pages._view import remember_input, shared_preset, shared_text  # one current input per session

    picked = shared_preset(list(presets))
    mode = st.radio("Input", modes, horizontal=True, key=f"{key}_mode", index=modes.index("Pick an input")
                    if picked and "Pick an input" in modes else 0) if len(modes) > 1 else modes[0]
    if mode == "Type a sentence":
        widget = f"{key}_text"
        typed = shared_text(None)  # this session's sentence, typed on any page (or opened from a link)
        wanted = typed if typed is not None else default_text(subject)  # else the model's own default sentence
        if st.session_state.get(widget) != wanted:  # another page's sentence, or a new model's default
            st.session_state[widget] = wanted
        text = st.text_input("Sentence", key=widget, max_chars=50_000, on_change=_typed, args=(widget,))
        try:
            probe = subject.input_from_text(text)
        except InputError as err:
            st.error(str(err))
            return None
    else:
        title = st.selectbox("Input", list(presets), key=f"{key}_preset",
                             index=list(presets).index(picked) if picked else 0)
        remember_input(preset=title)
        probe = presets[title]
    if probe.note:
        st.info(probe.note)
    if probe.unknown:
        shown = ", ".join(probe.unknown[:12]) + (" ..." if len(probe.unknown) > 12 else "")
        st.warning(f"Not in the model's vocabulary (read as <unk>): {shown}")
    return probe


def layer_direction(num_layers: int, num_directions: int, key: str, where=st) -> tuple[int, int]:
    """Layer and direction pickers, shown only for what the model has (one layer, one direction: none)."""
    if num_layers <= 1 and num_directions <= 1:
        return 0, 0  # nothing to pick: no empty columns either (every element costs each rerun of every session)
    cols = where.columns(2)
    layer = cols[0].selectbox("Layer", list(range(num_layers)), key=f"{key}_layer",
                              format_func=lambda n: f"layer {n}" + (" (bottom)" if n == 0 else " (top)"
                                                                    if n == num_layers - 1 else "")) \
        if num_layers > 1 else 0
    direction = cols[1].radio("Direction", [0, 1], key=f"{key}_direction", horizontal=True,
                              format_func=lambda d: ("forward (left to right)", "backward (right to left)")[d]) \
        if num_directions > 1 else 0
    return int(layer), int(direction)


def threshold_slider(key: str, label: str = "Thresholds (low, high)", default: tuple = (0.1, 0.9),
                     where=st) -> tuple[float, float]:
    """A low/high range slider on [0, 1] with low < high enforced (a note when both handles meet)."""
    from lstm_viz.explore.page_data import ordered_thresholds

    picked = where.slider(label, 0.0, 1.0, default, step=0.01, key=f"{key}_thresholds",
                          help="A sigmoid gate below low counts as closed, above high as open")
    low, high, note = ordered_thresholds(*picked)
    if note:
        where.warning(note)
    return low, high



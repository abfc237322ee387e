"""What every page shares: this browser session's models (runs and inspected files), the model picker,
and the cold-start offer of a one-click model. Streamlit code lives here and in the pages, never in lstm_viz.

A session's runs live in `st.session_state`, so two browser sessions never see each other's runs. A run
being trained belongs to its Trainer's thread; pages analyse a CPU copy of its weights taken between two
optimizer steps (through a Trainer callback), never the live model.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import streamlit as st
import torch

from lstm_viz.data import Corpus
from lstm_viz.training.models import preset
from lstm_viz.explore.subject import ModelSubject
from lstm_viz.training import TRAIN_PRESETS, Trainer, warm_up

STATE_KEY = "lstm_viz_state"
FONT_SIZE = 16  # readable from the back of a lecture hall


@dataclass
class Run:
    """One training run of this session."""

    name: str
    trainer: Trainer
    dataset: str  # what the user picked (a built-in name, a path, or an uploaded file's name)
    created: float = field(default_factory=time.time)
    _copy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _copy_wanted: threading.Event = field(default_factory=threading.Event, repr=False)
    _copy: Optional[tuple[int, ModelSubject]] = field(default=None, repr=False)  # (step, subject)

    def __post_init__(self):
        self.trainer.add_callback("on_step_end", self._copy_if_wanted)

    @property
    def status(self) -> str:
        return self.trainer.snapshot().status

    @property
    def corpus(self) -> Corpus:
        return self.trainer.corpus

    def _make_subject(self) -> ModelSubject:
        model = copy.deepcopy(self.trainer.model).cpu().eval()
        return ModelSubject(self.name, model, self.trainer.encoder, self.trainer.corpus)

    def _copy_if_wanted(self, trainer: Trainer) -> None:
        # runs in the training thread, between optimizer steps: the weights are whole here
        if self._copy_wanted.is_set():
            subject = self._make_subject()
            with self._copy_lock:
                self._copy = (trainer.snapshot().step, subject)
            self._copy_wanted.clear()

    def subject(self, wait_s: float = 2.0) -> Optional[ModelSubject]:
        """A CPU copy of the model to analyse: the final weights, or (while training) those of a recent step."""
        step = self.trainer.snapshot().step
        with self._copy_lock:
            cached = self._copy
        if cached is not None and cached[0] == step:
            return cached[1]
        if not self.trainer.is_running:
            subject = self._make_subject()
            with self._copy_lock:
                self._copy = (step, subject)
            return subject
        self._copy_wanted.set()
        deadline = time.time() + wait_s
        while time.time() < deadline and self._copy_wanted.is_set() and self.trainer.is_running:
            time.sleep(0.02)
        if self._copy_wanted.is_set() and not self.trainer.is_running:
            return self.subject(wait_s)  # it ended meanwhile: take the final weights
        with self._copy_lock:
            return self._copy[1] if self._copy else cached[1] if cached else None


@dataclass
class SessionState:
    runs: dict[str, Run] = field(default_factory=dict)  # name -> run, in creation order
    inspected: dict[str, object] = field(default_factory=dict)  # name -> subject built from a user's file
    active: Optional[str] = None  # key of the model the analysis pages show: "run:NAME" or "file:NAME"

    def unique_name(self, base: str) -> str:
        names = set(self.runs) | set(self.inspected)
        if base not in names:
            return base
        k = 2
        while f"{base} ({k})" in names:
            k += 1
        return f"{base} ({k})"


def state() -> SessionState:
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = SessionState()
    return st.session_state[STATE_KEY]


def add_run(run: Run, activate: bool = True) -> None:
    s = state()
    s.runs[run.name] = run
    if activate:
        s.active = f"run:{run.name}"


def add_inspected(name: str, subject) -> str:
    s = state()
    name = s.unique_name(name)
    s.inspected[name] = subject
    s.active = f"file:{name}"
    return name


def model_choices() -> dict[str, str]:
    """key -> label for the model picker (labels stay fixed; the live status is shown beside it)."""
    s = state()
    choices = {f"run:{n}": n for n in s.runs}
    choices.update({f"file:{n}": f"{n} (file)" for n in s.inspected})
    return choices


def train_tutorial_tagger() -> Run:
    """The PyTorch sequence-models tutorial tagger, trained in this thread (about a second)."""
    from lstm_viz.data import tutorial_corpus

    trainer = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    trainer.run()
    run = Run(state().unique_name("Tutorial tagger"), trainer, "tutorial")
    add_run(run)
    return run


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
        snap = run.trainer.snapshot()
        where.caption(f"{snap.status} · step {snap.step:,}")


def active_subject():
    """The subject of the picked model, or None when there is none."""
    s = state()
    if s.active is None:
        return None
    source, _, name = s.active.partition(":")
    if source == "run" and name in s.runs:
        return s.runs[name].subject()
    if source == "file":
        return s.inspected.get(name)
    return None


def active_run() -> Optional[Run]:
    s = state()
    if s.active and s.active.startswith("run:"):
        return s.runs.get(s.active[4:])
    return None


def require_subject(what: str = "this page"):
    """The picked model's subject; without one, offer the one-click tutorial model and stop the page."""
    subject = active_subject()
    if subject is not None:
        run = active_run()
        if run is not None and run.trainer.is_running:
            st.caption(f"**{run.name}** is still training: showing a copy of its weights at step "
                       f"{run.trainer.snapshot().step}. Rerun to refresh.")
        return subject
    st.info(f"No model to show on {what} yet. Train one on the **Train** page, load your own on "
            "**Inspect a model**, or start with the tutorial tagger right here.")
    if st.button("Train the tutorial tagger (about a second)", type="primary", key=f"quick_{what}"):
        with st.spinner("Training the tutorial tagger..."):
            train_tutorial_tagger()
        st.rerun()
    st.stop()


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


@st.cache_resource(show_spinner=False)
def warm_up_torch() -> threading.Thread:
    """Once per server process: load what torch imports on the first optimizer (1-4 s) in the background,
    so the first click on a training button starts at once."""
    thread = threading.Thread(target=warm_up, name="lstm-viz-warm-up", daemon=True)
    thread.start()
    return thread


def sidebar() -> None:
    """The sidebar every page shares."""
    with st.sidebar:
        model_picker(st.sidebar)
        st.caption(f"torch {torch.__version__.split('+')[0]} · "
                   f"{'CUDA available' if torch.cuda.is_available() else 'CPU'}")


DEFAULT_TEXT = {
    "pos": "The dog ate the apple",
    "sentiment": "the story is slow at first , but the ending is not bad at all",
}


def choose_input(subject, key: str):
    """The shared input chooser: type a sentence, or pick a prepared input (dataset example, file, random).

    Returns a AnalysisInput, or None after showing why there is none (the page should then stop or skip).
    """
    from lstm_viz.explore.subject import InputError

    presets = subject.preset_inputs()
    modes = (["Type a sentence"] if subject.accepts_text else []) + (["Pick an input"] if presets else [])
    if not modes:
        st.warning("This model has no vocabulary and no prepared inputs: add inputs on **Inspect a model**.")
        return None
    mode = st.radio("Input", modes, horizontal=True, key=f"{key}_mode") if len(modes) > 1 else modes[0]
    if mode == "Type a sentence":
        text = st.text_input("Sentence", DEFAULT_TEXT.get(subject.task, DEFAULT_TEXT["pos"]), key=f"{key}_text",
                             max_chars=50_000)
        try:
            probe = subject.input_from_text(text)
        except InputError as err:
            st.error(str(err))
            return None
    else:
        title = st.selectbox("Input", list(presets), key=f"{key}_preset")
        probe = presets[title]
    if probe.note:
        st.info(probe.note)
    if probe.unknown:
        shown = ", ".join(probe.unknown[:12]) + (" ..." if len(probe.unknown) > 12 else "")
        st.warning(f"Not in the model's vocabulary (read as <unk>): {shown}")
    return probe


def session_cached(name: str, owner: object, key: object, compute: Callable, max_items: int = 4):
    """compute() once per (owner, key) in this browser session: a small most-recent-first cache in
    st.session_state (never shared with other sessions, unlike st.cache_resource). `owner` is usually the
    subject; entries of another owner object (a new model, a newer training step) never match, and the
    entry keeps its owner alive so that its id cannot be reused meanwhile."""
    slot = f"_lvcache_{name}"
    entries = st.session_state.get(slot)
    if entries is None:
        entries = st.session_state[slot] = []
    for k, (o, kk, value) in enumerate(entries):
        if o is owner and kk == key:
            entries.insert(0, entries.pop(k))
            return value
    value = compute()
    entries.insert(0, (owner, key, value))
    del entries[max_items:]
    return value


def layer_direction(num_layers: int, num_directions: int, key: str, where=st) -> tuple[int, int]:
    """Layer and direction pickers, shown only for what the model has (one layer, one direction: none)."""
    cols = where.columns(2)
    layer = cols[0].selectbox("Layer", list(range(num_layers)), key=f"{key}_layer",
                              format_func=lambda l: f"layer {l}" + (" (bottom)" if l == 0 else " (top)"
                                                                    if l == num_layers - 1 else "")) \
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


def activate_from_callback(key: str) -> None:
    """Make `key` ("run:NAME" or "file:NAME") the model every page shows. Call it from a widget callback
    (on_click / on_change), which runs before the sidebar's picker is drawn: once drawn in a script run, the
    picker's own widget state would put the previously picked model back."""
    state().active = key
    st.session_state["model_picker"] = key

"""This browser session's models: runs (trained here or loaded from a checkpoint, one `Run` protocol for
both) and inspected files, which one the pages show, and the analysis subject of a run.

A session's runs live in `st.session_state`, so two browser sessions never see each other's runs. A run
being trained belongs to its Trainer's thread; pages analyse a CPU copy of its weights that the training
thread hands over between two optimizer steps (lstm_viz.training.live_copy), never the live model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import streamlit as st

from lstm_viz.explore.subject import ModelSubject
from lstm_viz.serving.shared_run import SharedRun
from lstm_viz.teaching.builtin import available_builtins, builtin_subject, default_builtin_key
from lstm_viz.training.loaded_run import LoadedRun
from lstm_viz.training.run import Run

STATE_KEY = "lstm_viz_state"
BUILTIN = "builtin:"  # picker keys of the trained models shipped with the app (lstm_viz.teaching)


@dataclass
class SessionState:
    runs: dict[str, Run] = field(default_factory=dict)  # name -> run, in creation order
    inspected: dict[str, object] = field(default_factory=dict)  # name -> subject built from a user's file
    active: Optional[str] = None  # the model the analysis pages show: "run:NAME", "file:NAME" or "builtin:KEY"
    subjects: dict[str, tuple] = field(default_factory=dict)  # run name -> (model copy, its ModelSubject)

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
        default = default_builtin_key()  # a new session opens on a trained built-in model
        st.session_state[STATE_KEY] = SessionState(active=BUILTIN + default if default else None)
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
    # the built-in models first, so that the newest model of the session's own stays last
    choices = {BUILTIN + spec.key: spec.title for spec in available_builtins()}
    choices.update({f"run:{n}": n for n in s.runs})
    choices.update({f"file:{n}": f"{n} (file)" for n in s.inspected})
    return choices


def subject_of(run: Run, wait_s: float = 2.0) -> Optional[ModelSubject]:
    """The run's model to analyse: its final weights, or (while it trains) those of a recent step. The same
    copy gives the same subject object, so page caches keyed on the subject keep working."""
    copied = run.model_copy(wait_s)
    if copied is None:
        return None
    model = copied[1]
    cache = state().subjects
    hit = cache.get(run.name)
    if hit is not None and hit[0] is model and hit[1].corpus is run.corpus:
        return hit[1]
    subject = ModelSubject(run.name, model, run.encoder, run.corpus)
    cache[run.name] = (model, subject)
    return subject


def active_run() -> Optional[Run]:
    s = state()
    if s.active and s.active.startswith("run:"):
        return s.runs.get(s.active[4:])
    return None


def active_subject():
    """The subject of the picked model, or None when there is none."""
    s = state()
    if s.active is None:
        return None
    source, _, name = s.active.partition(":")
    if source == "run" and name in s.runs:
        return subject_of(s.runs[name])
    if source == "file":
        return s.inspected.get(name)
    if s.active in model_choices() and source + ":" == BUILTIN:
        return builtin_subject(name)  # loaded once per server, shared read-only by every session
    return None


def shared_identity(subject) -> Optional[str]:
    """A server-wide name of the model `subject` shows, when every session that shows it sees the same
    read-only weights: "builtin:KEY" (loaded once per server) or "shared-run:<digest>" (the tutorial, trained
    once per server: a copy of identical weights). None for a session's own trained, training or uploaded
    model, whose results must stay in the session (lstm_viz.serving.view_cache)."""
    s = state()
    source, _, name = (s.active or "").partition(":")
    if source + ":" == BUILTIN and name in {spec.key for spec in available_builtins()}:
        return s.active if subject is builtin_subject(name) else None
    if source == "run":
        run, made = s.runs.get(name), s.subjects.get(name)
        if isinstance(run, SharedRun) and made is not None and made[1] is subject:
            return "shared-run:" + run.key
    return None


def showing_builtin_only() -> bool:
    """True while the session has no model of its own and shows a built-in one."""
    s = state()
    return not s.runs and not s.inspected and bool(s.active) and s.active.startswith(BUILTIN)


def activate_from_callback(key: str) -> None:
    """Make `key` ("run:NAME" or "file:NAME") the model every page shows. Call it from a widget callback
    (on_click / on_change), which runs before the sidebar's picker is drawn: once drawn in a script run, the
    picker's own widget state would put the previously picked model back."""
    state().active = key
    st.session_state["model_picker"] = key


def train_tutorial_tagger() -> Optional[Run]:
    """The tutorial tagger as a new run of this session, made the shown model: a copy of the one training this
    server does of it, through the training queue (app_pages._training_queue.tutorial_run). None, after saying
    why on the page, when the queue refuses it."""
    from app_pages._training_queue import tutorial_run
    from lstm_viz.serving.limits import LimitError

    try:
        return tutorial_run()
    except LimitError as err:
        st.error(str(err))
        return None


def add_loaded_run(run: LoadedRun) -> LoadedRun:
    """A checkpoint's run joins the session and becomes the shown model (the one path for checkpoints)."""
    add_run(run)
    activate_from_callback(f"run:{run.name}")
    return run

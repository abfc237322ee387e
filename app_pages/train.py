"""Train: pick a task, dataset and architecture, train in a background thread and watch it live; compare,
save and reload this session's runs."""
import re
from typing import Optional

import streamlit as st

from lstm_viz.files.budgets import APP
from lstm_viz.serving.limits import LimitError
from lstm_viz.files.uploads import DATASET_SUFFIXES
from lstm_viz.training import Trainer
from lstm_viz.training.alarms import AlarmWatcher
from lstm_viz.training.checkpoint import checkpoint_bytes
from lstm_viz.training.loaded_run import load_run
from lstm_viz.training.models import PRESETS
from lstm_viz.training.summary import arch_label, checkpoint_metrics
from app_pages._common import Run, activate_from_callback, active_run, add_loaded_run, add_run, state
from app_pages._live import redraw_every
from app_pages._train_form import (ARCH_NAMES, DEFAULTS, DEVICES, LR_CHOICES, MAX_DATASET_MB, PAGE_PRESETS,
                                   SOURCES, THREAD_CHOICES, apply_preset, cached_corpus, configs, dataset_names,
                                   epoch_estimate, form_values, get_corpus, settings_summary)
from app_pages._train_live import (CHARTS_EVERY_S, STATUS_EVERY_S, STATUS_SLOWEST_S, is_active, live_charts,
                                   is_waiting, live_status, queued_runs, stop_control)
from app_pages._training_queue import submit
from app_pages._view import projector_on

MAX_CHECKPOINT_MB = 200


def start_run(v: dict) -> Optional[str]:
    """Load, build and start a run from the widget values; the error message when that is not possible."""
    try:
        with st.spinner("Loading the dataset..."):
            corpus, label, builtin, options = get_corpus(v)
            model_config, train_config = configs(v, len(corpus.train))
            trainer = Trainer(model_config, train_config, corpus)
    except (ValueError, TypeError, OSError) as err:  # DataError is a ValueError
        return str(err)
    preset = v["tr_preset"]
    short = label if len(label) <= 40 else "..." + label[-37:]
    if preset in PAGE_PRESETS and model_config == PRESETS[PAGE_PRESETS[preset][0]]:
        base = preset if builtin == PAGE_PRESETS[preset][2] else f"{preset} on {short}"
    else:
        base = f"{arch_label(model_config)} on {short}"
    name = state().unique_name(base)
    run = Run(name, trainer, label)
    sources()[name] = (builtin, options)
    watcher = AlarmWatcher()  # gate saturation, dead units, vanishing cell gradient, from the run's probes
    watcher.attach(trainer)
    try:  # the server's queue starts it when a slot is free (at once, when one is)
        queued_runs()[name] = submit(trainer, name)
    except LimitError as err:
        return str(err)
    st.session_state.setdefault("tr_alarms", {})[name] = watcher
    add_run(run)
    activate_from_callback(f"run:{name}")
    return None


def on_start() -> None:
    # a callback runs before the sidebar is drawn, so the new run shows up there (and gets picked) at once
    st.session_state["tr_start_error"] = start_run(form_values())


def sources() -> dict:
    """run name -> (built-in dataset name or None, loader options): lets a saved checkpoint name its dataset."""
    return st.session_state.setdefault("tr_sources", {})


def shown_run():
    s = state()
    run = active_run()
    return run if run is not None else (list(s.runs.values())[-1] if s.runs else None)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:80] or "run"


def save_section(run) -> None:
    if run is None or is_active(run):
        return
    snap = run.snapshot()
    key = (run.name, snap.step, snap.status, run.created)
    cache = st.session_state.setdefault("tr_checkpoint", {})
    if key not in cache:
        extra = {"dataset": run.dataset, "run": run.name}
        builtin, options = sources().get(run.name, (None, ()))
        if builtin:
            extra.update(dataset_name=builtin, dataset_options=[list(o) for o in options])
        model = run.model_copy()[1]  # the run has ended: its final weights
        cache.clear()  # keep only the shown run's bytes
        cache[key] = checkpoint_bytes(model, run.model_config, run.encoder, checkpoint_metrics(snap), run.train_config,
                                      extra)
    st.download_button(f"Save **{run.name}** as a checkpoint", cache[key], file_name=f"{slug(run.name)}.pt",
                       mime="application/octet-stream", key="tr_save", on_click="ignore", icon=":material/download:")


def load_section() -> None:
    st.file_uploader("Load a checkpoint saved here (.pt)", type=["pt", "pth", "ckpt"], key="tr_ckpt",
                     max_upload_size=MAX_CHECKPOINT_MB, on_change=on_checkpoint)
    upload = st.session_state.get("tr_ckpt")
    result = st.session_state.get("tr_loaded", {}).get(upload.file_id if upload is not None else None)
    if result is not None:
        ok, message = result
        (st.success if ok else st.error)(message)


def on_checkpoint() -> None:
    upload = st.session_state.get("tr_ckpt")
    done = st.session_state.setdefault("tr_loaded", {})  # file_id -> (ok, message): each upload loads once
    if upload is not None and upload.file_id not in done:
        done[upload.file_id] = load_upload(upload)


def load_upload(upload) -> tuple[bool, str]:
    if upload.size > MAX_CHECKPOINT_MB * 2**20:
        return False, f"{upload.name} is larger than {MAX_CHECKPOINT_MB} MB; that is not a checkpoint saved here"
    try:
        run = load_run(upload.getvalue(), upload.name, builtin_corpus, budget=APP)
    except ValueError as err:  # CheckpointError
        return False, f"Cannot load {upload.name}: {err}"
    run.name = state().unique_name(run.name)
    add_loaded_run(run)
    if run.builtin is not None:
        sources()[run.name] = run.builtin
    return True, f"Loaded **{run.name}** ({run.model_config.arch.upper()}, task {run.model_config.task})."


def builtin_corpus(name: str, options: tuple, task: str):
    """A built-in dataset a checkpoint names (None when it is not one here)."""
    return cached_corpus(name, task, options, ()) if name in dataset_names(task) else None


# -- the page -------------------------------------------------------------------------------------------------------
st.title("Train")
for k, val in DEFAULTS.items():
    st.session_state.setdefault(k, val)
if st.session_state["tr_device"] not in DEVICES:
    st.session_state["tr_device"] = DEVICES[0]

running = [r for r in state().runs.values() if is_active(r)]  # training, or waiting in the server's line
with st.expander("Settings of the next run", expanded=not state().runs and not projector_on()):  # slides: folded
    keep = dict(persist_state="session")  # settings survive a visit to another page
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Preset", [*PAGE_PRESETS, "custom"], key="tr_preset", on_change=apply_preset, **keep,
                 help="Fills in every setting below; change any of them afterwards")
    task = c2.radio("Task", ["pos", "sentiment"], key="tr_task", horizontal=True, **keep,
                    format_func={"pos": "part-of-speech tags", "sentiment": "sentiment"}.get)
    source = c3.radio("Dataset from", SOURCES, key="tr_source", horizontal=True, **keep)
    c1, c2 = st.columns([2, 1])
    if source == "Built-in":
        names = dataset_names(task)
        if st.session_state.get(f"tr_dataset_{task}") not in names:
            st.session_state[f"tr_dataset_{task}"] = names[0]
        c1.selectbox("Dataset", names, key=f"tr_dataset_{task}", **keep,
                     help="Built-in corpora, and downloaded ones once they are in the cache")
    elif source == "Local path":
        c1.text_input("Dataset file or folder", key="tr_path", **keep,
                      placeholder="e.g. ../shared/data/ud/UD_English-EWT or reviews.csv",
                      help="A UD treebank folder or .conllu file (pos); rt-polarity, SST-2, aclImdb folders or "
                           ".csv/.tsv with text and label columns (sentiment)")
    else:
        c1.file_uploader(f"Dataset file ({', '.join(DATASET_SUFFIXES)}; at most {MAX_DATASET_MB} MB)",
                         type=[s[1:] for s in DATASET_SUFFIXES], key="tr_upload", max_upload_size=MAX_DATASET_MB)
    c2.number_input("Use at most this many examples (0: all)", 0, 10_000_000, step=100, key="tr_limit", **keep)

    st.markdown("**Model**")
    c = st.columns(6)
    arch = c[0].selectbox("Architecture", list(ARCH_NAMES), format_func=ARCH_NAMES.get, key="tr_arch", **keep)
    c[1].selectbox("RNN activation", ["tanh", "relu"], key="tr_nonlin", disabled=arch != "rnn", **keep)
    c[2].number_input("Layers", 1, 6, key="tr_layers", **keep)
    c[3].number_input("Embedding size", 1, 1024, key="tr_embed", **keep)
    c[4].number_input("Hidden units", 1, 2048, key="tr_hidden", **keep)
    c[5].number_input("Dropout", 0.0, 0.9, step=0.05, key="tr_dropout", **keep)
    c = st.columns(3)
    c[0].checkbox("Bidirectional", key="tr_bidir", **keep)
    c[1].checkbox("Character features (pos)", key="tr_char", disabled=task != "pos", **keep,
                  help="A character BiLSTM per word, so unseen words still get a useful representation")

    st.markdown("**Training**")
    c = st.columns(6)
    c[0].selectbox("Optimizer", ["adam", "sgd"], format_func={"adam": "Adam", "sgd": "SGD"}.get, key="tr_opt", **keep)
    c[1].select_slider("Learning rate", LR_CHOICES, format_func=lambda x: f"{x:g}", key="tr_lr", **keep)
    c[2].number_input("Epochs", 1, 1000, key="tr_epochs", **keep)
    c[3].number_input("Batch size", 1, 1024, key="tr_batch", **keep)
    clip = c[4].checkbox("Clip gradients", key="tr_clip_on", **keep)
    c[4].number_input("at global norm", 0.01, 100.0, step=0.5, key="tr_clip", **keep, disabled=not clip)
    c[5].selectbox("Device", DEVICES, key="tr_device", **keep,
                   help="CUDA / MPS appear when this machine has them")
    c[5].selectbox("CPU threads", THREAD_CHOICES, key="tr_threads", **keep,
                   help="auto: the run times its own steps and keeps the fastest thread count")


c1, c2 = st.columns([1, 4], vertical_alignment="center")
c1.button("Start training", type="primary", key="tr_start", disabled=bool(running), on_click=on_start)
c2.markdown((f"**{running[0].name}** is training: stop it below before starting another run."
             if running[0].is_running else f"**{running[0].name}** is waiting to train: cancel it below before "
             "starting another run.") if running else settings_summary(form_values()))
if not running:
    estimate = epoch_estimate(form_values())
    if estimate:
        st.caption(estimate)
error = st.session_state.pop("tr_start_error", None)
if error:
    st.error(f"Cannot start: {error}")

run = shown_run()
if run is None:
    st.info("No run yet. Press **Start training**: the *tutorial* preset trains PyTorch's tutorial tagger in about "
            "a second. Or load a checkpoint below.")
else:
    polling = is_active(run)
    st.fragment(stop_control)(run.name)
    status_every = redraw_every("status", fastest_s=STATUS_EVERY_S, slowest_s=STATUS_SLOWEST_S)
    st.fragment(live_status, run_every=status_every if polling else None)(run.name, polling, is_waiting(run))
    st.fragment(live_charts, run_every=redraw_every("train", fastest_s=CHARTS_EVERY_S) if polling else None)(run.name)
    if len(state().runs) > 1:
        st.caption("The sidebar's **Model** box picks which run this page (and every analysis page) shows.")

st.subheader("Save and load")
c1, c2 = st.columns(2)
with c1:
    if run is not None and is_active(run):
        st.caption("Saving is possible once the run has ended (stop it or let it finish).")
    save_section(run)
with c2:
    load_section()

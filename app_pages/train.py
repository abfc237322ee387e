"""Train: pick a task, dataset and architecture, train in a background thread and watch it live; compare,
save and reload this session's runs."""
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Optional

import streamlit as st
import torch

from lstm_viz import figures
from lstm_viz.training.alarms import AlarmWatcher
from lstm_viz.training.checkpoint import checkpoint_bytes
from lstm_viz.data import DataError, list_datasets, load_corpus
from lstm_viz.training.loaded_run import load_run
from lstm_viz.training.models import PRESETS, ModelConfig
from lstm_viz.training.summary import (
    arch_label,
    checkpoint_metrics,
    curve_events,
    every,
    format_seconds,
    grad_norm_events,
    planned_steps,
    progress_text,
    run_row,
)
from lstm_viz.data.splits import hold_out_dev
from lstm_viz.training import TRAIN_PRESETS, Trainer
from lstm_viz.training.presets import estimate_epoch_seconds
from lstm_viz.training.threads import torch_threads
from lstm_viz.files.uploads import DATASET_SUFFIXES, save_upload
from lstm_viz.files.budgets import APP
from lstm_viz.files.server_paths import resolve_server_path, server_path_policy
from lstm_viz.training.run import TRAINED_HERE
from app_pages._common import Run, activate_from_callback, active_run, add_loaded_run, add_run, state
from app_pages._live import measured, redraw_every
from app_pages._view import figure_style

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_DIR = ROOT / "runs" / "uploads"  # uploads live here under random names, only while being parsed
MAX_DATASET_MB = 50
MAX_CHECKPOINT_MB = 200
DEV_FRACTION = 0.1  # held out of train when a corpus has no dev split, so dev accuracy means something
LR_CHOICES = (1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0, 1e4)
PAGE_PRESETS = {  # model preset, train preset, dataset, epochs
    "tutorial": ("tutorial", "tutorial", "tutorial", 300),
    "sentiment-bilstm": ("sentiment-bilstm", "default", "generated-sentiment", 5),
    "pos-bilstm-char": ("pos-bilstm-char", "default", "generated-pos", 5),
    "pos-bilstm": ("pos-bilstm", "default", "generated-pos", 5),
    "pos-lecture": ("pos-lecture", "lecture", "generated-pos", 5),  # learns within seconds on a laptop CPU
    "sentiment-lecture": ("sentiment-lecture", "lecture", "generated-sentiment", 5),
}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (
    ["mps"] if torch.backends.mps.is_available() else [])
THREAD_CHOICES = ["auto"] + [n for n in (1, 2, 4, 8, 16, 32) if n <= (os.cpu_count() or 1)]
ARCH_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
SOURCES = ("Built-in", "Local path", "Upload")


def preset_values(name: str) -> dict:
    """Widget values (by key) of a page preset."""
    model_name, train_name, dataset, epochs = PAGE_PRESETS[name]
    m, t = PRESETS[model_name], TRAIN_PRESETS[train_name]
    return {"tr_task": m.task, "tr_source": "Built-in", f"tr_dataset_{m.task}": dataset, "tr_arch": m.arch,
            "tr_nonlin": m.nonlinearity, "tr_layers": m.num_layers, "tr_bidir": m.bidirectional,
            "tr_embed": m.embed_dim, "tr_hidden": m.hidden_size, "tr_char": m.char_features,
            "tr_dropout": float(m.dropout), "tr_opt": t.optimizer, "tr_lr": t.lr, "tr_epochs": epochs,
            "tr_batch": t.batch_size, "tr_clip_on": t.clip_grad_norm is not None,
            "tr_clip": float(t.clip_grad_norm or 5.0), "tr_limit": 0}


DEFAULTS = {"tr_preset": "tutorial", **preset_values("tutorial"), "tr_dataset_sentiment": "generated-sentiment",
            "tr_path": "", "tr_device": DEVICES[0], "tr_threads": "auto"}


def apply_preset() -> None:
    name = st.session_state["tr_preset"]
    if name in PAGE_PRESETS:
        st.session_state.update(preset_values(name))


def dataset_names(task: str) -> list[str]:
    return [d.name for d in list_datasets() if d.task == task and (d.built_in or d.cached)]


def _stamp(path: Path) -> tuple:
    """Changes when a local file (or a folder's direct entries) changes, so the corpus cache reloads it."""
    try:
        entries = [path] + (sorted(path.iterdir())[:200] if path.is_dir() else [])
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in entries)
    except OSError:
        return ()


def _with_dev(corpus):
    return hold_out_dev(corpus, DEV_FRACTION) if not corpus.dev and len(corpus.train) >= 10 else corpus


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_corpus(name_or_path: str, task: str, options: tuple, stamp: tuple):
    # Corpus is frozen and only read, so sessions may share one parsed copy; errors are not cached.
    return _with_dev(load_corpus(name_or_path, task=task, **dict(options)))


def corpus_options(name: str, limit: int) -> tuple:
    if not limit or name == "tutorial":
        return ()
    return (("n_train", int(limit)),) if name.startswith("generated-") else (("limit", int(limit)),)


def get_corpus(v: dict):
    """(corpus, label, built-in name or None, options) for the picked source; raises DataError/ValueError."""
    task, source = v["tr_task"], v["tr_source"]
    if source == "Built-in":
        name = v.get(f"tr_dataset_{task}")
        if not name:
            raise DataError(f"no built-in dataset for task {task!r}")
        options = corpus_options(name, v["tr_limit"])
        return cached_corpus(name, task, options, ()), name, name, options
    if source == "Local path":
        text = (v.get("tr_path") or "").strip()
        if not text:
            raise DataError("type the path of a dataset file or folder first (e.g. a UD treebank folder, "
                            "a .conllu file, an rt-polarity folder or a .csv file)")
        # H3: server paths only where allowed, bounded
        path = resolve_server_path(text, server_path_policy(st.get_option("server.address")), "any",
                                   max_bytes=APP.corpus_bytes, must_exist=False)
        options = (("limit", int(v["tr_limit"])),) if v["tr_limit"] else ()
        return cached_corpus(str(path), task, options, _stamp(path)), text, None, options
    upload = v.get("tr_upload")
    if upload is None:
        raise DataError(f"choose a file to upload first ({', '.join(DATASET_SUFFIXES)}, at most {MAX_DATASET_MB} MB)")
    options = (("limit", int(v["tr_limit"])),) if v["tr_limit"] else ()
    cache = st.session_state.setdefault("tr_upload_corpus", {})
    key = (upload.file_id, task, options)
    if key not in cache:
        path = save_upload(upload.getvalue(), upload.name, UPLOAD_DIR, max_bytes=MAX_DATASET_MB * 2**20)
        try:
            corpus = replace(load_corpus(path, task=task, **dict(options)), name=upload.name, source="upload")
        except DataError as err:  # name the user's file, not our random copy of it
            raise DataError(str(err).replace(str(path), repr(upload.name))) from None
        finally:
            path.unlink(missing_ok=True)  # parsed into memory: nothing of the user's stays on disk
        cache.clear()  # one parsed upload per session is enough
        cache[key] = _with_dev(corpus)
    return cache[key], upload.name, None, options


def configs(v: dict, n_train: int):
    """(ModelConfig, TrainConfig) from the widgets; raises ValueError on an invalid combination."""
    preset = v["tr_preset"]
    model_name, train_name = PAGE_PRESETS[preset][:2] if preset in PAGE_PRESETS else (None, "default")
    base = PRESETS[model_name] if model_name else ModelConfig()
    char = v["tr_task"] == "pos" and v["tr_char"]
    model = replace(base, task=v["tr_task"], arch=v["tr_arch"], nonlinearity=v["tr_nonlin"],
                    num_layers=int(v["tr_layers"]), bidirectional=bool(v["tr_bidir"]), embed_dim=int(v["tr_embed"]),
                    hidden_size=int(v["tr_hidden"]), dropout=float(v["tr_dropout"]),
                    char_embed_dim=(base.char_embed_dim or 32) if char else 0,
                    char_hidden=(base.char_hidden or 64) if char else 0)
    epochs, batch = int(v["tr_epochs"]), int(v["tr_batch"])
    total = planned_steps(n_train, epochs, batch)
    train = replace(TRAIN_PRESETS[train_name], device=v["tr_device"], optimizer=v["tr_opt"], lr=float(v["tr_lr"]),
                    epochs=epochs, batch_size=batch, clip_grad_norm=float(v["tr_clip"]) if v["tr_clip_on"] else None,
                    probe_every=every(total, 30), grad_norm_every=every(total, 200),
                    eval_every=max(1, epochs // 30), threads=threads(v["tr_threads"], model))
    return model, train


def threads(choice, model: ModelConfig) -> Optional[int]:
    """CPU threads for the run. "auto" (None): the run times its own steps with 1 thread and with torch's
    default and keeps the faster, re-checking as the machine's load changes (training.threads.ThreadChooser):
    on a busy 2-core machine idle OpenMP threads spin and made a step 8x slower with 2 threads than with 1."""
    return None if choice == "auto" else int(choice)


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
    st.session_state.setdefault("tr_alarms", {})[name] = watcher
    trainer.start()
    add_run(run)
    activate_from_callback(f"run:{name}")
    return None


def on_start() -> None:
    # a callback runs before the sidebar is drawn, so the new run shows up there (and gets picked) at once
    st.session_state["tr_start_error"] = start_run(form_values())


def form_values() -> dict:
    return {k: st.session_state.get(k) for k in [*DEFAULTS, "tr_upload"]}


def sources() -> dict:
    """run name -> (built-in dataset name or None, loader options): lets a saved checkpoint name its dataset."""
    return st.session_state.setdefault("tr_sources", {})


def settings_summary(v: dict) -> str:
    """One line saying what Start will train."""
    source = {"Built-in": v.get(f"tr_dataset_{v['tr_task']}"), "Local path": v.get("tr_path") or "(no path yet)",
              "Upload": v["tr_upload"].name if v.get("tr_upload") else "(no file yet)"}[v["tr_source"]]
    layers = f"{v['tr_layers']} layers, " if v["tr_layers"] > 1 else ""
    return (f"Next: **{v['tr_preset']}** · {'bidirectional ' if v['tr_bidir'] else ''}{ARCH_NAMES[v['tr_arch']]}, "
            f"{layers}{v['tr_hidden']} units on **{source}** ({v['tr_task']}) · "
            f"{'Adam' if v['tr_opt'] == 'adam' else 'SGD'} lr {v['tr_lr']:g}, {v['tr_epochs']} epochs, "
            f"batch {v['tr_batch']}")


@st.cache_data(max_entries=64, show_spinner="Timing a few training steps of this model here...")
def _epoch_seconds(model_config: ModelConfig, train_config, lengths: tuple, vocab_size: int, num_labels: int,
                   char_vocab_size: int) -> float:
    # timed with the threads the run starts with (auto: 1; on a busy machine torch's default spins and is ~8x slower)
    with torch_threads(train_config.threads or 1):
        return estimate_epoch_seconds(model_config, train_config, lengths, vocab_size=vocab_size,
                                      num_labels=num_labels, char_vocab_size=char_vocab_size)


def epoch_estimate(v: dict) -> Optional[str]:
    """"About 3 min 10 s per epoch here (...)": timed on this machine before Start, from the data's size.
    None when the settings do not make a run yet (the Start button says why)."""
    try:
        corpus = get_corpus(v)[0]
        model_config, train_config = configs(v, len(corpus.train))
    except (ValueError, TypeError, OSError):
        return None
    lengths = tuple(len(ex.tokens) for ex in corpus.train if ex.tokens)
    if not lengths:
        return None
    words = Counter(t.lower() if model_config.lowercase else t for ex in corpus.train for t in ex.tokens)
    vocab = sum(1 for n in words.values() if n >= model_config.min_freq) + 2  # + <pad>, <unk>
    labels = len({t for ex in corpus.train for t in ex.tags}) if model_config.task == "pos" else len(corpus.labels)
    chars = len({c for w in words for c in w}) + 2 if model_config.char_features else 0
    seconds = _epoch_seconds(model_config, replace(train_config, device="cpu"), lengths, vocab, max(labels, 2),
                             chars)
    tokens = sum(lengths)
    return (f"About **{format_seconds(seconds)} per epoch** here ({tokens:,} training tokens at the "
            f"{tokens / max(seconds, 1e-9):,.0f} tokens/s measured just now for this model on this machine's CPU), "
            f"so {format_seconds(seconds * train_config.epochs)} for {train_config.epochs} epochs.")


def shown_run():
    s = state()
    run = active_run()
    return run if run is not None else (list(s.runs.values())[-1] if s.runs else None)


# Progress, metrics and Stop are redrawn every 2 s while training (a click on Stop redraws at once): each redraw is
# a Streamlit script run, ~20-100 ms of the GIL that the training thread then waits for.
STATUS_EVERY_S = 2.0


def live_status(name: str, polling: bool) -> None:
    """Progress, status, Stop and the latest metrics of one run (a fragment: every STATUS_EVERY_S while it
    trains)."""
    run = state().runs.get(name)
    if run is None:
        return
    snap = run.snapshot()
    cfg = run.train_config
    st.subheader(f"Run: {run.name}")
    st.progress(float(snap.progress), text=progress_text(snap, cfg.epochs if cfg else None))
    stopping = snap.status == "running" and run.stop_requested
    note = {"running": st.info, "finished": st.success, "stopped": st.warning, "failed": st.error,
            "idle": st.info}[snap.status]
    note(f"**stopping after this step** (Stop pressed at step {snap.step:,})" if stopping
         else f"**{snap.status}**: {snap.message}")
    if snap.status == "running":
        st.button("Stopping after this step..." if stopping else "Stop", key="tr_stop", on_click=run.stop,
                  type="primary", disabled=stopping, icon=":material/stop_circle:",
                  help="Stops after the current optimizer step and keeps the model")
    watcher = st.session_state.get("tr_alarms", {}).get(run.name)
    for alarm in watcher.alarms if watcher is not None else ():
        st.warning(f"{alarm.message} (see the **{alarm.view.title()}** page)", icon=":material/warning:")
    m = snap.metrics
    cols = st.columns(5)
    pct = lambda k: f"{m[k]:.1%}" if k in m else "-"  # noqa: E731
    cols[0].metric("Loss", f"{m['loss']:.4f}" if "loss" in m else "-")
    cols[1].metric("Train accuracy", pct("accuracy"))
    cols[2].metric("Dev accuracy", pct("dev_accuracy"))
    cols[3].metric("Tokens / s", f"{m['tokens_per_s']:,.0f}" if "tokens_per_s" in m else "-")
    cols[4].metric("Elapsed", format_seconds(snap.elapsed_s))
    if polling and not run.is_running:
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


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:80] or "run"


def save_section(run) -> None:
    if run is None or run.is_running:
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

running = [r for r in state().runs.values() if r.is_running]
with st.expander("Settings of the next run", expanded=not state().runs):
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
c2.markdown(f"**{running[0].name}** is training: stop it below before starting another run." if running
            else settings_summary(form_values()))
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
    polling = run.is_running
    st.fragment(live_status, run_every=STATUS_EVERY_S if polling else None)(run.name, polling)
    st.fragment(live_charts, run_every=redraw_every("train", fastest_s=3.0) if polling else None)(run.name)
    if len(state().runs) > 1:
        st.caption("The sidebar's **Model** box picks which run this page (and every analysis page) shows.")

st.subheader("Save and load")
c1, c2 = st.columns(2)
with c1:
    if run is not None and run.is_running:
        st.caption("Saving is possible once the run has ended (stop it or let it finish).")
    save_section(run)
with c2:
    load_section()

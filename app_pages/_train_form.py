"""The Train page's settings form: presets, the dataset it names (built-in, a server path, an upload), the
configs it makes, and the time per epoch measured before Start."""
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Optional

import streamlit as st
import torch

from lstm_viz.data import DataError, list_datasets, load_corpus
from lstm_viz.data.splits import hold_out_dev
from lstm_viz.files.budgets import APP
from lstm_viz.files.server_paths import resolve_server_path, server_path_policy
from lstm_viz.files.uploads import DATASET_SUFFIXES, save_upload
from lstm_viz.training import TRAIN_PRESETS
from lstm_viz.training.models import PRESETS, ModelConfig
from lstm_viz.training.presets import estimate_epoch_seconds
from lstm_viz.training.summary import every, format_seconds, planned_steps
from lstm_viz.training.threads import torch_threads

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_DIR = ROOT / "runs" / "uploads"  # uploads live here under random names, only while being parsed
MAX_DATASET_MB = 50
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


def form_values() -> dict:
    return {k: st.session_state.get(k) for k in [*DEFAULTS, "tr_upload"]}


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



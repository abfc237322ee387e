"""Build every built-in teaching model from its data with fixed seeds, and store each as a plain-data
checkpoint (float16 weights) with its held-out accuracy and the split it was measured on.

    python -m lstm_viz.teaching build            # all five models
    python -m lstm_viz.teaching build --only stdlib-char-lstm
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from ..training.checkpoint import save_checkpoint
from .catalog import BY_KEY, MODELS_DIR
from .char_cells import best_units, correlations
from .char_data import PROPERTIES, read_source, stdlib_folder, text_digest
from .char_model import (CharModelConfig, arch_config, char_corpus, evaluate_char_model, train_char_model,
                         validation_names)

Log = Callable[[str], None]


def round_to_float16(model: torch.nn.Module) -> None:
    """Round the weights to float16 and back, so the accuracy measured is that of the stored weights."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def save_float16(path: Path, model, model_config, encoder, metrics: dict, train_config: dict, extra: dict) -> Path:
    """save_checkpoint with float16 weights (half the size; loading copies them into float32 parameters)."""
    model.half()
    try:
        return save_checkpoint(path, model, model_config, encoder, metrics, train_config, extra)
    finally:
        model.float()


def char_findings(model, encoder, config: CharModelConfig, corpus: dict, folder: Path):
    """Each property's unit picked on a validation slice of training files, its r reported on the held-out
    files. -> (findings, held-out table {(state, prop): r [H]}, validation file names)"""
    table = correlations(model, encoder, [read_source(folder / n) for n in corpus["held_out_names"]],
                         config.cell_chars_per_file)
    picked_on = validation_names(corpus["train_names"], config.validation_every)
    validation = correlations(model, encoder, [read_source(folder / n) for n in picked_on],
                              config.cell_chars_per_file)
    return best_units(validation, report=table), table, picked_on


def correlation_lists(table: dict) -> dict:
    """{state: {property: [r per unit]}} (rounded) for the checkpoint's extra."""
    return {s: {p: [round(float(v), 4) for v in table[(s, p)]] for p in PROPERTIES}
            for s in sorted({s for s, _ in table})}


def build_char(arch: str, out_dir: Path, log: Log = print) -> Path:
    config = arch_config(arch)
    folder = stdlib_folder()
    corpus = char_corpus(folder)
    log(f"{arch}: {len(corpus['train_names'])} training files ({len(corpus['train_text']):,} characters), "
        f"{len(corpus['held_out_names'])} held out")
    model, encoder, stats = train_char_model(config, corpus["train_text"], log=log)
    round_to_float16(model)
    sources = [read_source(folder / name) for name in corpus["held_out_names"]]
    eval_texts = [s[: config.eval_chars_per_file] for s in sources]
    result = evaluate_char_model(model, encoder, eval_texts)
    findings, table, picked_on = char_findings(model, encoder, config, corpus, folder)
    for f in findings:
        log(f"  {arch}: {f.prop}: {f.state}[{f.unit}] r = {f.r:+.3f} held out ({f.r_validation:+.3f} validation)")
    metrics = {
        "test_accuracy": result["accuracy"],  # next-character accuracy on the held-out files
        "bits_per_char": result["bits_per_char"],
        "test_chars": result["chars"],
        "measured_on": f"held-out stdlib files (first {config.eval_chars_per_file:,} characters of each)",
        "cpu_seconds": stats["cpu_seconds"], "wall_seconds": stats["wall_seconds"],
        "chars_seen": stats["chars_seen"],
    }
    extra = {
        "teaching_kind": "char",
        "python": sys.version.split()[0],
        "train_files": corpus["train_names"],
        "held_out_files": corpus["held_out_names"],
        "held_out_digest": text_digest(eval_texts),
        "validation_files": picked_on,  # the training files whose start picked each finding's unit
        "findings": [f.to_dict() for f in findings],
        # every unit's r: {state: {property: [r per unit]}} over the held-out files (cell_chars_per_file each)
        "correlations": correlation_lists(table),
    }
    path = out_dir / f"stdlib-char-{arch}.pt"
    save_float16(path, model, model.config, encoder, metrics, asdict(config), extra)
    log(f"{path.name}: accuracy {result['accuracy']:.3f}, {result['bits_per_char']:.2f} bits/char, "
        f"{stats['cpu_seconds'] / 60:.1f} CPU-min, {path.stat().st_size / 1e6:.2f} MB")
    return path


def build_word(key: str, out_dir: Path, log: Log = print) -> Path:
    from .word_models import RECIPES, example_rows, recipe_train_config, train_word_model

    recipe = RECIPES[key]
    model, encoder, metrics, corpus = train_word_model(recipe, log)
    extra = {"teaching_kind": "word", "dataset": corpus.name, "labels": list(corpus.labels),
             "examples": example_rows(corpus, recipe.test_split), "data_note": BY_KEY[key].data_note}
    path = out_dir / f"{key}.pt"
    save_float16(path, model, recipe.model_config, encoder, metrics, recipe_train_config(recipe), extra)
    log(f"{path.name}: {recipe.test_split} accuracy {metrics['test_accuracy']:.4f} over {metrics['test_count']:,}, "
        f"{path.stat().st_size / 1e6:.2f} MB")
    return path



BUILDERS: dict[str, Callable[[Path, Log], Path]] = {
    "tutorial-tagger": lambda out, log: build_word("tutorial-tagger", out, log),
    "ewt-pos-lstm": lambda out, log: build_word("ewt-pos-lstm", out, log),
    "sst2-sentiment-lstm": lambda out, log: build_word("sst2-sentiment-lstm", out, log),
    "stdlib-char-lstm": lambda out, log: build_char("lstm", out, log),
    "stdlib-char-gru": lambda out, log: build_char("gru", out, log),
}


def build(only: Optional[Sequence[str]] = None, out_dir: Path = MODELS_DIR, log: Log = print) -> list[Path]:
    keys = list(only) if only else list(BUILDERS)
    unknown = [k for k in keys if k not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown built-in model(s) {unknown}; known: {list(BUILDERS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key in keys:
        t0 = time.time()
        log(f"== {key}: {BY_KEY[key].description}")
        paths.append(BUILDERS[key](out_dir, log))
        log(f"== {key} done in {time.time() - t0:.0f} s")
    return paths

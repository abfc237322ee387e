"""The character model's interpretable cells: for each structural property of code, the unit whose
activation (c_t or h_t) correlates best with it (picked on validation files from the training set), with its
r over the held-out standard-library files, for the built-in LSTM and GRU side by side, with the held-out
accuracy and the training CPU-minutes.

    python benchmarks/bench_char_model.py             # re-measure on the saved built-in models (a few minutes)
    python benchmarks/bench_char_model.py --stored    # print what the build measured (instant)
    python benchmarks/bench_char_model.py --train     # retrain both (the build's own code and settings) into
                                                      # a temporary folder, then measure (CPU-minutes printed)

Goal (issue 11): |r| >= 0.8 for "inside a string literal" and >= 0.6 for "position in the line", from a model
trained within 15 CPU-minutes (one thread). Run with `nice` on a shared machine: CPU time is what is compared.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_viz.teaching.build import build  # noqa: E402
from lstm_viz.teaching.catalog import BY_KEY  # noqa: E402
from lstm_viz.teaching.char_cells import CellFinding, best_units, correlations, stored_findings  # noqa: E402
from lstm_viz.teaching.char_data import (PROPERTY_TITLES, STRING_KIND_TITLES, STRING_KINDS, read_source,  # noqa: E402
                                         stdlib_folder, string_kinds)
from lstm_viz.training.checkpoint import load_checkpoint  # noqa: E402

GOALS = {"in_string": 0.8, "line_position": 0.6}
ARCHS = ("lstm", "gru")


def measure(path: Path, stored: bool) -> tuple[list[CellFinding], dict, float, dict]:
    """Each property's unit picked on the validation files (training files), its r on the held-out files; and
    the string property split into one-line and multi-line literals: {kind: (the in_string unit's r, the best
    unit for the kind)} (not in --stored mode)."""
    model, bundle = load_checkpoint(path)
    if stored:
        return stored_findings(dict(bundle.extra)), dict(bundle.metrics), 0.0, {}
    limit = bundle.train_config["cell_chars_per_file"]

    def table(names, **kw):
        return correlations(model, bundle.encoder, [read_source(stdlib_folder() / n) for n in names], limit, **kw)

    t0 = time.process_time()
    held = table(bundle.extra["held_out_files"])
    findings = best_units(table(bundle.extra["validation_files"]), report=held)
    held_kinds = table(bundle.extra["held_out_files"], labeller=string_kinds)
    kind_best = best_units(table(bundle.extra["validation_files"], labeller=string_kinds), report=held_kinds,
                           props=STRING_KINDS)
    string_unit = {f.prop: f for f in findings}["in_string"]
    split = {f.prop: (float(held_kinds[(string_unit.state, f.prop)][string_unit.unit]), f) for f in kind_best}
    return findings, dict(bundle.metrics), time.process_time() - t0, split


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stored", action="store_true", help="print the build's own measurement")
    mode.add_argument("--train", action="store_true", help="retrain both models into a temporary folder first")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="lstm-viz-char-")) if args.train else None
    paths = {}
    for arch in ARCHS:
        key = f"stdlib-char-{arch}"
        paths[arch] = build([key], folder)[0] if args.train else BY_KEY[key].path
    results = {arch: measure(paths[arch], args.stored) for arch in ARCHS}
    source = "stored by the build" if args.stored else "re-measured now on the saved weights"
    print(f"\nBest unit per property ({source}): picked on validation files (training files), "
          f"r = its Pearson correlation over the held-out files\n")
    header = f"{'property':<28}" + "".join(f"{a.upper() + ' unit':>12}{a.upper() + ' r':>10}" for a in ARCHS) + \
        f"{'  goal':<12}"
    print(header)
    print("-" * len(header))
    by_prop = {arch: {f.prop: f for f in results[arch][0]} for arch in ARCHS}
    for prop, title in PROPERTY_TITLES.items():
        line = f"{title:<28}"
        for arch in ARCHS:
            f = by_prop[arch][prop]
            line += f"{f.state + '[' + str(f.unit) + ']':>12}{f.r:>+10.3f}"
        goal = GOALS.get(prop)
        line += f"{'  |r| >= ' + str(goal) if goal else '':<12}"
        print(line)
    minutes = "".join(f"{'':>12}{results[a][1]['cpu_seconds'] / 60:>10.1f}" for a in ARCHS)
    print(f"{'training CPU-minutes':<28}{minutes}{'  <= 15':<12}")
    if not args.stored:
        print("\nThe string property split (extra rows, not the goal): r of the string unit above with each kind, "
              "and the best unit for the kind (picked on validation files, r on held-out files)\n")
        for kind, title in STRING_KIND_TITLES.items():
            line = f"{title:<28}"
            for arch in ARCHS:
                r_same, best = results[arch][3][kind]
                line += f"{'same unit':>12}{r_same:>+10.3f}"
            print(line)
            line = f"{'':<28}"
            for arch in ARCHS:
                best = results[arch][3][kind][1]
                line += f"{best.state + '[' + str(best.unit) + ']':>12}{best.r:>+10.3f}"
            print(line)
    print()
    for arch in ARCHS:
        findings, m, measure_cpu, _ = results[arch]
        met = ", ".join(f"{PROPERTY_TITLES[p]} {'met' if abs(by_prop[arch][p].r) >= g else 'NOT met'}"
                        for p, g in GOALS.items())
        print(f"{arch.upper()}: held-out next-char accuracy {m['test_accuracy']:.3f} ({m['bits_per_char']:.2f} "
              f"bits/char) on {m['measured_on']}; training {m['cpu_seconds'] / 60:.1f} CPU-minutes "
              f"({m['wall_seconds'] / 60:.1f} wall-minutes on a shared machine), {m['chars_seen']:,} characters "
              f"seen; goals: {met}"
              + (f"; measuring took {measure_cpu:.0f} CPU-s" if measure_cpu else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

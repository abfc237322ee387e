"""Accuracy recipes (issue 10): each task's documented command, run as a user runs it, with its accuracy,
CPU seconds, wall seconds and the machine's load average, in one table.

    python benchmarks/bench_accuracy.py                    # all four (about 30 CPU-minutes)
    python benchmarks/bench_accuracy.py --only polarity sst2
    python benchmarks/bench_accuracy.py --smoke            # every recipe on 200 examples per file (a minute)

Each recipe is `python -m lstm_viz train --data <dataset> --preset <recipe> [--dev-fraction 0.1] --threads 1`:
the model preset and the training preset of the same name (lstm_viz/training/models.py and presets.py) hold
every setting. The epoch is chosen on the dev split (10% of train where the dataset has none) and the result
is measured once, on test (SST-2: GLUE has no labelled test, so dev is both, as usually reported).
"CPU s" is the training's own CPU time as the CLI reports it (user + sys of the process while it trained);
"process CPU s" adds reading the data and the final evaluation. With 1 thread CPU seconds equal wall seconds
on a quiet machine; a larger wall time means other work shared the cores (see the load average).
Datasets are read from ../shared/data next to the repository (or --data-root); a missing one is skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

# name: (dataset folder under the data root, preset, extra options, result split, target)
RECIPES = {
    "polarity": ("sentiment/rt-polarity", "polarity-bilstm", ["--dev-fraction", "0.1"], "test", 0.78),
    "sst2": ("sentiment/sst2", "sst2-bilstm", [], "dev", 0.86),
    "imdb": ("sentiment/imdb-sample/aclImdb", "imdb-bilstm", ["--dev-fraction", "0.1"], "test", 0.80),
    "ewt": ("ud/UD_English-EWT", "ewt-bilstm-char", [], "test", 0.95),
}


def command(name: str, data_root: Path, smoke: bool) -> list[str]:
    folder, preset, extra, _, _ = RECIPES[name]
    args = ["train", "--data", str(data_root / folder), "--preset", preset, *extra, "--threads", "1"]
    return args + (["--limit", "200", "--epochs", "1"] if smoke else [])


def shown(name: str) -> str:
    """The command as the README shows it (dataset folder relative to the data root)."""
    folder, preset, extra, _, _ = RECIPES[name]
    return " ".join(["python -m lstm_viz train --data", f".../{folder.split('/')[-1]}", "--preset", preset,
                     *extra, "--threads 1"])


def run_one(name: str, data_root: Path, smoke: bool) -> dict:
    argv = [sys.executable, "-m", "lstm_viz", *command(name, data_root, smoke), "--json"]
    split, target = RECIPES[name][3], RECIPES[name][4]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    # progress lines (epoch, dev accuracy, CPU-s) go straight to this process's stderr
    proc = subprocess.run(["nice", "-n", "19", *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    wall, load1 = time.perf_counter() - t0, os.getloadavg()[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row = {"task": name, "command": shown(name), "split": split, "target": target, "wall_s": wall,
           "process_cpu_s": cpu, "load": (load0, load1), "returncode": proc.returncode}
    if proc.returncode != 0:
        row["error"] = "see the error line above"
        return row
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(accuracy=result[f"{split}_accuracy"], dev_accuracy=result["dev_accuracy"],
               train_cpu_s=result["train_cpu_seconds"], epochs=result["epochs"], status=result["message"])
    row["ok"] = row["accuracy"] is not None and row["accuracy"] >= target
    return row


def print_table(rows: list[dict]) -> None:
    head = (f"{'task':<9} {'accuracy':>8} {'split':<5} {'target':>6} {'ok':<3} {'CPU s':>6} {'process CPU s':>13} "
            f"{'wall s':>7} {'load (start/end)':>16}  command")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['task']:<9} failed (exit {r['returncode']}): {r['error']}")
            continue
        print(f"{r['task']:<9} {r['accuracy']:>8.4f} {r['split']:<5} {r['target']:>6.2f} "
              f"{'yes' if r['ok'] else 'NO':<3} {r['train_cpu_s']:>6.0f} {r['process_cpu_s']:>13.0f} "
              f"{r['wall_s']:>7.0f} {r['load'][0]:>7.2f}/{r['load'][1]:<8.2f}  {r['command']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=tuple(RECIPES), help="run only these recipes")
    ap.add_argument("--smoke", action="store_true", help="200 examples per file, 1 epoch: check that each runs")
    ap.add_argument("--data-root", type=Path, default=DATA, help="folder holding sentiment/ and ud/")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args()
    rows = []
    for name in args.only or RECIPES:
        folder = args.data_root / RECIPES[name][0]
        if not folder.is_dir():
            print(f"{name}: skipped, {folder} is absent", flush=True)
            continue
        print(f"{name}: {shown(name)} ...", flush=True)
        rows.append(run_one(name, args.data_root, args.smoke))
        print(json.dumps(rows[-1]), flush=True)
    if rows:
        print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["returncode"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

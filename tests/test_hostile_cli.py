"""Hostile-input catalogue, CLI: each bad argument or file ends in one line `lstm-viz <command>: error: ...`,
exit status 2, no traceback, and (for --out) before any training starts. Run in-process through `main()`; the
one case that must be fast from a cold start (`train --out /proc/x.pt`) also runs as a real subprocess."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_viz.cli import main

from . import hostile_files as hf

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "training " not in err  # refused before any training started
    return err


def _files(tmp: Path) -> dict[str, Path]:
    (tmp / "layers.pt").write_bytes(hf.tampered_checkpoint(num_layers=10**6))
    (tmp / "hidden.pt").write_bytes(hf.tampered_checkpoint(hidden_size=100_000))
    (tmp / "evil.pt").write_bytes(hf.code_pickle(tmp / "pwned"))
    (tmp / "stride0.pt").write_bytes(hf.stride0_state_dict(6000))
    (tmp / "latin1.csv").write_bytes("text,label\ncafé,pos\nok,neg\n".encode("latin-1"))
    (tmp / "nolabel.csv").write_text("words,mood\nhi,pos\nho,neg\n")
    (tmp / "big.csv").write_text("text,label\n" + "word,pos\nother,neg\n" * 200)
    return {p.stem: p for p in tmp.iterdir()}


CASES = {  # name -> (argv from the files, words the one error line must hold)
    "--out in /proc": (lambda f: ["train", "--data", "tutorial", "--out", "/proc/x.pt"], "cannot write in /proc"),
    "--out is a folder": (lambda f: ["train", "--data", "tutorial", "--out", str(f["layers"].parent)], "is a folder"),
    "--out is a device": (lambda f: ["train", "--data", "tutorial", "--out", "/dev/null"], "not a regular file"),
    "evaluate num_layers 10**6": (lambda f: ["evaluate", str(f["layers"]), "--data", "tutorial"], "num_layers"),
    "evaluate hidden 100,000": (lambda f: ["evaluate", str(f["hidden"]), "--data", "tutorial"], "hidden_size"),
    "evaluate a code pickle": (lambda f: ["evaluate", str(f["evil"]), "--data", "tutorial"], "plain-data"),
    "evaluate a stride-0 state_dict": (lambda f: ["evaluate", str(f["stride0"]), "--data", "tutorial"],
                                       "stores only"),
    "evaluate /dev/zero": (lambda f: ["evaluate", "/dev/zero", "--data", "tutorial"], "/dev/zero"),
    "train on Latin-1 CSV": (lambda f: ["train", "--data", str(f["latin1"])], "Latin-1"),
    "train on CSV without label column": (lambda f: ["train", "--data", str(f["nolabel"])], "Rename the column"),
    "train with a NUL byte in --data": (lambda f: ["train", "--data", str(f["big"]) + "\x00x"], "NUL byte"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_cli_input_is_one_clear_line(case, tmp_path, capsys):
    argv, needle = CASES[case]
    err = _one_line_error(argv(_files(tmp_path)), capsys)
    assert needle in err, err
    assert not (tmp_path / "pwned").exists()


def test_corpus_over_budget_names_the_environment_variable(tmp_path, capsys, monkeypatch):
    files = _files(tmp_path)
    monkeypatch.setenv("LSTM_VIZ_MAX_CORPUS_BYTES", "1000")
    err = _one_line_error(["train", "--data", str(files["big"])], capsys)
    assert "LSTM_VIZ_MAX_CORPUS_BYTES" in err and "over the limit" in err


def test_unwritable_out_fails_before_training_in_a_real_process(tmp_path):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lstm_viz", "train", "--data", "generated-pos", "--epochs", "50",
                           "--out", "/proc/x.pt"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    assert proc.returncode == 2 and "cannot write in /proc" in proc.stderr and "Traceback" not in proc.stderr
    assert "training " not in proc.stderr  # no training line: it never started (50 epochs would take minutes)
    print(f"train --out /proc/x.pt refused after {seconds:.1f} s (process start and imports included)")

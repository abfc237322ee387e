"""The command line, run as `python -m lstm_viz` in a subprocess and through `main()` in-process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_viz.cli import build_parser, main

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstm_viz", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tutorial.pt"
    proc = _run("train", "--task", "pos", "--data", "tutorial", "--json", "--out", str(out))
    return out, proc


def test_train_json_on_the_tutorial(trained_file):
    out, proc = trained_file
    assert proc.returncode == 0, proc.stderr
    result = _last_json(proc.stdout)
    assert result["task"] == "pos" and result["dataset"] == "tutorial" and result["arch"] == "lstm"
    assert result["dev_accuracy"] == 1.0 and result["test_accuracy"] == 1.0 and result["epochs"] == 300
    assert result["train_seconds"] > 0 and result["tokens_per_second"] > 0 and result["status"] == "finished"
    assert result["train_cpu_seconds"] > 0 and "CPU-s)" in proc.stderr
    assert result["out"] == str(out) and out.is_file()
    assert "epoch 300/300" in proc.stderr and "Traceback" not in proc.stderr


def test_evaluate_json(trained_file):
    out, _ = trained_file
    proc = _run("evaluate", str(out), "--data", "tutorial", "--json")
    assert proc.returncode == 0, proc.stderr
    result = _last_json(proc.stdout)
    assert result["dev_accuracy"] == 1.0 and result["test_accuracy"] == 1.0 and result["dev_count"] == 2


def test_help_documents_every_option():
    proc = _run("train", "--help")
    assert proc.returncode == 0 and "--batch-size" in proc.stdout
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        text = sub.format_help()
        for action in sub._actions:
            for option in action.option_strings:
                assert option in text, (name, option)
            assert action.help, (name, action.dest)  # every option says what it does


def test_bad_data_path_exits_2_with_one_line():
    proc = _run("train", "--data", "/no/such/folder", "--json")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "/no/such/folder" in proc.stderr


@pytest.mark.parametrize("argv, needle", [
    (["train", "--data", "tutorial", "--epochs", "0"], "--epochs"),
    (["train", "--data", "tutorial", "--arch", "transformer"], "--arch"),
    (["train"], "--data"),
    (["train", "--data", "tutorial", "--task", "sentiment"], "sentiment"),
    (["train", "--data", "tutorial", "--dev-fraction", "2"], "fraction"),
    (["train", "--data", "tutorial", "--glove", "/no/glove.txt"], "/no/glove.txt"),
    (["train", "--data", "tutorial", "--out", "/no/dir/m.pt"], "--out"),
    (["evaluate", "/no/model.pt", "--data", "tutorial"], "/no/model.pt"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluate_a_non_checkpoint_and_a_task_mismatch(tmp_path, trained_file, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    assert main(["evaluate", str(junk), "--data", "tutorial"]) == 2
    assert "not a torch checkpoint" in capsys.readouterr().err
    assert main(["evaluate", str(trained_file[0]), "--data", "generated-sentiment", "--limit", "20"]) == 2
    assert "sentiment" in capsys.readouterr().err


def test_train_sentiment_gru_in_process(tmp_path, capsys):
    out = tmp_path / "s.pt"
    code = main(["train", "--data", "generated-sentiment", "--limit", "100", "--arch", "gru", "--layers", "1",
                 "--no-bidirectional", "--embed", "8", "--hidden", "8", "--epochs", "2", "--batch-size", "16",
                 "--lr", "0.01", "--json", "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = _last_json(captured.out)
    assert result["task"] == "sentiment" and result["arch"] == "gru" and not result["bidirectional"]
    assert result["epochs"] == 2 and 0 <= result["dev_accuracy"] <= 1 and result["params"] > 0
    assert captured.err == ""  # --quiet
    assert main(["evaluate", str(out), "--data", "generated-sentiment", "--limit", "100", "--split", "test",
                 "--json"]) == 0
    assert _last_json(capsys.readouterr().out)["test_accuracy"] == result["test_accuracy"]


ALARM_RUN = ["train", "--data", "generated-pos", "--limit", "160", "--embed", "16", "--hidden", "16", "--no-char",
             "--epochs", "2", "--batch-size", "8", "--probe-every", "10", "--monitor-share", "0", "--threads", "1",
             "--json"]


def test_train_prints_the_saturation_alarm_as_it_is_raised(capsys):
    """Forget-gate biases at +8 saturate f from the first probe: with probes at steps 0, 10, 20, ... and the
    default patience of 3, the alarm comes at step 20, in the log before the epoch-1 line, and in the JSON."""
    assert main([*ALARM_RUN, "--forget-bias", "8"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    alarm_lines = [i for i, line in enumerate(lines) if line.startswith("ALARM saturation: step 20: gate f")]
    assert len(alarm_lines) == 2  # both directions, once each
    assert "above 0.9) for 3 probes in a row (see the saturation view)" in lines[alarm_lines[0]]
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/2"))
    assert max(alarm_lines) < first_epoch  # printed as it happened, not at the end
    alarms = _last_json(captured.out)["alarms"]
    assert {(a["kind"], a["gate"], a["layer"], a["direction"], a["step"]) for a in alarms} == {
        ("saturation", "f", 0, 0, 20), ("saturation", "f", 0, 1, 20)}
    assert all(a["value"] > 0.99 and a["view"] == "saturation" for a in alarms)


def test_a_normal_run_prints_no_alarm_and_thresholds_are_flags(capsys):
    assert main(ALARM_RUN) == 0
    captured = capsys.readouterr()
    assert "ALARM" not in captured.err and _last_json(captured.out)["alarms"] == []
    # thresholds are configurable: call a gate saturated already outside 0.45-0.55, on 10% of its values
    assert main([*ALARM_RUN, "--saturation-low", "0.45", "--saturation-high", "0.55", "--saturation-share",
                 "0.1", "--alarm-patience", "1"]) == 0
    captured = capsys.readouterr()
    assert "ALARM saturation: step 0: gate" in captured.err
    assert "below 0.45" in captured.err and "above 0.55" in captured.err
    assert main([*ALARM_RUN, "--saturation-low", "0.9", "--saturation-high", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "--saturation-low" in err and "need 0 <= low < high <= 1" in err and len(err.strip().splitlines()) == 1
    assert main([*ALARM_RUN, "--no-alarms"]) == 0
    assert _last_json(capsys.readouterr().out)["alarms"] == []


def test_a_recipe_preset_brings_its_training_preset_and_flags_still_win():
    """`--preset NAME` takes the model preset and, where one has the same name, the training preset (the accuracy
    recipes of benchmarks/bench_accuracy.py); explicit flags override both."""
    from lstm_viz.cli import _model_config, _train_config
    from lstm_viz.training import TRAIN_PRESETS
    from lstm_viz.training.models import PRESETS

    parser = build_parser()
    recipes = sorted(set(PRESETS) & set(TRAIN_PRESETS) - {"tutorial"})
    assert recipes, "no model preset has a training preset of the same name"
    for name in recipes:
        args = parser.parse_args(["train", "--data", "somewhere", "--preset", name])
        model, train = _model_config(args, PRESETS[name].task, "somewhere"), _train_config(args, "somewhere", True)
        assert model == PRESETS[name]
        expected = TRAIN_PRESETS[name]
        assert (train.lr, train.lr_decay, train.epochs, train.batch_size, train.weight_decay) == \
            (expected.lr, expected.lr_decay, expected.epochs, expected.batch_size, expected.weight_decay)
        assert train.restore_best  # the epoch is chosen on dev
    args = parser.parse_args(["train", "--data", "somewhere", "--preset", recipes[0], "--lr", "0.01",
                              "--weight-decay", "1e-5", "--word-dropout", "0.25", "--pooling", "mean+max"])
    model, train = _model_config(args, "sentiment", "somewhere"), _train_config(args, "somewhere", False)
    assert (train.lr, train.weight_decay, model.word_dropout, model.pooling) == (0.01, 1e-5, 0.25, "mean+max")
    plain = _train_config(parser.parse_args(["train", "--data", "somewhere", "--preset", "pos-bilstm"]), "x", True)
    assert plain.lr == TRAIN_PRESETS["default"].lr  # no training preset of that name: the default one

"""The built-in teaching models: present, small, plain-data, and each reproduces its recorded held-out
accuracy on the real data; the character model's properties and coloured view."""
from __future__ import annotations

import pytest
import torch

from lstm_viz.teaching.builtin import builtin_subject, load_builtin
from lstm_viz.teaching.catalog import BUILTINS
from lstm_viz.teaching.char_data import char_properties, read_source, stdlib_folder, text_digest
from lstm_viz.teaching.char_cells import best_units, correlations, stored_findings
from lstm_viz.teaching.char_model import CharModelConfig, evaluate_char_model, learning_rate
from lstm_viz.teaching.char_view import check_code, colored_code_html, diverging_colour
from lstm_viz.teaching.word_models import DATA_ROOT, RECIPES
from lstm_viz.files.inputs import InputError
from lstm_viz.training.checkpoint import load_checkpoint
from lstm_viz.training.evaluation import evaluate

MAX_TOTAL_BYTES = 15_000_000  # the budget for every built-in model together


def test_every_builtin_model_is_built_and_small():
    missing = [spec.key for spec in BUILTINS if not spec.path.is_file()]
    assert not missing, f"run: python -m lstm_viz.teaching build --only {' '.join(missing)}"
    total = sum(spec.path.stat().st_size for spec in BUILTINS)
    assert total <= MAX_TOTAL_BYTES, f"built-in models take {total:,} bytes"


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.key)
def test_checkpoint_is_plain_data_with_its_measurement(spec):
    raw = torch.load(spec.path, map_location="cpu", weights_only=True)  # refuses anything but plain data
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    model, bundle = load_checkpoint(spec.path)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # float16 on disk, float32 to compute
    assert 0.0 < bundle.metrics["test_accuracy"] <= 1.0
    assert bundle.metrics["measured_on"]


def _ewt_test():
    from lstm_viz.data.conllu import read_conllu

    return read_conllu(DATA_ROOT / "ud" / "UD_English-EWT" / "en_ewt-ud-test.conllu")


def _sst2_dev():
    from lstm_viz.data.sentiment_files import read_sst2_tsv

    return read_sst2_tsv(DATA_ROOT / "sentiment" / "sst2" / "dev.tsv")


HELD_OUT = {"ewt-pos-lstm": _ewt_test, "sst2-sentiment-lstm": _sst2_dev,
            "tutorial-tagger": lambda: RECIPES["tutorial-tagger"].corpus().test}


@pytest.mark.parametrize("key", list(HELD_OUT))
def test_word_model_reproduces_its_recorded_accuracy(key):
    if key != "tutorial-tagger" and not DATA_ROOT.is_dir():
        pytest.skip(f"the real datasets are not here ({DATA_ROOT}); set LSTM_VIZ_DATA to their folder")
    model, bundle = load_builtin(key)
    result = evaluate(model, HELD_OUT[key](), bundle.encoder)
    assert result.count == bundle.metrics["test_count"]
    # the same weights and data: equal up to a near-tie flipping under another batch layout
    assert abs(result.accuracy - bundle.metrics["test_accuracy"]) <= 1.0 / result.count + 1e-9
    floor = {"tutorial-tagger": 1.0, "ewt-pos-lstm": 0.85, "sst2-sentiment-lstm": 0.75}[key]
    assert result.accuracy >= floor


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_char_model_reproduces_its_recorded_accuracy(arch):
    model, bundle = load_builtin(f"stdlib-char-{arch}")
    names, limit = bundle.extra["held_out_files"], bundle.train_config["eval_chars_per_file"]
    paths = [stdlib_folder() / n for n in names]
    if not all(p.is_file() for p in paths):
        pytest.skip("this Python's standard library lacks some of the held-out files")
    texts = [read_source(p)[:limit] for p in paths]
    if text_digest(texts) != bundle.extra["held_out_digest"]:
        pytest.skip("this Python's standard-library files differ from those the model was measured on")
    result = evaluate_char_model(model, bundle.encoder, texts)
    assert result["chars"] == bundle.metrics["test_chars"]
    assert abs(result["accuracy"] - bundle.metrics["test_accuracy"]) <= 1.0 / result["chars"] + 1e-9
    assert not set(names) & set(bundle.extra["train_files"])  # held out means never trained on


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_char_findings_are_picked_on_training_files_and_reported_on_held_out_files(arch):
    """Re-measure: each property's unit is the best on the validation files (training files, never held out),
    and its r over the held-out files is the one recorded."""
    model, bundle = load_builtin(f"stdlib-char-{arch}")
    extra, limit = bundle.extra, bundle.train_config["cell_chars_per_file"]
    picked_on, held = extra["validation_files"], extra["held_out_files"]
    assert set(picked_on) <= set(extra["train_files"]) and not set(picked_on) & set(held)
    paths = [stdlib_folder() / n for n in picked_on + held]
    if not all(p.is_file() for p in paths):
        pytest.skip("this Python's standard library lacks some of the files the model was measured on")
    held_texts = [read_source(stdlib_folder() / n) for n in held]
    if text_digest([t[: bundle.train_config["eval_chars_per_file"]] for t in held_texts]) != extra["held_out_digest"]:
        pytest.skip("this Python's standard-library files differ from those the model was measured on")
    validation = correlations(model, bundle.encoder, [read_source(stdlib_folder() / n) for n in picked_on], limit)
    report = correlations(model, bundle.encoder, held_texts, limit)
    again = best_units(validation, report=report)
    stored = stored_findings(dict(extra))
    assert [(f.prop, f.state, f.unit) for f in again] == [(f.prop, f.state, f.unit) for f in stored]
    for new, old in zip(again, stored):
        assert abs(new.r - old.r) < 1e-4 and abs(new.r_validation - old.r_validation) < 1e-4
        assert abs(extra["correlations"][old.state][old.prop][old.unit] - old.r) < 1e-4


def test_best_units_picks_on_one_table_and_reports_another():
    import numpy as np

    from lstm_viz.teaching.char_data import PROPERTIES

    pick = {(s, p): np.array([0.1, -0.9, 0.5]) if s == "c" else np.array([0.2, 0.3, -0.4])
            for s in ("c", "h") for p in PROPERTIES}
    report = {(s, p): np.array([0.7, -0.6, 0.95]) if s == "c" else np.array([0.99, 0.0, 0.0])
              for s in ("c", "h") for p in PROPERTIES}
    found = best_units(pick, report=report)
    assert all((f.state, f.unit, f.r, f.r_validation) == ("c", 1, -0.6, -0.9) for f in found)
    assert all((f.state, f.unit, f.r) == ("c", 1, -0.9) for f in best_units(pick))


def test_char_learning_rate_decays_from_peak_to_floor():
    config = CharModelConfig(steps=101, lr=0.01, final_lr_factor=0.05)
    rates = [learning_rate(config, s) for s in range(101)]
    assert rates[0] == pytest.approx(0.01) and rates[-1] == pytest.approx(0.0005)
    assert rates[50] == pytest.approx(0.00525) and all(a >= b for a, b in zip(rates, rates[1:]))


def test_char_learning_rate_warms_up_then_decays():
    config = CharModelConfig(steps=110, lr=0.01, final_lr_factor=0.05, warmup_steps=10)
    rates = [learning_rate(config, s) for s in range(110)]
    assert rates[0] == pytest.approx(0.001) and rates[9] == pytest.approx(0.01) == rates[10]
    assert all(a < b for a, b in zip(rates[:10], rates[1:10]))  # rising over the warm-up
    assert all(a >= b for a, b in zip(rates[10:], rates[11:])) and rates[-1] == pytest.approx(0.0005)


def test_char_training_stops_at_its_cpu_budget():
    """The guard: a budget smaller than the steps need ends training early and says how far it got."""
    from lstm_viz.teaching.char_model import train_char_model

    text = read_source(stdlib_folder() / "os.py")[:20_000]
    config = CharModelConfig(hidden_size=16, embed_dim=8, batch_size=4, seq_len=20, steps=100_000,
                             max_cpu_seconds=0.2)
    lines = []
    model, _, stats = train_char_model(config, text, log=lines.append)
    assert 0 < stats["steps"] < config.steps and stats["chars_seen"] == stats["steps"] * 4 * 20
    assert any("stopped at step" in line for line in lines)


def test_ewt_tagger_subject_shows_saturated_gates():
    """What a fresh Gates page shows: the built-in tagger, with gates that are mostly decided (near 0 or 1)."""
    subject = builtin_subject("ewt-pos-lstm")
    probe = subject.input_from_text("The quick brown fox jumps over the lazy dog near the river bank")
    rec = subject.trace(probe)
    gates = torch.stack([rec.gates[g] for g in ("i", "f", "o")]).numpy()
    saturated = float(((gates < 0.1) | (gates > 0.9)).mean())
    assert saturated >= 0.25, f"only {saturated:.0%} of the gate values are saturated"
    tagged = subject.predict([("The", "dog", "ate", "the", "bread")])[0]
    assert list(tagged) == ["DET", "NOUN", "VERB", "DET", "NOUN"]  # the gold UPOS tags


def test_char_properties_follow_python_tokens():
    text = 'def f(x):\n    # hi\n    s = "ab"  # c\n    return s\n'
    p = char_properties(text)
    at = lambda sub, k=0: text.index(sub) + k  # noqa: E731
    assert p.in_string[at('"ab"'):at('"ab"', 4)].tolist() == [1, 1, 1, 1]
    assert p.in_string[at("s =")] == 0 and p.in_string[at("return")] == 0
    assert p.in_comment[at("# hi"):at("# hi", 4)].tolist() == [1, 1, 1, 1] and p.in_comment[at('"ab"')] == 0
    assert p.indent_depth[at("def")] == 0 and p.indent_depth[at("return")] == 1
    assert p.indent_depth[at("# hi")] == 1  # a comment line takes the depth of the code it introduces
    assert p.line_position[at("return")] == 4 and p.line_position[0] == 0


def test_string_kinds_split_the_string_property_by_extent():
    from lstm_viz.teaching.char_data import string_kinds

    text = 'def f():\n    """Doc\n    more."""\n    return "x" + \'\'\'y\'\'\'\n'
    kinds = string_kinds(text)
    one, multi = kinds["in_one_line_string"], kinds["in_multi_line_string"]
    doc = text.index('"""Doc')
    assert multi[doc:text.index('more."""') + 8].all() and not one[doc:text.index('more."""') + 8].any()
    assert one[text.index('"x"'):text.index('"x"') + 3].all()
    assert one[text.index("\'\'\'y"):text.index("y\'\'\'") + 4].all()  # triple quotes on one line
    assert (one + multi).tolist() == char_properties(text).in_string.tolist()  # together: in_string exactly


def test_check_code_bounds():
    for bad, words in (("", "empty"), ("   \n", "empty"), ("abc\x00def", "binary"),
                       ("".join(chr(k) for k in range(1, 31)) * 5, "binary")):
        with pytest.raises(InputError, match=words):
            check_code(bad)
    text, note = check_code("x = 1\n" * 2000)  # 12,000 characters
    assert len(text) == 4000 and "12,000" in note and "4,000" in note
    assert check_code("print('hi')\r\n") == ("print('hi')\n", "")


def test_colored_code_html_uses_the_fixed_scale_and_escapes():
    assert diverging_colour(-1) == "rgb(33,102,172)" and diverging_colour(0) == "rgb(255,255,255)"
    assert diverging_colour(5.0) == diverging_colour(1.0) == "rgb(178,24,43)"  # clipped, never rescaled
    html = colored_code_html("<a>\n", [1.0, 0.0, -1.0, 0.5])
    assert "&lt;" in html and "<a>" not in html
    assert html.count("<span") == 4 and "rgb(178,24,43)" in html and "rgb(33,102,172)" in html
    with pytest.raises(ValueError, match="one value per character"):
        colored_code_html("ab", [0.0])
    assert "white-space:pre-wrap" in colored_code_html("ab", [0.0, 1.0], wrap=True)
    assert 'white-space:pre"' in colored_code_html("ab", [0.0, 1.0])


def test_build_command_reproduces_the_shipped_tutorial_tagger(tmp_path):
    """The build is deterministic: rebuilding a model gives exactly the weights that ship."""
    from lstm_viz.teaching.build import build

    rebuilt = build(["tutorial-tagger"], tmp_path, log=lambda line: None)[0]
    fresh = torch.load(rebuilt, map_location="cpu", weights_only=True)
    shipped = torch.load(BUILTINS[0].path, map_location="cpu", weights_only=True)
    assert fresh["state_dict"].keys() == shipped["state_dict"].keys()
    assert all(torch.equal(fresh["state_dict"][k], shipped["state_dict"][k]) for k in shipped["state_dict"])
    assert fresh["metrics"] == shipped["metrics"]

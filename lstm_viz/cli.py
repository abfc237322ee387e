"""Command line: `python -m lstm_viz train ...` and `python -m lstm_viz evaluate FILE ...`.

Progress goes to stderr; with --json the last stdout line is one JSON object. Bad input (missing file,
unreadable dataset, bad option) prints one line to stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from typing import Optional, Sequence

import torch

from .training.models import ARCHS, POOLINGS, PRESETS, ModelConfig, build_model, load_glove, preset
from .data.splits import hold_out_dev
from .training import TRAIN_PRESETS, TrainConfig, Trainer, build_encoder, evaluate
from .training.building import seeded_model, set_forget_bias
from .cli_alarms import add_alarm_options, alarm_config, alarms_json, watch_alarms

EXIT_USAGE = 2  # bad options, missing or unreadable files
EXIT_FAILED = 1  # training ran but failed (e.g. the loss became NaN)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + error
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Help(argparse.HelpFormatter):
    """Shows an option's default only where it has a meaningful one (not None/False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if not (default is None or default is False or default is argparse.SUPPRESS) \
                and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lstm_viz", description="Train and evaluate LSTM/GRU/RNN taggers and "
                     "sentiment classifiers whose gates lstm-viz can record.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate}")

    t = sub.add_parser("train", help="train a model and optionally save a checkpoint",
                       description="Train a part-of-speech tagger or a sentiment classifier. Options left out "
                       "come from --preset (default: 'tutorial' for --data tutorial, else 'pos-bilstm-char' "
                       "or 'sentiment-bilstm' by task).", formatter_class=_Help)
    t.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                   help="dataset name (tutorial, generated-pos, generated-sentiment, or a downloaded one) "
                        "or a local file/folder (UD .conllu, rt-polarity, SST-2, aclImdb, CSV/TSV)")
    t.add_argument("--task", choices=("pos", "sentiment"), help="pos tagging or sentiment; default: the dataset's")
    t.add_argument("--preset", choices=sorted(PRESETS), help="model preset to start from (with the training "
                   "preset of the same name where there is one: tutorial and the accuracy recipes)")
    t.add_argument("--arch", choices=tuple(ARCHS), help="recurrent layer: torch.nn.LSTM, GRU or RNN")
    t.add_argument("--layers", type=_positive_int, help="stacked recurrent layers")
    t.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, help="read in both directions")
    t.add_argument("--char", action=argparse.BooleanOptionalAction,
                   help="add character BiLSTM features per word")
    t.add_argument("--embed", type=_positive_int, metavar="E", help="word embedding size")
    t.add_argument("--hidden", type=_positive_int, metavar="H", help="units per direction")
    t.add_argument("--char-embed", type=_positive_int, metavar="E", help="character embedding size (--char)")
    t.add_argument("--char-hidden", type=_positive_int, metavar="H", help="char BiLSTM units per direction")
    t.add_argument("--dropout", type=float, help="dropout on rnn inputs, between layers and before the output")
    t.add_argument("--pooling", choices=POOLINGS,
                   help="sentiment features: final states of both directions, max/mean over time, or both")
    t.add_argument("--word-dropout", type=float, metavar="P",
                   help="while training, a word becomes <unk> with probability P")
    t.add_argument("--lowercase", action=argparse.BooleanOptionalAction, help="fold case before word lookup")
    t.add_argument("--min-freq", type=_positive_int, help="rarer training words become <unk>")
    t.add_argument("--glove", metavar="FILE", help="initialise word embeddings from a GloVe text file "
                   "(its dimension must equal --embed)")
    t.add_argument("--forget-bias", type=float, metavar="B",
                   help="initialise every LSTM forget-gate bias to B (1: common advice; 8 saturates the gates)")
    t.add_argument("--epochs", type=_positive_int, help="passes over the training data")
    t.add_argument("--lr-decay", type=float, metavar="F", help="multiply the learning rate by F after each epoch")
    t.add_argument("--batch-size", type=_positive_int, metavar="B", help="sequences per step")
    t.add_argument("--lr", type=_positive_float, help="learning rate")
    t.add_argument("--optimizer", choices=("sgd", "adam"), help="optimizer")
    t.add_argument("--weight-decay", type=float, metavar="L2", help="L2 penalty passed to the optimizer")
    t.add_argument("--clip", type=float, metavar="NORM", help="gradient norm clipping (0: off)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto", help="where to train")
    t.add_argument("--seed", type=int, default=0, help="random seed (initialisation, batches, dropout)")
    t.add_argument("--max-steps", type=_positive_int, help="stop after this many steps")
    t.add_argument("--time-budget", type=_positive_float, metavar="SECONDS", help="stop training after this long")
    t.add_argument("--dev-fraction", type=float, default=0.0, metavar="F",
                   help="for a dataset without a dev split, hold out this fraction of train as dev")
    t.add_argument("--limit", type=_positive_int, metavar="N",
                   help="read at most N examples per file (quick runs on big datasets)")
    t.add_argument("--keep-last", action="store_true",
                   help="keep the final weights instead of those of the best dev accuracy")
    t.add_argument("--threads", type=_positive_int, help="CPU threads for torch (default: torch's choice)")
    t.add_argument("--out", metavar="FILE", help="save a checkpoint (plain data) to this file")
    t.add_argument("--json", action="store_true", help="print one JSON object with the results as the last line")
    t.add_argument("--quiet", action="store_true", help="no progress or alarm lines on stderr")
    add_alarm_options(t)

    e = sub.add_parser("evaluate", help="evaluate a saved checkpoint on a dataset",
                       description="Accuracy and loss of a checkpoint on the dev and test splits of a dataset.",
                       formatter_class=_Help)
    e.add_argument("checkpoint", metavar="FILE", help="a checkpoint written by `train --out`")
    e.add_argument("--data", required=True, metavar="NAME_OR_PATH", help="dataset name or local path (as for train)")
    e.add_argument("--split", choices=("train", "dev", "test", "all"), default="all",
                   help="which split; 'all' means dev and test")
    e.add_argument("--batch-size", type=_positive_int, default=128, metavar="B", help="sequences per batch")
    e.add_argument("--limit", type=_positive_int, metavar="N", help="read at most N examples per file")
    e.add_argument("--json", action="store_true", help="print one JSON object with the results as the last line")
    return parser


def _load_corpus(name: str, task: Optional[str], limit: Optional[int]):
    try:
        from .data.registry import load_corpus
    except ImportError:  # a partial checkout without the dataset registry: only the built-in tutorial
        from .data import tutorial_corpus
        if name != "tutorial":
            raise ValueError(f"unknown dataset {name!r}; only 'tutorial' is available here") from None
        return tutorial_corpus()
    options = {"limit": limit} if limit else {}
    if name == "tutorial":
        options = {}
    elif limit and name in ("generated-pos", "generated-sentiment"):
        small = max(1, limit // 5)
        options = {"n_train": limit, "n_dev": small, "n_test": small}
    return load_corpus(name, task, **options)


def _model_config(args, task: str, data: str) -> ModelConfig:
    name = args.preset or ("tutorial" if data == "tutorial" else
                           "pos-bilstm-char" if task == "pos" else "sentiment-bilstm")
    cfg = preset(name)
    if cfg.task != task:
        cfg = replace(cfg, task=task)
    changes = {k: v for k, v in {
        "arch": args.arch, "num_layers": args.layers, "bidirectional": args.bidirectional,
        "embed_dim": args.embed, "hidden_size": args.hidden, "dropout": args.dropout,
        "lowercase": args.lowercase, "min_freq": args.min_freq, "pooling": args.pooling,
        "word_dropout": args.word_dropout}.items() if v is not None}
    if args.char is False:
        changes.update(char_embed_dim=0, char_hidden=0)
    elif args.char or args.char_embed or args.char_hidden:
        changes.update(char_embed_dim=args.char_embed or cfg.char_embed_dim or 32,
                       char_hidden=args.char_hidden or cfg.char_hidden or 64)
    return replace(cfg, **changes)


# The command line shows no gates: probes only feed the alarms (within the monitoring share), no gate norms;
# its progress line reads the step events, so one every 10 steps is enough.
COMMAND_LINE_MONITORING = {"grad_norm_every": 0, "log_every": 10}


def _train_config(args, data: str, has_dev: bool) -> TrainConfig:
    # a model preset with a training preset of the same name brings it (the accuracy recipes, "tutorial")
    cfg = TRAIN_PRESETS.get(args.preset) or TRAIN_PRESETS["tutorial" if data == "tutorial" and not args.preset
                                                          else "default"]
    changes = {k: v for k, v in {
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
        "max_steps": args.max_steps, "time_budget_s": args.time_budget, "lr_decay": args.lr_decay,
        "weight_decay": args.weight_decay, "probe_every": args.probe_every,
        "monitor_budget": args.monitor_share}.items() if v is not None}
    if args.optimizer and args.lr is None and cfg.optimizer != args.optimizer:  # that optimizer's usual rate
        changes["lr"] = {"sgd": 0.1, "adam": 1e-3}[args.optimizer]
    if args.clip is not None:
        changes["clip_grad_norm"] = args.clip if args.clip > 0 else None
    if not args.alarms:
        changes["probe_every"] = 0
    changes.update(device=args.device, seed=args.seed, restore_best=has_dev and not args.keep_last,
                   **COMMAND_LINE_MONITORING)
    return replace(cfg, **changes)


def _progress_printer(trainer: Trainer, quiet: bool):
    epochs = trainer.train_config.epochs
    every = max(1, epochs // 20)
    t0, c0 = time.perf_counter(), time.process_time()

    def on_epoch_end(tr: Trainer) -> None:
        snap = tr.snapshot()
        if quiet or (snap.epoch % every and snap.epoch != epochs):
            return
        m = snap.metrics
        parts = [f"epoch {snap.epoch}/{epochs}", f"step {snap.step}/{snap.total_steps}"]
        if "loss" in m:
            parts.append(f"loss {m['loss']:.4f}  train acc {m['accuracy']:.3f}")
        if "dev_accuracy" in m:
            parts.append(f"dev acc {m['dev_accuracy']:.4f}")
        if "tokens_per_s" in m:
            parts.append(f"{m['tokens_per_s']:.0f} tok/s")
        parts.append(f"{time.perf_counter() - t0:.1f}s ({time.process_time() - c0:.0f} CPU-s)")
        if snap.eta_s is not None:
            parts.append(f"eta {snap.eta_s:.0f}s")
        print("  ".join(parts), file=sys.stderr, flush=True)

    return on_epoch_end


def _split_result(model, examples, encoder, batch_size: int):
    if not examples:
        return None, None
    res = evaluate(model, examples, encoder, batch_size=batch_size)
    return (None, None) if res is None else (res.accuracy, res.loss)


def cmd_train(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # dropout masks; the Trainer seeds the initialisation itself
    if args.out:  # before any work: a run that cannot be saved is refused now, not after training (H3)
        from .files.out_paths import check_writable_file
        check_writable_file(args.out, "--out")
    alarms = alarm_config(args) if args.alarms else None  # bad thresholds are refused before any work
    corpus = _load_corpus(args.data, args.task, args.limit)
    corpus = hold_out_dev(corpus, args.dev_fraction, args.seed)
    task = args.task or corpus.task
    model_config = _model_config(args, task, args.data)
    train_config = _train_config(args, args.data, bool(corpus.dev))
    encoder = build_encoder(model_config, corpus)
    model = None
    if args.glove:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train_config.seed)
            model = build_model(model_config, len(encoder.vocab), len(encoder.labels),
                                len(encoder.char_vocab) if encoder.char_vocab else 0)
        model.set_embeddings(load_glove(args.glove, encoder.vocab, model_config.embed_dim))
    if args.forget_bias is not None:
        model = model if model is not None else seeded_model(model_config, encoder, train_config.seed)
        set_forget_bias(model, args.forget_bias)
    trainer = Trainer(model_config, train_config, corpus, encoder=encoder, model=model)
    watcher = watch_alarms(trainer, alarms, args.quiet) if alarms is not None else None
    trainer.add_callback("on_epoch_end", _progress_printer(trainer, args.quiet))
    if not args.quiet:
        n_params = sum(p.numel() for p in trainer.model.parameters())
        print(f"training {type(trainer.model).__name__} ({model_config.arch}, {n_params} parameters) on "
              f"{corpus.name}: {len(corpus.train)} train / {len(corpus.dev)} dev / {len(corpus.test)} test, "
              f"{trainer.total_steps} steps on {trainer.device}", file=sys.stderr, flush=True)
    cpu0 = time.process_time()
    trainer.start()
    try:
        while not trainer.join(0.2):
            pass
    except KeyboardInterrupt:
        print("stopping after the current step ...", file=sys.stderr, flush=True)
        trainer.stop()
        trainer.join()
    if trainer.error is not None:
        raise trainer.error
    snap = trainer.snapshot()
    train_cpu_s = time.process_time() - cpu0  # CPU time of the whole process while it trained
    model = trainer.model
    dev_acc, dev_loss = _split_result(model, corpus.dev, encoder, train_config.eval_batch_size)
    test_acc, test_loss = _split_result(model, corpus.test, encoder, train_config.eval_batch_size)
    metrics = {"dev_accuracy": dev_acc, "dev_loss": dev_loss, "test_accuracy": test_acc, "test_loss": test_loss,
               "steps": snap.step, "epochs": snap.epoch, "train_seconds": snap.elapsed_s}
    if args.out and snap.status != "failed":
        from .training.checkpoint import save_checkpoint
        save_checkpoint(args.out, model, model_config, encoder, metrics, train_config,
                        extra={"dataset": corpus.name, "source": corpus.source})
    if not args.quiet:
        print(f"{snap.status}: {snap.message}", file=sys.stderr)
        print(f"dev accuracy {_fmt(dev_acc)}  test accuracy {_fmt(test_acc)}", file=sys.stderr, flush=True)
    if args.json:
        seconds = snap.elapsed_s
        print(json.dumps({
            "task": task, "dataset": corpus.name, "arch": model_config.arch, "status": snap.status,
            "message": snap.message, "layers": model_config.num_layers,
            "bidirectional": model_config.bidirectional, "char": model_config.char_features,
            "dev_accuracy": dev_acc, "dev_loss": dev_loss, "test_accuracy": test_acc, "test_loss": test_loss,
            "epochs": snap.epoch, "steps": snap.step, "train_seconds": round(seconds, 3),
            "train_cpu_seconds": round(train_cpu_s, 1),
            "tokens_per_second": round(snap.metrics.get("tokens_seen", 0) / seconds, 1) if seconds > 0 else None,
            "device": str(trainer.device), "params": sum(p.numel() for p in model.parameters()),
            "out": args.out if args.out and snap.status != "failed" else None, "alarms": alarms_json(watcher),
            "monitoring_share": snap.metrics.get("monitoring_share"),
        }), flush=True)
    return EXIT_FAILED if snap.status == "failed" else 0


def _fmt(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def cmd_evaluate(args) -> int:
    from .training.checkpoint import load_checkpoint

    model, bundle = load_checkpoint(args.checkpoint)
    corpus = _load_corpus(args.data, bundle.model_config.task, args.limit)
    splits = ("dev", "test") if args.split == "all" else (args.split,)
    result = {"checkpoint": str(args.checkpoint), "task": bundle.model_config.task, "dataset": corpus.name,
              "arch": bundle.model_config.arch}
    for split in splits:
        acc, loss = _split_result(model, corpus.split(split), bundle.encoder, args.batch_size)
        result[f"{split}_accuracy"], result[f"{split}_loss"] = acc, loss
        result[f"{split}_count"] = len(corpus.split(split))
        print(f"{split}: accuracy {_fmt(acc)}  loss {_fmt(loss)}  ({len(corpus.split(split))} examples)",
              file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(result), flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return cmd_train(args) if args.command == "train" else cmd_evaluate(args)
    except (ValueError, TypeError, OSError, RuntimeError) as err:  # DataError and CheckpointError are ValueErrors
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"lstm-viz {args.command}: error: {message}", file=sys.stderr, flush=True)
        return EXIT_USAGE

"""Training benchmarks: the tutorial, the Trainer against a plain PyTorch loop, lecture presets, epoch estimates.

    python benchmarks/bench_training.py             # tutorial + ratio table (a)-(d) (~10-20 min on 2 cores)
    python benchmarks/bench_training.py --lecture   # + the lecture presets: curve within 10 s, accuracy at 60 s
    python benchmarks/bench_training.py --estimate --skip-quick   # epoch-time estimate vs a measured epoch
    python benchmarks/bench_training.py --smoke     # every code path with tiny settings (a few minutes)

Ratio table: tokens/s of the Trainer over tokens/s of a plain PyTorch loop, with the Trainer monitored as
`python -m lstm_viz train` runs it by default (the preset's probe recordings for the alarms, a copy of the last
good weights every step, a StepEvent every 10 steps, threads as configured) and as the app's Train page runs it
(also a StepEvent every step and per-gate gradient norms every 10 steps), same model initialisation and same
batches, for (a) the tutorial tagger, (b) SST-2 sentences, (c) IMDB reviews (long documents) and (d) UD
English-EWT, each with the preset `python -m lstm_viz train` uses for that data by default. The plain loop
feeds the padded batch straight into the model without packing (what a practitioner writes; nn.LSTM then runs
its fused kernel), while the Trainer keeps packed semantics (lstm_viz.training.fused_packed). Runs alternate;
the ratio of medians is printed (target >= 0.90), by wall time and by CPU time (steadier on a shared machine). The
Trainer's time is all of `trainer.run()`: the probe at step 0, every step with its monitoring, and the probe
after the last step (the monitoring share counts both); only building the Trainer (vocabularies, padding the
batches once) is outside, as building the batches is for the plain loop.
Real corpora are read from ../shared/data (next to the repo); `--threads 1` helps on a crowded machine (idle
OpenMP threads spin while waiting for a core). The accuracy targets are benchmarks/bench_accuracy.py's: it runs
each recipe's command as a user does.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_viz.data.batching import make_batches  # noqa: E402
from lstm_viz.data import (  # noqa: E402
    generated_pos_corpus, generated_sentiment_corpus, load_corpus, tutorial_corpus,
)
from lstm_viz.training.models import ModelConfig, build_model, preset  # noqa: E402
from lstm_viz.training.presets import estimate_epoch_seconds  # noqa: E402
from lstm_viz.data.splits import hold_out_dev  # noqa: E402
from lstm_viz.cli import COMMAND_LINE_MONITORING  # noqa: E402
from lstm_viz.training import (  # noqa: E402
    TRAIN_PRESETS, TrainConfig, Trainer, build_encoder,
)

DATA = ROOT.parent / "shared" / "data"
TUTORIAL = [["The", "dog", "ate", "the", "apple"], ["Everybody", "read", "that", "book"]]


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- 1. the tutorial --------------------------------------------------------------------------------------------
def bench_tutorial(repeats: int) -> dict:
    cfg = replace(TRAIN_PRESETS["tutorial"], device="cpu")
    times, tags = [], None
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        trainer = Trainer(preset("tutorial"), cfg, tutorial_corpus())
        snap = trainer.run()
        times.append(time.perf_counter() - t0)
        tags = trainer.predict(TUTORIAL)
        assert snap.status == "finished", snap.message
    ok = tags == [("DET", "NN", "V", "DET", "NN"), ("NN", "V", "DET", "NN")]
    res = {"cold_s": times[0], "warm_s": statistics.median(times[1:]), "tags": [" ".join(t) for t in tags],
           "correct": ok}
    print(f"tutorial tagger (SGD 0.1, 300 epochs, batch 1, {cfg.threads} thread): "
          f"{res['warm_s']:.2f} s warm (median of {repeats}), {res['cold_s']:.2f} s cold (first optimizer in the "
          f"process loads torch._dynamo); 'The dog ate the apple' -> {res['tags'][0]} "
          f"[{'ok' if ok else 'WRONG'}]", flush=True)
    return res


# -- 2. the Trainer against a plain PyTorch loop ---------------------------------------------------------------
def _plain_loop(model, batches, cfg: TrainConfig) -> float:
    """What a practitioner writes: the padded batch straight into the model (no packing: `lengths=None`, so
    nn.LSTM runs its fused kernel over the padding too), loss, backward, clip, step, loss.item()."""
    opt = (torch.optim.Adam(model.parameters(), lr=cfg.lr) if cfg.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=cfg.lr))
    model.train()
    total = 0.0
    t0 = time.perf_counter()
    for b in batches:
        logits = model(b.tokens, None, b.chars)
        if logits.dim() == 3:
            loss = F.cross_entropy(logits.flatten(0, 1), b.targets.flatten(), ignore_index=-100)
        else:
            loss = F.cross_entropy(logits, b.targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
        opt.step()
        total += loss.item()
    return time.perf_counter() - t0


def _fresh_model(model_config: ModelConfig, encoder, init: dict):
    model = build_model(model_config, len(encoder.vocab), len(encoder.labels),
                        len(encoder.char_vocab) if encoder.char_vocab else 0)
    model.load_state_dict(init)
    return model


# The Trainer's monitoring in the two places it runs: `python -m lstm_viz train` (what the ratio target is about) and
# the app's Train page (TrainConfig's own defaults: an event every step for the live curves, gate norms every 10).
MONITORING = {"command line": COMMAND_LINE_MONITORING, "Train page": {}}


def bench_ratio(name: str, model_config: ModelConfig, train_config: TrainConfig, corpus, steps: int,
                repeats: int) -> dict:
    """Tokens/s of the Trainer, monitored as on the command line and as on the Train page (the NaN guard, probes
    as the preset says, threads as the config says; events and gate norms per MONITORING), each over tokens/s of
    the plain loop; same initial weights, same batches (those the Trainer forms without shuffling), the three
    runs alternating."""
    base = replace(train_config, device="cpu", shuffle=False, max_steps=steps, eval_every=0, restore_best=False,
                   epochs=10_000)
    configs = {kind: replace(base, **changes) for kind, changes in MONITORING.items()}
    encoder = build_encoder(model_config, corpus)
    torch.manual_seed(base.seed)
    init = build_model(model_config, len(encoder.vocab), len(encoder.labels),
                       len(encoder.char_vocab) if encoder.char_vocab else 0).state_dict()
    items = encoder.encode_all(corpus.train)
    limit = getattr(base, "max_batch_tokens", None)  # the Trainer's token budget per step, where it has one
    batches = make_batches(encoder, items, base.batch_size, max_tokens=limit)
    batches = (batches * (steps // len(batches) + 1))[:steps]
    tokens = sum(b.num_tokens for b in batches)
    wall: dict[str, list[float]] = {kind: [] for kind in (*configs, "plain")}
    cpu: dict[str, list[float]] = {kind: [] for kind in wall}
    share: dict[str, list[float]] = {kind: [] for kind in configs}
    threads_before = torch.get_num_threads()

    def run_trainer(kind: str) -> None:
        trainer = Trainer(model_config, configs[kind], corpus, encoder=encoder,
                          model=_fresh_model(model_config, encoder, init))
        t0, c0 = time.perf_counter(), time.process_time()
        snap = trainer.run()
        wall[kind].append(tokens / (time.perf_counter() - t0))
        cpu[kind].append(tokens / (time.process_time() - c0))
        assert snap.step == steps and snap.probes and snap.events, snap.message
        share[kind].append(snap.metrics["monitoring_share"])

    def run_plain() -> None:
        model = _fresh_model(model_config, encoder, init)
        if base.threads:
            torch.set_num_threads(base.threads)
        try:
            c0 = time.process_time()
            wall["plain"].append(tokens / _plain_loop(model, batches, base))
            cpu["plain"].append(tokens / (time.process_time() - c0))
        finally:
            torch.set_num_threads(threads_before)

    kinds = [*configs, "plain"]
    for r in range(repeats):  # each round starts with another of the three, so none always runs first
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            run_plain() if kind == "plain" else run_trainer(kind)
    med = {kind: statistics.median(v) for kind, v in wall.items()}
    med_cpu = {kind: statistics.median(v) for kind, v in cpu.items()}
    res = {"workload": name, "steps": steps, "tokens": tokens, "plain_tok_s": med["plain"]}
    for kind in configs:
        res[kind] = {"trainer_tok_s": med[kind], "ratio": med[kind] / med["plain"],
                     "cpu_ratio": med_cpu[kind] / med_cpu["plain"],
                     "pairs": [t / p for t, p in zip(wall[kind], wall["plain"])],
                     # fastest over fastest: interference only ever adds time, so the least disturbed runs
                     # estimate the code's own cost (what timeit reports), next to the medians
                     "best_ratio": max(wall[kind]) / max(wall["plain"]),
                     "monitoring_share": statistics.median(share[kind])}
    cli, page = res["command line"], res["Train page"]
    print(f"  {name:<34} {med['plain']:>9,.0f} {cli['trainer_tok_s']:>9,.0f} {cli['ratio']:>7.3f} "
          f"{cli['cpu_ratio']:>7.3f} {page['trainer_tok_s']:>9,.0f} {page['ratio']:>7.3f} {page['cpu_ratio']:>7.3f}"
          f"  (fastest runs: {cli['best_ratio']:.3f} / {page['best_ratio']:.3f}; command line pairs "
          f"{', '.join(f'{r:.2f}' for r in cli['pairs'])}; monitoring "
          f"{cli['monitoring_share']:.1%} / {page['monitoring_share']:.1%} of the run)", flush=True)
    return res


def _one_epoch_sample(corpus, steps: int, batch_size: int):
    """A seeded random `steps x batch_size` of the training examples: the Trainer's length-bucketed batches of
    them are one epoch over the whole length distribution (the first batches of a bigger corpus would be
    its shortest texts)."""
    order = list(range(len(corpus.train)))
    random.Random(0).shuffle(order)
    return replace(corpus, train=tuple(corpus.train[i] for i in order[: steps * batch_size]))


def ratio_workloads(smoke: bool):
    """(a) the tutorial tagger, (b) SST-2 sentences, (c) IMDB reviews, (d) UD English-EWT; each with the model
    preset and training settings `python -m lstm_viz train` uses for it by default. Real corpora are skipped
    (with a line saying so) when ../shared/data is absent."""
    default = TRAIN_PRESETS["default"]
    tutorial = TRAIN_PRESETS["tutorial"]
    whole_run = tutorial.epochs * math.ceil(len(tutorial_corpus().train) / tutorial.batch_size)  # 600 steps
    rows = [("(a) tutorial tagger, batch 1", preset("tutorial"), tutorial, tutorial_corpus(),
             60 if smoke else whole_run)]
    corpora = {"sst2": ("(b) SST-2 sentences, sentiment-bilstm", DATA / "sentiment" / "sst2", "sentiment-bilstm",
                        6 if smoke else 40),
               "imdb": ("(c) IMDB reviews, sentiment-bilstm", DATA / "sentiment" / "imdb-sample" / "aclImdb",
                        "sentiment-bilstm", 2 if smoke else 6),
               "ewt": ("(d) UD EWT, pos-bilstm-char", DATA / "ud" / "UD_English-EWT", "pos-bilstm-char",
                       6 if smoke else 40)}
    for key, (name, path, model_name, steps) in corpora.items():
        if not path.is_dir():
            log(f"skipping the {key} ratio: {path} is absent")
            continue
        corpus = load_corpus(path, limit=3000) if key != "imdb" else load_corpus(path)
        rows.append((name, preset(model_name), default, _one_epoch_sample(corpus, steps, default.batch_size), steps))
    return rows


def ratio_table(smoke: bool, repeats: int) -> list[dict]:
    tutorial_repeats = repeats if smoke else 3 * repeats  # (a)'s runs last about a second: a steady median needs more
    print(f"Trainer vs plain PyTorch loop, same model and batches, {repeats} alternating rounds ((a): "
          f"{tutorial_repeats}), medians; target ratio >= 0.90. Monitoring as `python -m lstm_viz train` runs it "
          f"(probes for its alarms, the NaN guard, an event every 10 steps) and as the Train page runs it (+ an "
          f"event every step, gate norms every 10)")
    print(f"  {'':<34} {'plain':>9} {'-- command line --':>25} {'-- Train page --':>25}")
    print(f"  {'workload':<34} {'tok/s':>9} {'tok/s':>9} {'ratio':>7} {'by CPU':>7} {'tok/s':>9} {'ratio':>7} "
          f"{'by CPU':>7}")
    return [bench_ratio(name, mc, tc, corpus, steps, repeats if k else tutorial_repeats)
            for k, (name, mc, tc, corpus, steps) in enumerate(ratio_workloads(smoke))]


# -- 3. presets sized for a lecture ----------------------------------------------------------------------------
def _lecture_corpus(task: str, smoke: bool):
    limit = {"limit": 400} if smoke else {}
    if task == "pos":
        ewt = DATA / "ud" / "UD_English-EWT"
        return ("UD EWT", load_corpus(ewt, **limit)) if ewt.is_dir() else ("generated-pos", generated_pos_corpus())
    rt = DATA / "sentiment" / "rt-polarity"
    if rt.is_dir():
        return "sentence polarity", hold_out_dev(load_corpus(rt, **limit), 0.1, seed=0)
    return "generated-sentiment", generated_sentiment_corpus()


def bench_lecture(smoke: bool, budget: float = 60.0) -> list[dict]:
    """Each task's lecture preset trained for `budget` s with default threads: the training-accuracy curve
    over the first 10 s (it must rise), dev accuracy at the end, and the epoch-time estimate against the
    measured first epoch. Also the estimate for the big presets, as the Train page states it before Start."""
    budget = 8.0 if smoke else budget
    print(f"lecture presets, {budget:.0f} s each ({torch.get_num_threads()} threads available):")
    rows = []
    for task in ("pos", "sentiment"):
        data_name, corpus = _lecture_corpus(task, smoke)
        model_config = preset(f"{task}-lecture")
        cfg = replace(TRAIN_PRESETS["lecture"], device="cpu", time_budget_s=budget, epochs=1000, log_every=1)
        trainer = Trainer(model_config, cfg, corpus)
        lengths = [len(it.ids) for it in trainer.encoder.encode_all(corpus.train)]
        estimate = estimate_epoch_seconds(model_config, cfg, lengths, vocab_size=len(trainer.encoder.vocab),
                                          num_labels=len(trainer.encoder.labels))
        epoch_ends: list[float] = []
        trainer.add_callback("on_epoch_end", lambda t, ends=epoch_ends: ends.append(time.perf_counter()))
        t0, c0 = time.perf_counter(), time.process_time()
        snap = trainer.run()
        cpu_s = time.process_time() - c0
        first_epoch = epoch_ends[0] - t0 if epoch_ends else None
        early = [e for e in snap.events if e.elapsed_s <= 10.0]
        head = early[: max(1, len(early) // 5)]
        tail = early[-max(1, len(early) // 5):]
        acc = lambda evs: sum(e.accuracy for e in evs) / len(evs)  # noqa: E731
        dev = trainer.evaluate("dev")
        row = {"task": task, "data": data_name, "train_acc_first": acc(head) if head else None,
               "train_acc_at_10s": acc(tail) if tail else None, "steps_in_10s": len(early),
               "dev_accuracy": dev.accuracy if dev else None, "seconds": snap.elapsed_s, "cpu_s": cpu_s,
               "epochs": snap.epoch, "estimate_epoch_s": estimate, "first_epoch_s": first_epoch}
        rows.append(row)
        first = "" if first_epoch is None else f"{first_epoch:.1f} s measured"
        print(f"  {task}-lecture on {data_name}: training accuracy {row['train_acc_first']:.2f} -> "
              f"{row['train_acc_at_10s']:.2f} within 10 s ({len(early)} steps); dev accuracy "
              f"{row['dev_accuracy']:.3f} after {snap.elapsed_s:.0f} s ({cpu_s:.0f} CPU-s, {snap.epoch} epochs); "
              f"epoch estimate {estimate:.1f} s, {first}", flush=True)
    for name, data in (("sentiment-bilstm", DATA / "sentiment" / "imdb-sample" / "aclImdb"),
                       ("pos-bilstm-char", DATA / "ud" / "UD_English-EWT")):
        if smoke or not data.is_dir():
            continue
        corpus = load_corpus(data)
        encoder = build_encoder(preset(name), corpus)
        lengths = [len(it.ids) for it in encoder.encode_all(corpus.train)]
        t0 = time.perf_counter()
        est = estimate_epoch_seconds(preset(name), TRAIN_PRESETS["default"], lengths, vocab_size=len(encoder.vocab),
                                     num_labels=len(encoder.labels),
                                     char_vocab_size=len(encoder.char_vocab) if encoder.char_vocab else 0)
        print(f"  big preset {name} on {data.name}: estimated {est / 60:.1f} min per epoch "
              f"({sum(lengths):,} tokens; the estimate took {time.perf_counter() - t0:.1f} s)", flush=True)
    return rows


# -- 3b. the epoch-time estimate against a measured epoch ----------------------------------------------------
def _estimate_cases(smoke: bool):
    """(preset, training preset, data name, corpus): the tutorial, both lecture presets and the big
    sentiment-bilstm (on 300 IMDB reviews, so that its measured epoch stays a few minutes)."""
    cases = [("tutorial", "tutorial", "tutorial", tutorial_corpus())]  # its 300 epochs of 2 steps each
    for task in ("pos", "sentiment"):
        data_name, corpus = _lecture_corpus(task, smoke)
        cases.append((f"{task}-lecture", "lecture", data_name, corpus))
    imdb = DATA / "sentiment" / "imdb-sample" / "aclImdb"
    if imdb.is_dir():
        corpus = _one_epoch_sample(load_corpus(imdb), 3 if smoke else 10, 30)
        cases.append(("sentiment-bilstm", "default", f"IMDB, {len(corpus.train)} reviews", corpus))
    return cases


def bench_estimates(smoke: bool) -> list[dict]:
    """`estimate_epoch_seconds` (what the Train page states before Start) against the first epoch of a real
    run with the same settings (dev evaluation off: the estimate leaves it out; the tutorial's 2-step epoch is
    the mean over its 300), in one process, threads as set by --threads."""
    print("epoch-time estimate vs a measured epoch (dev evaluation off):")
    rows = []
    for name, train_preset, data_name, corpus in _estimate_cases(smoke):
        model_config = preset(name)
        epochs = TRAIN_PRESETS[train_preset].epochs if name == "tutorial" else 1  # the tutorial: mean of 300
        cfg = replace(TRAIN_PRESETS[train_preset], device="cpu", eval_every=0, restore_best=False, epochs=epochs,
                      threads=torch.get_num_threads())
        trainer = Trainer(model_config, cfg, corpus)
        enc = trainer.encoder
        lengths = [len(it.ids) for it in enc.encode_all(corpus.train)]
        t0 = time.perf_counter()
        estimate = estimate_epoch_seconds(model_config, cfg, lengths, vocab_size=len(enc.vocab),
                                          num_labels=len(enc.labels),
                                          char_vocab_size=len(enc.char_vocab) if enc.char_vocab else 0)
        took = time.perf_counter() - t0
        ends: list[float] = []
        trainer.add_callback("on_epoch_end", lambda t, ends=ends: ends.append(time.perf_counter()))
        t0 = time.perf_counter()
        trainer.run()
        actual = (ends[-1] - t0) / epochs
        rows.append({"preset": name, "data": data_name, "estimate_s": estimate, "actual_s": actual,
                     "ratio": estimate / actual, "estimate_took_s": took})
        print(f"  {name:<18} on {data_name:<26} estimate {estimate:8.2f} s  measured {actual:8.2f} s  "
              f"estimate/measured {estimate / actual:5.2f}  (the estimate took {took:.1f} s)", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny settings: check that every part runs")
    ap.add_argument("--repeats", type=int, default=6,
                    help="alternating pairs for each ratio (single pairs swing by 10-20%% on a 2-core machine)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--lecture", action="store_true", help="also train the lecture presets for 60 s each")
    ap.add_argument("--estimate", action="store_true", help="also compare the epoch-time estimate with a "
                    "measured epoch for the tutorial, lecture and sentiment-bilstm presets")
    ap.add_argument("--skip-quick", action="store_true", help="skip the tutorial and overhead parts")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice). On a busy machine "
                    "1 can be several times faster: idle OpenMP threads spin while waiting for a core")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.smoke else args.repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    results: dict = {}
    if not args.skip_quick:
        results["tutorial"] = bench_tutorial(1 if args.smoke else 3)
        results["ratios"] = ratio_table(args.smoke, repeats)
    if args.lecture or args.smoke:
        results["lecture"] = bench_lecture(args.smoke)
    if args.estimate or args.smoke:
        results["estimate"] = bench_estimates(args.smoke)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

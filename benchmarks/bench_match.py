"""Select-and-match over a large corpus recording, and token drivers, timed on one machine in one run.

    python benchmarks/bench_match.py [--steps 1000000] [--units 256] [--threads 2] [--repeats 5]

Builds a synthetic corpus recording (`steps` token steps x `units` units, float32, sequences of 5-40 tokens
over a 10,000-token vocabulary) with a pattern planted on a known token, then times (median of `repeats`):
- select: the units on over one planted span;
- match 2 units / the selected 32 units / all units with >= 10% on: find every matching span;
- a full pass of `values > threshold` over all units, the floor any matching must pay if it looked at all units;
- token means (token x unit mean matrix) and the co-clustering of the 500 most frequent tokens.
Target (issue 12): matching 1,000,000 steps x 256 units in under 2 s on 2 cores (LSTMVis' fast mode caps at
500,000 steps). Every match run also checks that all planted spans were found. On a machine shared with
other busy processes, run with OPENBLAS_NUM_THREADS=1: OpenBLAS' spinning threads can make the co-clustering's
small SVD take seconds instead of 0.2 s.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lstm_viz.analysis.corpus_match import CorpusActivations, find_matches, select_units
from lstm_viz.analysis.token_drivers import co_cluster, token_unit_means

PLANTED_TOKEN = 7  # the token the pattern is planted on
PLANTED_UNITS = tuple(range(0, 256, 8))  # 32 units made to fire on it (needs --units >= 256)


def build_corpus(steps: int, units: int, seed: int = 0) -> CorpusActivations:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 41, size=steps // 5)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), steps) + 1]
    lengths[-1] -= lengths.sum() - steps
    lengths = lengths[lengths > 0]
    seq = np.repeat(np.arange(lengths.size), lengths)
    pos = np.arange(steps) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ids = rng.zipf(1.3, size=steps) % 10_000
    ids[ids == PLANTED_TOKEN] = 8
    planted = rng.choice(steps, size=steps // 1000, replace=False)
    ids[planted] = PLANTED_TOKEN
    values = rng.standard_normal((steps, units), dtype=np.float32) * 0.3  # tanh-like spread: few above 0.8
    np.clip(values, -1, 1, out=values)
    values[np.ix_(ids == PLANTED_TOKEN, PLANTED_UNITS)] = 0.95
    vocab = tuple(f"w{i}" for i in range(10_000))
    return CorpusActivations(values, seq.astype(np.int64), pos.astype(np.int64), ids.astype(np.int64), vocab)


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    corpus = build_corpus(args.steps, args.units)
    print(f"corpus: {args.steps:,} steps x {args.units} units, {corpus.sequence[-1] + 1:,} sequences, "
          f"{corpus.values.nbytes / 2**20:.0f} MiB float32 (built in {time.perf_counter() - t0:.1f} s)")
    planted = set(np.flatnonzero(corpus.token_ids == PLANTED_TOKEN).tolist())
    first = min(planted)

    rows = []
    t, units = median_time(lambda: select_units(corpus, first, first + 1, 0.8), args.repeats)
    rows.append(("select units over one span", t, f"selected {units.size} units: {units[:6].tolist()}..."))
    everything = list(range(args.units))
    for label, chosen, fraction in [("match 2 units", [8, 16], 1.0),
                                    (f"match the selection ({units.size} units)", units.tolist(), 1.0),
                                    (f"match all {args.units} units, >= 10% on", everything, 0.1)]:
        t, found = median_time(lambda chosen=chosen, fraction=fraction: find_matches(
            corpus, chosen, 0.8, length=1, min_fraction=fraction, top=len(planted) + 10), args.repeats)
        got = {m.start for m in found if m.tokens == (f"w{PLANTED_TOKEN}",)}
        rows.append((label, t, f"{len(found):,} matches, planted found {len(got & planted)}/{len(planted)}"))
    t, on = median_time(lambda: corpus.values > 0.8, args.repeats)
    rows.append(("values > threshold, all units (floor)", t, f"{int(on.sum()):,} on"))
    t, table = median_time(lambda: token_unit_means(corpus, min_count=5, max_tokens=500), max(1, args.repeats // 2))
    rows.append(("token x unit means (500 tokens)", t, f"{len(table.tokens)} tokens"))
    t, clusters = median_time(lambda: co_cluster(table), max(1, args.repeats // 2))
    rows.append(("co-clustering 500 tokens x units", t, f"{clusters.n_clusters} clusters"))

    print(f"{'operation':42s} {'median s':>9s}  result")
    for label, seconds, note in rows:
        print(f"{label:42s} {seconds:9.3f}  {note}")


if __name__ == "__main__":
    main()

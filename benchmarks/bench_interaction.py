"""Server-side cost of the analysis pages' reruns: what the page computes when the user changes something.

    python benchmarks/bench_interaction.py [--threads 2] [--repeats 7] [--hidden 256]

Model: an untrained Tagger (word embeddings 100 -> nn.LSTM, `--hidden` units) on the built-in generated
part-of-speech corpus, seen through a ModelSubject exactly as the pages see it; input: 100 tokens of that
corpus. Each row is the median of `--repeats` runs of what a rerun does (trace, ranking, figure building)
plus `fig.to_json()` as a proxy for sending the figures to the browser. Rows marked "cached" reuse the
trace the page keeps in its session cache. Target (issue 4): Gates interactions < 0.5 s.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from lstm_viz.explore import architectures, page_data
from lstm_viz import figures
from lstm_viz.analysis import forget_product, saturation, select_units, truth_table, window_tokens
from lstm_viz.data import generated_pos_corpus
from lstm_viz.record.gradient_flow import gradient_flow
from lstm_viz.training.models import ModelConfig, build_model
from lstm_viz.explore.subject import ModelSubject
from lstm_viz.training import build_encoder

TARGET_S = 0.5


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (first-call allocations, plotly validators)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_subject(hidden: int, num_layers: int, bidirectional: bool) -> ModelSubject:
    corpus = generated_pos_corpus(seed=0, n_train=500, n_dev=200, n_test=10)
    config = ModelConfig(task="pos", arch="lstm", embed_dim=100, hidden_size=hidden, num_layers=num_layers,
                         bidirectional=bidirectional)
    encoder = build_encoder(config, corpus)
    torch.manual_seed(0)
    model = build_model(config, len(encoder.vocab), len(encoder.labels)).eval()
    return ModelSubject(f"Tagger LSTM {hidden}", model, encoder, corpus)


def hundred_tokens(subject: ModelSubject, offset: int = 0) -> tuple[str, list[str]]:
    """100 tokens of dev sentences and their gold tags (an untrained model's predictions may all be one tag,
    which would leave nothing to correlate with)."""
    words: list[str] = []
    tags: list[str] = []
    for ex in subject.corpus.dev[offset:]:
        words.extend(ex.tokens)
        tags.extend(ex.tags)
        if len(words) >= 100:
            break
    return " ".join(words[:100]), tags[:100]


def gates_rerun(subject: ModelSubject, text: str, gold: list[str], layer: int = 0, direction: int = 0,
                by: str = "index", unit=None, recording=None) -> int:
    """What app_pages/gates.py does on a rerun: (probe, trace, predict unless cached), build the view, serialise."""
    if recording is None:
        probe = subject.input_from_text(text)
        recording = subject.trace(probe)
        tags = subject.predict(probe.tokens)[0]
        tokens = probe.tokens[0]
    else:
        recording, tokens, tags = recording
    view = page_data.build_gates_view(recording, tokens, tags, gold, layer=layer, direction=direction, by=by,
                                  of="hidden", tags=gold, tag="NOUN", unit=unit)
    assert view.units.by == by, view.notes
    return len(view.heatmaps.to_json()) + len(view.line.to_json())


def truth_rerun(recording, tokens, low: float, high: float) -> int:
    table = truth_table(recording, low, high)
    units = select_units(recording, "f", 0, 0, max_units=page_data.MAX_UNITS, by="variance", batch_index=0)
    window = window_tokens(len(tokens), page_data.MAX_TOKENS, 0)
    figs = [figures.truth_table_heatmap(table, 0, 0, 0, tokens=tokens, units=units, window=window),
            figures.truth_table_shares(table, 0, 0, 0, tokens=tokens, window=window),
            figures.truth_table_diagram(recording.gates["i"][0, 0, 0, 0, units.indices].numpy(),
                                        recording.gates["f"][0, 0, 0, 0, units.indices].numpy(), low, high)]
    return sum(len(f.to_json()) for f in figs)


def saturation_rerun(sample: page_data.Sample, low: float, high: float) -> int:
    sat = saturation(sample.traces, low, high)
    figs = [figures.saturation_scatter(sat), figures.gate_histograms(sample.traces)]
    return sum(len(f.to_json()) for f in figs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows: list[tuple[str, str, float, bool]] = []  # (model, interaction, seconds, has a target)
    for layers, bidir in ((1, False), (2, True)):
        subject = make_subject(args.hidden, layers, bidir)
        model = f"{layers}-layer{' bidir' if bidir else ''} LSTM {args.hidden}"
        texts = [hundred_tokens(subject, k) for k in (0, 10)]
        gold = texts[0][1]
        probe = subject.input_from_text(texts[0][0])
        assert int(probe.lengths[0]) == 100
        rec = subject.trace(probe)
        cached = (rec, probe.tokens[0], subject.predict(probe.tokens)[0])
        flip = iter(range(10**9))

        def new_sentence():  # alternate two sentences so nothing is reused
            return gates_rerun(subject, *texts[next(flip) % 2])

        rows.append((model, "Gates: new sentence (probe+trace+predict+view+json)",
                     median_time(new_sentence, args.repeats), True))
        def cached_rerun(**change):
            return lambda: gates_rerun(subject, "", gold, recording=cached, **change)

        if layers > 1:
            rows.append((model, "Gates: change layer (cached trace)",
                         median_time(cached_rerun(layer=1), args.repeats), True))
            rows.append((model, "Gates: change direction (cached trace)",
                         median_time(cached_rerun(direction=1), args.repeats), True))
        rows.append((model, "Gates: change unit (cached trace)", median_time(cached_rerun(unit=7), args.repeats), True))
        for by in ("variance", "correlation"):
            rows.append((model, f"Gates: order by {by} (cached trace)",
                         median_time(cached_rerun(by=by), args.repeats), True))
        rows.append((model, "Truth table: thresholds (cached trace)",
                     median_time(lambda: truth_rerun(rec, probe.tokens[0], 0.2, 0.8), args.repeats), False))
        rows.append((model, "Saturation: sample of 100 dev sentences (trace in batches of 32)",
                     median_time(lambda: page_data.sample_traces(subject, 100), args.repeats), False))
        sample = page_data.sample_traces(subject, 100)
        rows.append((model, "Saturation: thresholds (cached sample)",
                     median_time(lambda: saturation_rerun(sample, 0.2, 0.8), args.repeats), False))
        if layers == 1:
            short = page_data.truncate_probe(probe, 100, True)
            rows.append((model, "Gradients: own flow, 100 steps (step-wise backward)",
                         median_time(lambda: gradient_flow(subject.module, short.inputs, subject.loss_fn(short),
                                                           lengths=short.lengths), max(3, args.repeats // 2)), False))
            sizes = architectures.module_sizes(subject.module)
            rows.append((model, "Gradients: LSTM vs GRU vs RNN, 100 steps",
                         median_time(lambda: architectures.compare_gradient_flow(sizes, short.inputs, short.lengths),
                                     max(3, args.repeats // 2)), False))
            rows.append((model, "Gradients: forget product (cached trace)",
                         median_time(lambda: forget_product(rec), args.repeats), False))

    width = max(len(r[1]) for r in rows)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats} runs, 100-token input")
    print(f"{'model':<26} {'interaction':<{width}} {'seconds':>8}  target")
    for model, what, secs, targeted in rows:
        verdict = ("ok" if secs < TARGET_S else "SLOW") if targeted else "-"
        print(f"{model:<26} {what:<{width}} {secs:8.3f}  {verdict}")


if __name__ == "__main__":
    main()

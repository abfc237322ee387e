"""What an epoch costs here, measured before Start: real Trainer steps (its batching, optimizer, NaN guard,
events and monitoring) of a throwaway model of the chosen configuration on random batches shaped like an
epoch of the corpus (same lengths, same length-bucketed batching and token cap, same vocabulary sizes)."""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import replace
from typing import Sequence

import torch

from ..data.batching import BatchEncoder, Encoded, make_batches
from ..data.corpus import Corpus, LabelledText, TaggedSentence
from ..data.vocab import Vocab
from .building import seeded_model
from .config import TrainConfig
from .models import ModelConfig
from .trainer import Trainer


def _encoder(model_config: ModelConfig, vocab_size: int, num_labels: int, char_vocab_size: int) -> BatchEncoder:
    """Vocabularies of the given sizes (<pad> and <unk> included in vocab_size and char_vocab_size)."""
    words = Vocab([f"w{i}" for i in range(max(vocab_size - 2, 1))])
    labels = Vocab.labels([f"L{i}" for i in range(max(num_labels, 2))])
    chars = (Vocab([chr(33 + i) for i in range(max(char_vocab_size - 2, 12))])
             if model_config.char_features else None)
    return BatchEncoder(model_config.task, words, labels, chars)


def _example(encoder: BatchEncoder, n: int, rng: random.Random):
    words = encoder.vocab.itos[2:]
    labels = encoder.labels.itos
    tokens = tuple(rng.choice(words) for _ in range(n))
    if encoder.task == "pos":
        return TaggedSentence(tokens, tuple(rng.choice(labels) for _ in range(n)))
    return LabelledText(tokens, rng.choice(labels))


def _epoch_batches_seconds(encoder: BatchEncoder, lengths: Sequence[int], cfg: TrainConfig) -> tuple[list, float]:
    """(length groups of one epoch's batches, seconds `make_batches` takes for the epoch) on stand-in items."""
    chars = encoder.char_vocab is not None
    items = [Encoded([2] * n, [0] * n if encoder.task == "pos" else 0, [[2, 3, 4, 5, 6]] * n if chars else None)
             for n in lengths]
    start = time.perf_counter()
    batches = make_batches(encoder, items, cfg.batch_size, shuffle=cfg.shuffle, rng=random.Random(cfg.seed),
                           max_tokens=cfg.max_batch_tokens)
    seconds = time.perf_counter() - start
    return [b.lengths.tolist() for b in batches], seconds


def estimate_epoch_seconds(model_config: ModelConfig, train_config: TrainConfig, lengths: Sequence[int], *,
                           vocab_size: int, num_labels: int, char_vocab_size: int = 0,
                           measure_tokens: int = 4000, steps: int = 3, min_seconds: float = 0.5) -> float:
    """Seconds one epoch over texts of these `lengths` (tokens each) should take here, with the threads the
    caller has set (or train_config.threads).

    Measured, not modelled: the epoch's batches are formed as the Trainer forms them (timed: that is part
    of an epoch), then a real Trainer with `train_config` (its monitoring share included) trains a
    throwaway model for one warm-up step and then at least `steps` steps and `min_seconds` seconds (at most
    40 steps) on randomly chosen batches of that epoch (each cut to about `measure_tokens` padded tokens);
    the epoch is the mean step time x the number of batches, plus batching, plus the monitoring share the
    run may use. Dev evaluation at the end of an epoch is not included.
    """
    if not lengths:
        raise ValueError("lengths is empty: no training texts to estimate an epoch for")
    if steps < 1 or measure_tokens < 1:
        raise ValueError("steps and measure_tokens must be >= 1")
    cfg = replace(train_config, threads=train_config.threads or torch.get_num_threads(), device="cpu")
    encoder = _encoder(model_config, vocab_size, num_labels, char_vocab_size)
    groups, batching_s = _epoch_batches_seconds(encoder, [max(1, int(n)) for n in lengths], cfg)
    step_s = _mean_step_seconds(model_config, cfg, encoder, groups, measure_tokens, steps, min_seconds)
    monitoring = 1.0 + cfg.monitor_budget if cfg.probe_every or cfg.grad_norm_every else 1.0
    return step_s * len(groups) * monitoring + batching_s


def _mean_step_seconds(model_config: ModelConfig, cfg: TrainConfig, encoder: BatchEncoder, groups: list,
                       measure_tokens: int, steps: int, min_seconds: float) -> float:
    rng = random.Random(cfg.seed)
    cap = 40
    chosen = [groups[rng.randrange(len(groups))] for _ in range(cap + 1)]
    batches, examples = [], []
    for group in chosen:  # one stand-in per chosen batch, cut to about measure_tokens padded tokens
        keep = max(1, min(len(group), measure_tokens // max(group)))
        batch = [_example(encoder, n, rng) for n in group[:keep]]
        examples.extend(batch)
        batches.append(encoder.collate(encoder.encode_all(batch)))
    corpus = Corpus("estimate", model_config.task, tuple(examples), labels=tuple(encoder.labels.itos))
    run_cfg = replace(cfg, shuffle=False, epochs=1, max_steps=cap + 1, eval_every=0, restore_best=False)
    with torch.random.fork_rng(devices=[]):
        trainer = Trainer(model_config, run_cfg, corpus, encoder=encoder,
                          model=seeded_model(model_config, encoder, cfg.seed))
        trainer.batches.use_fixed(batches)
        ends: list[float] = []

        def on_step_end(t: Trainer) -> None:
            ends.append(time.perf_counter())
            timed = len(ends) - 1  # the first step warms up kernels, the allocator and the optimizer
            if timed >= steps and ends[-1] - ends[0] >= min_seconds:
                t.stop()

        trainer.add_callback("on_step_end", on_step_end)
        trainer.run()
    if len(ends) < 2:
        raise RuntimeError("the epoch estimate could not time a training step")
    return statistics.fmean(b - a for a, b in zip(ends, ends[1:]))

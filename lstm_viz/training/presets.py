"""Named training settings (TrainConfig presets) the CLI, the app and the benchmarks start from, and what a
run costs before it starts (`estimate_epoch_seconds`, measured on this machine)."""
from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Sequence

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .models import ModelConfig, build_model

TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The PyTorch tutorial: SGD lr 0.1, 300 epochs, one sentence per step, fixed order, no clipping.
    "tutorial": TrainConfig(optimizer="sgd", lr=0.1, epochs=300, batch_size=1, shuffle=False, clip_grad_norm=None,
                            probe_every=30, grad_norm_every=5, eval_every=10, threads=1),
    # Adam on mini-batches for the real corpora.
    "default": TrainConfig(),
    # With the "*-lecture" model presets: a rising training-accuracy curve within seconds and a useful dev
    # accuracy within a minute on 2 CPU cores (measured by benchmarks/bench_training.py --lecture):
    # a higher rate than Adam's usual 1e-3 suits these small models, probes every 20 steps keep the gate
    # views moving.
    "lecture": TrainConfig(lr=5e-3, batch_size=32, epochs=5, probe_every=20, grad_norm_every=10),
}


def estimate_epoch_seconds(model_config: ModelConfig, train_config: TrainConfig, lengths: Sequence[int], *,
                           vocab_size: int, num_labels: int, char_vocab_size: int = 0,
                           measure_tokens: int = 2000, steps: int = 2) -> float:
    """Seconds one epoch over texts of these `lengths` (tokens each) should take here, from timing a few
    training steps of a throwaway model of this configuration (about `steps` x `measure_tokens` tokens:
    well under a second for small models, a few seconds for a 2-layer BiLSTM 256) on a batch of the
    corpus's median length. An estimate: CPU load, padding and monitoring move it by tens of percent.
    """
    if not lengths:
        raise ValueError("lengths is empty: no training texts to estimate an epoch for")
    if steps < 1 or measure_tokens < 1:
        raise ValueError("steps and measure_tokens must be >= 1")
    length = max(1, int(statistics.median(lengths)))
    batch = max(1, min(train_config.batch_size, measure_tokens // length))
    seconds_per_token = _time_steps(model_config, train_config, length, batch, vocab_size, num_labels,
                                    char_vocab_size, steps)
    return seconds_per_token * sum(lengths)


def _time_steps(model_config: ModelConfig, train_config: TrainConfig, length: int, batch: int, vocab_size: int,
                num_labels: int, char_vocab_size: int, steps: int) -> float:
    """Seconds per token of a training step (forward, backward, optimizer) on a random padded batch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(replace(model_config, word_dropout=0.0), vocab_size, num_labels, char_vocab_size)
        tokens = torch.randint(2, max(vocab_size, 3), (batch, length))
        lengths = torch.full((batch,), length)
        lengths[1:] = max(1, length - 1)  # padded: the packed-semantics path a real batch takes
        chars = torch.randint(1, max(char_vocab_size, 2), (batch, length, 6)) if char_vocab_size else None
        targets = torch.randint(0, num_labels, (batch, length) if model_config.task == "pos" else (batch,))
        opt = torch.optim.Adam(model.parameters(), lr=train_config.lr)
        model.train()
        times = []
        for _ in range(steps + 1):  # the first step warms up kernels and allocator
            start = time.perf_counter()
            logits = model(tokens, lengths, chars)
            loss = F.cross_entropy(logits.flatten(0, -2) if logits.dim() == 3 else logits, targets.flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - start)
    return min(times[1:]) / (batch * length)

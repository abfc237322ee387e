"""Named training settings (TrainConfig presets) the CLI, the app and the benchmarks start from, and what a
run costs before it starts (`estimate_epoch_seconds`, measured on this machine: epoch_estimate.py)."""
from __future__ import annotations

from .config import TrainConfig
from .epoch_estimate import estimate_epoch_seconds

__all__ = ["TRAIN_PRESETS", "estimate_epoch_seconds"]

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
    # Accuracy recipes, with the model presets of the same name (`python -m lstm_viz train --preset NAME`,
    # benchmarks/bench_accuracy.py): Adam with a per-epoch decay, the epoch chosen on dev, each within 10 CPU-minutes
    # on 1 thread. Picked from dev curves only (the measured test figures are in the README).
    # BiLSTM 128, a slower decay over 20 epochs (BiLSTM 64, 10 epochs at x0.85: test 0.771 over seeds 0-4): dev 0.767,
    # test 0.784 over seeds 0-4, 228-270 CPU-s at load 2 (of 12 variants, the highest dev on seeds 0-2; on 0-4 a tie)
    "polarity-bilstm": TrainConfig(lr=3e-3, lr_decay=0.9, epochs=20, batch_size=32, restore_best=True),
    "sst2-bilstm": TrainConfig(lr=2e-3, lr_decay=0.8, epochs=6, batch_size=64, restore_best=True),
    # whole batches of 32 reviews, each step accumulated over pieces of at most 4,000 tokens (Stop acts between
    # pieces): test 0.823 in 126 CPU-s. Steps of the pieces alone (batches of 2-10 long reviews) stayed near 0.73
    "imdb-bilstm": TrainConfig(lr=5e-3, epochs=8, batch_size=32, max_batch_tokens=4000, accumulate=True,
                               restore_best=True),
    # batches of 64 cost ~47 CPU-s an epoch (32: 55-69), so 12 epochs fit: dev 0.9524 / 0.9521 / 0.9520, test
    # 0.9511 / 0.9532 / 0.9499 (seeds 0-2) in 507-572 CPU-s at load 2 (batches of 32 for 10 epochs: dev 0.9525 / 0.9481)
    "ewt-bilstm-char": TrainConfig(lr=3e-3, lr_decay=0.9, epochs=12, batch_size=64, restore_best=True),
}

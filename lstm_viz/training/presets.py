"""Named training settings (TrainConfig presets) the CLI, the app and the benchmarks start from."""
from __future__ import annotations

from .config import TrainConfig

TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The PyTorch tutorial: SGD lr 0.1, 300 epochs, one sentence per step, fixed order, no clipping.
    "tutorial": TrainConfig(optimizer="sgd", lr=0.1, epochs=300, batch_size=1, shuffle=False, clip_grad_norm=None,
                            probe_every=30, grad_norm_every=5, eval_every=10, threads=1),
    # Adam on mini-batches for the real corpora.
    "default": TrainConfig(),
}

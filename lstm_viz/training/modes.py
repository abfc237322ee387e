"""The one eval-mode switch: a model in eval mode and without gradients for the length of a block."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """`with eval_mode(model):` runs the body in eval mode under torch.no_grad() and puts the model's
    train/eval mode back afterwards, also when the body raises."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)

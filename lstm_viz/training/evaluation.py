"""Loss, accuracy and predictions of a model on examples: the forward pass the trainer and the evaluation
share (`batch_loss`), `evaluate` and `predict` (both in eval mode, without gradients)."""
from __future__ import annotations

import threading
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from ..data.batching import Batch, BatchEncoder, Encoded, make_batches
from ..data.corpus import Example
from .events import EvalResult
from .models import Model
from .modes import eval_mode


def target_count(batch: Batch) -> int:
    """The targets a batch's mean loss averages over: its real tokens (tagger, targets [B, T]) or texts ([B])."""
    return batch.num_tokens if batch.targets.dim() == 2 else batch.targets.shape[0]


def forward_loss(model: Model, batch: Batch, reduction: str = "mean"):
    """Forward one batch -> (loss, detached logits [N, C], targets [N], count). N: B*T positions (pos) or B
    texts (sentiment); padding never counts (IGNORE_INDEX): count is the real tokens or texts, and a prediction
    is correct where `logits.argmax(-1) == targets`."""
    logits = model(batch.tokens, batch.model_lengths, batch.chars)
    targets = batch.targets
    if logits.dim() == 3:  # tagger [B, T, C]
        logits, targets = logits.flatten(0, 1), targets.flatten()
        loss = F.cross_entropy(logits, targets, ignore_index=-100, reduction=reduction)
    else:
        loss = F.cross_entropy(logits, targets, reduction=reduction)
    return loss, logits.detach(), targets, target_count(batch)


def batch_loss(model: Model, batch: Batch, reduction: str = "mean"):
    """Forward one batch -> (loss, correct count as a tensor, count). Padding never counts (IGNORE_INDEX)."""
    loss, logits, targets, count = forward_loss(model, batch, reduction)
    return loss, (logits.argmax(-1) == targets).sum(), count


def evaluate(model: Model, examples: Sequence[Example] | Sequence[Encoded], encoder: BatchEncoder, *,
             batch_size: int = 128, device: Optional[torch.device] = None,
             stop: Optional[threading.Event] = None) -> Optional[EvalResult]:
    """Loss and accuracy of `model` on examples (or already encoded items). None if there is nothing to
    evaluate or `stop` was set midway. The model's train/eval mode is restored afterwards."""
    items = list(examples) if all(isinstance(e, Encoded) for e in examples) else encoder.encode_all(examples)
    return evaluate_batches(model, make_batches(encoder, items, batch_size), device, stop)


def evaluate_batches(model: Model, batches: Sequence[Batch], device: Optional[torch.device] = None,
                     stop: Optional[threading.Event] = None) -> Optional[EvalResult]:
    """`evaluate` on ready batches (the trainer pads its dev batches once)."""
    if not batches:
        return None
    device = device or next(model.parameters()).device
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    total_correct = torch.zeros((), dtype=torch.long, device=device)
    count = 0
    with eval_mode(model):
        for batch in batches:
            if stop is not None and stop.is_set():
                return None
            loss, correct, n = batch_loss(model, batch.to(device), reduction="sum")
            total_loss += loss.double()
            total_correct += correct
            count += n
    loss, correct = torch.stack([total_loss, total_correct.double()]).tolist()
    return EvalResult(loss=loss / max(count, 1), accuracy=correct / max(count, 1), count=count)


def predict(model: Model, encoder: BatchEncoder, token_lists: Sequence[Sequence[str]], *,
            batch_size: int = 128) -> list:
    """Tags per sentence (pos) or one label per text (sentiment), in input order, in eval mode."""
    device = next(model.parameters()).device
    out: list = []
    with eval_mode(model):
        for s in range(0, len(token_lists), batch_size):
            batch = encoder.batch_tokens(token_lists[s: s + batch_size]).to(device)
            out.extend(encoder.decode(batch, model(batch.tokens, batch.model_lengths, batch.chars)))
    return out


class DevTracker:
    """A run's evaluations on its dev batches; with `keep_best`, the weights of the best one so far."""

    def __init__(self, batches: Sequence[Batch], device: torch.device, keep_best: bool):
        self.batches, self.device, self.keep_best = batches, device, keep_best
        self.best_accuracy = float("-inf")
        self.best: Optional[tuple[int, dict[str, torch.Tensor]]] = None  # (step, weights) of the best evaluation

    def evaluate(self, model: Model, step: int, stop: Optional[threading.Event] = None) -> Optional[EvalResult]:
        res = evaluate_batches(model, self.batches, self.device, stop)
        if res is not None and res.accuracy >= self.best_accuracy:
            self.best_accuracy = res.accuracy
            if self.keep_best:
                self.best = (step, {k: v.detach().clone() for k, v in model.state_dict().items()})
        return res

    def restore_best(self, model: Model, step: int) -> Optional[int]:
        """Load the best weights when they are not those of `step`; the step they came from (None: kept)."""
        if self.best is None or self.best[0] == step:
            return None
        model.load_state_dict(self.best[1])
        return self.best[0]

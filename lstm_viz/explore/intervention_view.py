"""Before and after an intervention, for one input of a Subject: both traces, the change of h_t per step and,
when the model has a head, the prediction and its probability before and after."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ..files.heads import head_logits
from ..record.intervene import Clamp, Silence, difference_per_step, intervene
from ..record.results import Trace
from .subject import AnalysisInput


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


@dataclass(frozen=True)
class InterventionComparison:
    before: Trace
    after: Trace
    difference: torch.Tensor  # float64 [T] for the first sequence: ||h_t(after) - h_t(before)|| of the top layer
    tokens: tuple[str, ...]
    before_predictions: Optional[list[Prediction]]  # one per token (tagging) or one (classification); None: no head
    after_predictions: Optional[list[Prediction]]

    @property
    def changed_predictions(self) -> int:
        if self.before_predictions is None:
            return 0
        return sum(b.label != a.label for b, a in zip(self.before_predictions, self.after_predictions))


def subject_head(subject) -> Optional[tuple[torch.nn.Module, str, tuple[str, ...]]]:
    """(head module, pooling, label names) of a trained Tagger/Classifier subject; None without a head."""
    model = getattr(subject, "model", None)
    head = getattr(model, "output", None)
    if head is None or not subject.label_names:
        return None
    pooling = "per-step" if subject.task == "pos" else model.config.pooling
    return head, pooling, tuple(subject.label_names)


def _predictions(head_info, tr: Trace) -> Optional[list[Prediction]]:
    if head_info is None:
        return None
    head, pooling, labels = head_info
    probs = torch.softmax(head_logits(head, tr, pooling)[0].float(), dim=-1)  # [T, C] or [C]
    if probs.dim() == 1:
        probs = probs[None]
    else:
        probs = probs[: int(tr.lengths[0])]
    best = probs.max(dim=-1)
    return [Prediction(labels[int(i)], float(p)) for p, i in zip(best.values, best.indices)]


def compare_intervention(subject, probe: AnalysisInput, interventions: Sequence[Clamp | Silence],
                         before: Optional[Trace] = None) -> InterventionComparison:
    """Run the subject's module on the probe's first sequence with and without `interventions`.

    InterventionError (a ValueError) names the valid range when an intervention does not fit."""
    inputs = probe.inputs[:1] if getattr(subject.module, "batch_first", False) else probe.inputs[:, :1]
    lengths = probe.lengths[:1]
    if before is None or before.batch_size != 1:
        before = intervene(subject.module, inputs, (), lengths=lengths)
    after = intervene(subject.module, inputs, interventions, lengths=lengths)
    head_info = subject_head(subject)
    return InterventionComparison(
        before=before, after=after, difference=difference_per_step(before, after)[0][: int(lengths[0])],
        tokens=tuple(probe.tokens[0]), before_predictions=_predictions(head_info, before),
        after_predictions=_predictions(head_info, after))

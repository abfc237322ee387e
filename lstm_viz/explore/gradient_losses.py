"""The losses gradient flow is measured with on a user's module: its own head's cross-entropy when the
file has a head, else a named stand-in. Each stand-in is half a sum of squares, so dL/dy equals y itself
and the gradient reaching step t measures how much that step still influences the chosen outputs."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Optional, Union

import torch
from torch import nn

from .subject import AnalysisInput

LOSSES = {
    "last output": "0.5 * sum of squares of the output at each sequence's last valid step "
                   "(both directions' features at that position)",
    "all outputs": "0.5 * sum of squares of the output at every valid step",
    "final state": "0.5 * sum of squares of the top layer's final hidden state h_n (every direction)",
}
DEFAULT_LOSS = "last output"
HEAD_LOSS = "model head"  # set by set_head: the head's own cross-entropy (gold labels when known, else its predictions)
LossFn = Callable[[torch.Tensor, object], torch.Tensor]  # (output, final_state) -> scalar, as gradient_flow takes


def check_loss(loss: Union[str, LossFn]) -> None:
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))} or a callable "
                         f"(output, final_state) -> scalar, got {loss!r}.")


def _batch_major(output: torch.Tensor, batch_first: bool) -> torch.Tensor:
    return output if batch_first else output.transpose(0, 1)  # [B, T, D*U]


def _top_final_state(state, directions: int) -> torch.Tensor:
    h_n = state[0] if isinstance(state, tuple) else state  # [L*D, B, U]
    return h_n[-directions:]  # the top layer's directions: [D, B, U]


def stand_in_loss(loss: Union[str, LossFn], probe: AnalysisInput, batch_first: bool, directions: int) -> LossFn:
    """One of `LOSSES` by name as a function of (output, final_state); a callable is returned as is."""
    check_loss(loss)
    if callable(loss):
        return loss
    last = (probe.lengths.to(torch.int64) - 1).clamp(min=0)  # [B] index of each sequence's last valid step

    if loss == "last output":
        def fn(output, state):
            out = _batch_major(output, batch_first)
            return 0.5 * out[torch.arange(out.shape[0]), last.to(out.device)].pow(2).sum()  # [B, D*U] picked
    elif loss == "all outputs":
        def fn(output, state):
            return 0.5 * output.pow(2).sum()  # padding positions are 0 in the module's output
    else:
        def fn(output, state):
            return 0.5 * _top_final_state(state, directions).pow(2).sum()
    return fn


def head_loss(head: nn.Module, pooling: Optional[str], labels: Sequence[str], probe: AnalysisInput,
              batch_first: bool, directions: int) -> LossFn:
    """Cross-entropy of the model's own head on the module's output: targets are the gold labels when the
    probe has them, else the head's own predictions on the unchanged input."""
    lengths = probe.lengths.to(torch.int64)
    labels = list(labels)

    def features(output, state):
        out = _batch_major(output, batch_first)
        if pooling == "per-step":
            return out
        if pooling == "last":
            h_n = _top_final_state(state, directions)
            return h_n.transpose(0, 1).reshape(h_n.shape[1], -1)  # [B, D*U]
        valid = (torch.arange(out.shape[1], device=out.device)[None] < lengths.to(out.device)[:, None])[..., None]
        mean = out.sum(1) / lengths.to(out.device, out.dtype)[:, None]
        high = out.masked_fill(~valid, float("-inf")).amax(1)
        return {"mean": mean, "max": high, "mean+max": torch.cat([mean, high], -1)}[pooling]

    def fn(output, state):
        logits = head(features(output, state))
        gold = None
        if probe.targets is not None:
            gold = [[labels.index(t) for t in seq] if pooling == "per-step" else labels.index(seq)
                    for seq in probe.targets]
        if pooling == "per-step":  # [B, T, C]: valid steps only
            mask = torch.arange(logits.shape[1], device=logits.device)[None] < lengths.to(logits.device)[:, None]
            target = logits.detach().argmax(-1) if gold is None else torch.tensor(
                [g + [0] * (logits.shape[1] - len(g)) for g in gold], device=logits.device)
            return nn.functional.cross_entropy(logits[mask], target[mask])
        target = logits.detach().argmax(-1) if gold is None else torch.tensor(gold, device=logits.device)
        return nn.functional.cross_entropy(logits, target)
    return fn

"""The model's own head, read off a state_dict: the linear layer(s) after the recurrent layer, what task they
imply (a tag per step, or a label per sequence) and how the recurrent output is pooled, with the keys that
say so. `build_head` makes the head as a module and `head_logits` applies it to a recorded `Trace`.

What the weights can tell: a linear layer whose input width equals the recurrent output (D x H_out per step),
or twice that (mean and max pooled together), sits on top of it; a chain Linear -> Linear (an MLP) is
followed to its end. What they cannot tell: per-step tagging and last-state classification use the same
shapes; names ("tag", "classifier", ...) and an output as wide as the vocabulary (a language model) are
hints, and otherwise the guess says "unknown" and lists both for the user to confirm.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ..record.results import Trace
from .recurrent_weights import RecurrentSpec, _recurrent_params, as_state_dict, find_recurrent_prefixes

TAGGING_NAMES = re.compile(r"tag|crf|token|ner|pos\b|emission|decoder|lm_head|proj_vocab", re.I)
CLASSIFICATION_NAMES = re.compile(r"class|cls|sentiment|label|pool|score|judge", re.I)
POOLINGS = ("per-step", "last", "mean", "max", "mean+max")  # what a head can read from the recurrent output


@dataclass(frozen=True)
class HeadGuess:
    """A head after the recurrent layer, as inferred from key names and shapes."""

    layers: tuple[tuple[str, Optional[str], int, int], ...]  # (weight key, bias key or None, in, out) in order
    task: str  # "tagging" (a prediction per step), "classification" (one per sequence) or "unknown"
    pooling_candidates: tuple[str, ...]  # from POOLINGS, most likely first
    evidence: tuple[str, ...]  # one sentence per fact used, naming the keys

    @property
    def in_features(self) -> int:
        return self.layers[0][2]

    @property
    def out_features(self) -> int:
        return self.layers[-1][3]

    def describe(self) -> str:
        chain = " -> ".join(f"{w} {tuple((o, i))}" for w, _, i, o in self.layers)
        return f"{chain}: {self.task}, pooling {' or '.join(self.pooling_candidates)}. " + " ".join(self.evidence)


def _linears(sd: dict[str, torch.Tensor], exclude: set[str]) -> list[tuple[str, Optional[str], int, int]]:
    """Every 2-D float "...weight" with a matching 1-D "...bias" (or none), outside `exclude`, in file order."""
    out = []
    for key, value in sd.items():
        if key in exclude or not key.endswith("weight") or value.dim() != 2 or not value.is_floating_point():
            continue
        bias = key[: -len("weight")] + "bias"
        has_bias = bias in sd and tuple(sd[bias].shape) == (value.shape[0],)
        out.append((key, bias if has_bias else None, int(value.shape[1]), int(value.shape[0])))
    return out


def find_heads(state_dict: object, spec: RecurrentSpec, prefix: Optional[str] = None,
               vocab_size: Optional[int] = None) -> list[HeadGuess]:
    """Heads that can read the recurrent layer at `prefix` (default: the first one), best first."""
    sd = as_state_dict(state_dict)
    prefixes = find_recurrent_prefixes(sd)
    prefix = prefixes[0] if prefix is None and prefixes else (prefix or "")
    recurrent = {p + name for p in prefixes for name in _recurrent_params(sd, p)}
    features = spec.num_directions * spec.output_size  # what the recurrent layer outputs per step
    # an nn.Embedding ([vocab, features], no bias) is never a head, even when its width happens to match
    linears = [lin for lin in _linears(sd, recurrent) if not (lin[1] is None and "emb" in lin[0].lower())]
    guesses = []
    for first in linears:
        key, _, width, _ = first
        if width not in (features, 2 * features):
            continue
        chain = [first]
        while True:  # follow Linear -> Linear (an MLP head): the next layer reads the previous one's output
            nxt = [lin for lin in linears if lin[2] == chain[-1][3] and lin not in chain
                   and linears.index(lin) > linears.index(chain[-1])]
            if not nxt:
                break
            chain.append(nxt[0])
        guesses.append(_interpret(tuple(chain), spec, features, prefix, vocab_size))
    # a head under the same parent module as the recurrent layer (e.g. "model.head" next to "model.lstm") first
    parent = prefix.rsplit(".", 2)[0] if prefix.count(".") >= 2 else ""
    guesses.sort(key=lambda g: (not g.layers[0][0].startswith(parent), g.task == "unknown"))
    return guesses


def _interpret(chain, spec: RecurrentSpec, features: int, prefix: str, vocab_size: Optional[int]) -> HeadGuess:
    key, _, width, _ = chain[0]
    out = chain[-1][3]
    names = " ".join(w for w, *_ in chain)
    directions = f"{spec.num_directions} direction(s) x {spec.output_size} units of {prefix or 'the recurrent layer'}"
    evidence = [f"{key} has input width {width} = " + (directions if width == features else f"2 x ({directions})")
                + "."]
    if len(chain) > 1:
        evidence.append(f"It feeds {' -> '.join(w for w, *_ in chain[1:])} (an MLP head ending in {out} outputs).")
    if width == 2 * features:
        evidence.append("Twice the recurrent output: mean and max pooling concatenated, so one label per sequence.")
        return HeadGuess(chain, "classification", ("mean+max",), tuple(evidence))
    if vocab_size is not None and out == vocab_size:
        evidence.append(f"Its {out} outputs equal the vocabulary size: a next-token prediction at every step.")
        return HeadGuess(chain, "tagging", ("per-step",), tuple(evidence))
    if TAGGING_NAMES.search(names):
        evidence.append(f"The name {names!r} suggests a prediction per step.")
        return HeadGuess(chain, "tagging", ("per-step",), tuple(evidence))
    if CLASSIFICATION_NAMES.search(names):
        evidence.append(f"The name {names!r} suggests one label per sequence.")
        return HeadGuess(chain, "classification", ("last", "mean", "max"), tuple(evidence))
    evidence.append("The weights cannot tell a tag per step from one label per sequence: confirm the task.")
    return HeadGuess(chain, "unknown", ("per-step", "last", "mean", "max"), tuple(evidence))


def build_head(guess: HeadGuess, state_dict: object) -> nn.Sequential:
    """The head as Linear layers with the file's weights (ReLU between layers of an MLP head: the
    activation is not stored in a state_dict, so it is an assumption the caller may change)."""
    sd = as_state_dict(state_dict)
    layers: list[nn.Module] = []
    for k, (wkey, bkey, width, out) in enumerate(guess.layers):
        if k:
            layers.append(nn.ReLU())
        lin = nn.Linear(width, out, bias=bkey is not None)
        with torch.no_grad():
            lin.weight.copy_(sd[wkey])
            if bkey is not None:
                lin.bias.copy_(sd[bkey])
        layers.append(lin)
    return nn.Sequential(*layers).eval()


def pooled_features(trace: Trace, pooling: str) -> torch.Tensor:
    """What a head reads from a trace of the top layer: `[B, T, F]` per step, else `[B, F]` (F = D x H_out)."""
    top = trace.hidden[-1]  # [D, B, T, U]
    mask = trace.mask[..., None]  # [B, T, 1]
    per_step = torch.cat(list(top), dim=-1)  # [B, T, D*U], zero at padding
    if pooling == "per-step":
        return per_step
    if pooling == "last":  # forward: state at the last valid step; reverse: state at position 0 (its last)
        last = trace.lengths - 1
        parts = [top[0, torch.arange(top.shape[1]), last]] + ([top[1, :, 0]] if top.shape[0] > 1 else [])
        return torch.cat(parts, dim=-1)
    mean = per_step.sum(1) / trace.lengths[:, None].to(per_step.dtype)
    high = per_step.masked_fill(~mask, float("-inf")).amax(1)
    if pooling == "mean":
        return mean
    if pooling == "max":
        return high
    if pooling == "mean+max":
        return torch.cat([mean, high], dim=-1)
    raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}")


def head_logits(head: nn.Module, trace: Trace, pooling: str) -> torch.Tensor:
    """The head applied to a trace: `[B, T, classes]` per step, or `[B, classes]`."""
    with torch.no_grad():
        return head(pooled_features(trace, pooling).to(next(head.parameters()).dtype))

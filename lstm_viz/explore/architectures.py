"""LSTM vs GRU vs plain RNN on equal terms: fresh, seeded, untrained modules of one size, fed the same
inputs and judged by the same loss, so their gradient flow through time can be drawn side by side.

The shared loss is a fixed random linear readout of the top layer's final hidden state (both directions
concatenated): L = mean_b <w, h_last_b>, with w a seeded unit vector. Its gradient at the last step is the
same vector w / B for every module, so the curves start from one injected error signal and differ only in
how each recurrence carries it back in time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..record.gradient_flow import gradient_flow
from ..record.prepare import module_kind
from ..record.tracing import trace
from ..record.results import GradientFlow, Trace

KINDS = ("LSTM", "GRU", "RNN")  # torch.nn class names, in the order they are drawn
UNTRAINED = "untrained, random weights"  # said in every legend entry of a fresh module


def untrained_name(kind: str) -> str:
    """The legend name of a fresh module, e.g. "GRU (untrained, random weights)": never mistaken for a
    trained model."""
    return f"{kind} ({UNTRAINED})"
_CLASSES = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}


@dataclass(frozen=True)
class Sizes:
    """The shape of a sequence module that fresh comparison modules copy (no projection, no dropout)."""

    input_size: int
    hidden_size: int  # units per gate
    num_layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1


def module_sizes(module: nn.Module) -> Sizes:
    """The Sizes of an nn.LSTM/GRU/RNN (a cell has no time axis to compare over)."""
    module_kind(module)  # TypeError for anything that is not recurrent
    if isinstance(module, (nn.LSTMCell, nn.GRUCell, nn.RNNCell)):
        raise TypeError(f"a {type(module).__name__} runs one step; compare sequence modules (nn.LSTM/GRU/RNN)")
    return Sizes(int(module.input_size), int(module.hidden_size), int(module.num_layers),
                 bool(module.bidirectional), bool(module.batch_first))


def fresh_modules(sizes: Sizes, seed: int = 0, kinds: Sequence[str] = KINDS) -> dict[str, nn.Module]:
    """name -> a new untrained module of each kind (PyTorch's default init), in eval mode, on the CPU.

    Each module is built under `torch.manual_seed(seed)` inside a forked RNG, so the result depends only on
    (sizes, seed, kind) and the caller's random state is left alone.
    """
    if not isinstance(sizes, Sizes):
        raise TypeError(f"sizes must be a Sizes (see module_sizes), got {type(sizes).__name__}")
    out = {}
    for kind in kinds:
        if kind not in _CLASSES:
            raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out[kind] = _CLASSES[kind](sizes.input_size, sizes.hidden_size, num_layers=sizes.num_layers,
                                       bidirectional=sizes.bidirectional, batch_first=sizes.batch_first).eval()
    return out


def readout_vector(size: int, seed: int = 0) -> torch.Tensor:
    """A seeded random unit vector [size] (float32): the fixed linear readout."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(size, generator=gen)
    return w / w.norm()


def readout_loss(weight: torch.Tensor, num_directions: int = 1) -> Callable[[torch.Tensor, object], torch.Tensor]:
    """loss_fn for `gradient_flow`: mean over the batch of <weight, top-layer final state of every direction>.

    `weight`: [num_directions * units]. The final state is h_n (or h_n of (h_n, c_n) for an LSTM), laid out
    [L*D, B, units], or [L*D, units] for unbatched input.
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 1:
        raise TypeError("weight must be a 1-D tensor [num_directions * units]")
    if num_directions not in (1, 2):
        raise ValueError(f"num_directions must be 1 or 2, got {num_directions!r}")

    def loss(output: torch.Tensor, state: object) -> torch.Tensor:
        h_n = state[0] if isinstance(state, tuple) else state
        top = h_n[-num_directions:]  # [D, B, U] or [D, U]
        if top.dim() == 2:
            top = top[:, None]
        feats = top.permute(1, 0, 2).reshape(top.shape[1], -1)  # [B, D*U], forward then backward
        if feats.shape[1] != weight.numel():
            raise ValueError(f"the readout has {weight.numel()} weights but the final state has {feats.shape[1]} "
                             "features; build it with readout_vector(num_directions * units)")
        return (feats @ weight.to(feats.dtype)).mean()

    return loss


@dataclass(frozen=True)
class Comparison:
    """Gradient flows (and traces, for the forget-gate products) of fresh modules on one input."""

    sizes: Sizes
    seed: int
    flows: dict[str, GradientFlow]  # kind name -> flow under the shared readout loss
    traces: dict[str, Trace]  # kind name -> trace of the same forward (LSTM/GRU gates, RNN states)

    def labelled(self) -> tuple[dict[str, GradientFlow], dict[str, Trace]]:
        """(flows, traces) keyed by legend names that say the weights are untrained (`untrained_name`)."""
        return ({untrained_name(k): f for k, f in self.flows.items()},
                {untrained_name(k): t for k, t in self.traces.items()})


def compare_gradient_flow(sizes: Sizes, inputs: torch.Tensor, lengths: Optional[torch.Tensor] = None,
                          seed: int = 0, kinds: Sequence[str] = KINDS) -> Comparison:
    """Run fresh LSTM/GRU/RNN of `sizes` on `inputs` (laid out as sizes.batch_first says) and record each
    one's ||dL/dh_t|| (and ||dL/dc_t||) under the same readout loss."""
    modules = fresh_modules(sizes, seed, kinds)
    inputs = inputs.detach().float().cpu()
    loss = readout_loss(readout_vector(sizes.num_directions * sizes.hidden_size, seed + 1), sizes.num_directions)
    flows, traces = {}, {}
    for name, module in modules.items():
        flows[name] = gradient_flow(module, inputs, loss, lengths=lengths)
        traces[name] = trace(module, inputs, lengths=lengths)
    return Comparison(sizes, seed, flows, traces)

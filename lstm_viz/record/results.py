"""Plain result types shared by the recorder, the analysis and the figures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from .gate_table import GATES_BY_KIND, GRU_GATES, LSTM_GATES, SIGMOID_GATES  # noqa: F401 (re-exported)



@dataclass
class Trace:
    """What happened inside a recurrent module at every time step.

    All per-step tensors are on the CPU and laid out `[num_layers, num_directions, batch, time, units]`;
    time index t is the input position in both directions (as in `nn.LSTM`'s output). Values at padding
    positions (mask False) are 0. They may be non-contiguous views of what the kernels wrote (memory stays
    time-major, and one layer and direction is not copied at all): use `.reshape`, or `.contiguous()` first.
    """

    kind: str  # "lstm", "gru" or "rnn"
    gate_names: tuple[str, ...]  # ("i","f","g","o"), ("r","z","n") or ()
    output: torch.Tensor  # exactly what module(inputs, hx)[0] returns (padded back when lengths given)
    h_n: torch.Tensor  # module's final hidden state, [num_layers * num_directions, batch, units]
    c_n: Optional[torch.Tensor]  # LSTM final cell state, [num_layers * num_directions, batch, hidden]; else None
    gates: dict[str, torch.Tensor]  # gate name -> [L, D, B, T, hidden], after sigmoid/tanh
    hidden: torch.Tensor  # h_t: [L, D, B, T, units] (units = proj_size when set)
    cell: Optional[torch.Tensor]  # LSTM c_t: [L, D, B, T, hidden]; None for GRU/RNN
    mask: torch.Tensor  # bool [B, T], False on padding
    lengths: torch.Tensor  # int64 [B], valid steps per sequence
    nonlinearity: str = "tanh"  # RNN only: "tanh" or "relu"
    batch_first: bool = False  # the module's layout, which `output` follows
    meta: dict = field(default_factory=dict)  # e.g. {"engine": "mkldnn-workspace" | "replay"}

    @property
    def num_layers(self) -> int:
        return self.hidden.shape[0]

    @property
    def num_directions(self) -> int:
        return self.hidden.shape[1]

    @property
    def batch_size(self) -> int:
        return self.hidden.shape[2]

    @property
    def steps(self) -> int:
        return self.hidden.shape[3]

    @property
    def hidden_size(self) -> int:
        """Units per gate (and of c_t); h_t has proj_size units when a projection is set."""
        if self.gate_names:
            return self.gates[self.gate_names[0]].shape[-1]
        return self.hidden.shape[-1]


@dataclass
class GradientFlow:
    """Norms of the total derivatives dL/dh_t and dL/dc_t through the recurrence.

    `dh`, `dc`: `[num_layers, num_directions, batch, time]`, the L2 norm over units; 0 at padding.
    """

    kind: str
    dh: torch.Tensor
    dc: Optional[torch.Tensor]  # LSTM only
    loss: float
    mask: torch.Tensor  # bool [B, T]
    gate_grad_norms: dict = field(default_factory=dict)  # (layer, direction, gate) -> L2 norm of that loss's grads

"""The one gate table: per kind of recurrent layer, its gates (in torch.nn's chunk order), how many row
blocks its weights hold, which torch.nn classes implement it, and the gate activations themselves."""
from __future__ import annotations

import torch
from torch import nn

LSTM_GATES = ("i", "f", "g", "o")  # torch.nn.LSTM chunk order of weight_ih / weight_hh rows
GRU_GATES = ("r", "z", "n")  # torch.nn.GRU chunk order
GATES_BY_KIND = {"lstm": LSTM_GATES, "gru": GRU_GATES, "rnn": ()}
# Gates whose activation is a sigmoid (values in [0, 1]); the others are tanh (values in [-1, 1]).
SIGMOID_GATES = frozenset({"i", "f", "o", "r", "z"})
GATE_COUNT = {"lstm": 4, "gru": 3, "rnn": 1}  # row blocks of weight_ih / weight_hh
KIND_BY_GATE_COUNT = {count: kind for kind, count in GATE_COUNT.items()}
SEQUENCE_CLASS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # kind -> torch.nn sequence module
CELL_CLASS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}  # kind -> one-step module
DISPLAY_NAME = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}  # also the torch.nn class name


def module_kind(module: nn.Module) -> str:
    """"lstm", "gru" or "rnn" for a torch.nn recurrent module or cell; TypeError for anything else."""
    for kind in GATE_COUNT:
        if isinstance(module, (SEQUENCE_CLASS[kind], CELL_CLASS[kind])):
            return kind
    raise TypeError(
        f"expected a torch.nn.LSTM, GRU, RNN, LSTMCell, GRUCell or RNNCell; got {type(module).__name__}. "
        "Pass the recurrent layer itself (e.g. model.lstm), not the whole model."
    )


def is_cell(module: nn.Module) -> bool:
    return isinstance(module, tuple(CELL_CLASS.values()))


def activate_gates(kind: str, gi: torch.Tensor, gh: torch.Tensor, hidden: int) -> torch.Tensor:
    """Gate activations from input and hidden pre-activations `[..., G*H]` -> `[..., G, H]` (G = 4 or 3).

    The one place the gate equations live; the trace engines and the step-wise gradient graph share it.
    Differentiable when its inputs require grad (no in-place writes then).
    """
    if kind == "lstm":
        pre = (gi + gh).unflatten(-1, (4, hidden))
        if pre.requires_grad:
            return torch.cat([torch.sigmoid(pre[..., :2, :]), torch.tanh(pre[..., 2:3, :]),
                              torch.sigmoid(pre[..., 3:, :])], dim=-2)
        gates = torch.sigmoid(pre)
        gates[..., 2, :] = torch.tanh(pre[..., 2, :])  # g is the tanh candidate (in place: no extra copy)
        return gates
    # GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) keeps the reset inside the hidden term
    gi, gh = gi.unflatten(-1, (3, hidden)), gh.unflatten(-1, (3, hidden))
    rz = torch.sigmoid(gi[..., :2, :] + gh[..., :2, :])
    n = torch.tanh(gi[..., 2, :] + rz[..., 0, :] * gh[..., 2, :])
    return torch.cat([rz, n.unsqueeze(-2)], dim=-2)

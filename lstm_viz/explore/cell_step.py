"""One LSTM step and one GRU step, spelled out for the "cell anatomy" teaching page.

Everything is plain numpy float64 on tiny sizes (1-3 units), so a page can show every intermediate value.
Weights use torch.nn's layout (`weight_ih` rows in chunk order i,f,g,o or r,z,n), so they load into
`nn.LSTMCell` / `nn.GRUCell` unchanged; the parity tests rely on that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np
import torch
from torch import nn

ArrayLike = Union[float, int, list, tuple, np.ndarray, torch.Tensor]
GATE_ROWS = {"lstm": 4, "gru": 3}  # row blocks in weight_ih / weight_hh

# LaTeX for st.latex, one equation per entry (PyTorch's formulation; the two biases are PyTorch's too).
LSTM_EQUATIONS: dict[str, str] = {
    "i": r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
    "f": r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})",
    "g": r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})",
    "o": r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
    "c": r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
    "h": r"h_t = o_t \odot \tanh(c_t)",
}
GRU_EQUATIONS: dict[str, str] = {
    "r": r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
    "z": r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
    "n": r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
    "h": r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
}


def _vec(value: ArrayLike, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from exc
    return np.atleast_1d(arr)


@dataclass(frozen=True, eq=False)
class CellWeights:
    """Parameters of one LSTM or GRU cell in torch.nn's layout (numpy float64)."""

    kind: str  # "lstm" or "gru"
    weight_ih: np.ndarray  # [G*H, I], row blocks in chunk order (i,f,g,o) or (r,z,n)
    weight_hh: np.ndarray  # [G*H, H]
    bias_ih: np.ndarray  # [G*H]
    bias_hh: np.ndarray  # [G*H]

    def __post_init__(self) -> None:
        if self.kind not in GATE_ROWS:
            raise ValueError(f"kind must be 'lstm' or 'gru', got {self.kind!r}")
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            object.__setattr__(self, name, _vec(getattr(self, name), name))
        g = GATE_ROWS[self.kind]
        w_ih, w_hh = self.weight_ih, self.weight_hh
        if w_ih.ndim != 2 or w_hh.ndim != 2 or w_ih.shape[0] % g or w_hh.shape[0] != w_ih.shape[0]:
            raise ValueError(
                f"{self.kind} weights need weight_ih [{g}*H, I] and weight_hh [{g}*H, H]; "
                f"got {w_ih.shape} and {w_hh.shape}")
        hidden = w_ih.shape[0] // g
        if w_hh.shape[1] != hidden or self.bias_ih.shape != (g * hidden,) or self.bias_hh.shape != (g * hidden,):
            raise ValueError(
                f"{self.kind} weights with H={hidden} need weight_hh [{g * hidden}, {hidden}] and biases "
                f"[{g * hidden}]; got {w_hh.shape}, {self.bias_ih.shape}, {self.bias_hh.shape}")

    @property
    def hidden_size(self) -> int:
        return self.weight_ih.shape[0] // GATE_ROWS[self.kind]

    @property
    def input_size(self) -> int:
        return self.weight_ih.shape[1]

    @classmethod
    def from_module(cls, cell: nn.Module) -> "CellWeights":
        """Read an `nn.LSTMCell` / `nn.GRUCell` (bias=False reads as zero biases)."""
        if isinstance(cell, nn.LSTMCell):
            kind = "lstm"
        elif isinstance(cell, nn.GRUCell):
            kind = "gru"
        else:
            raise TypeError(f"expected nn.LSTMCell or nn.GRUCell, got {type(cell).__name__}")
        rows = cell.weight_ih.shape[0]
        zeros = torch.zeros(rows)
        return cls(kind, cell.weight_ih, cell.weight_hh,
                   cell.bias_ih if cell.bias_ih is not None else zeros,
                   cell.bias_hh if cell.bias_hh is not None else zeros)

    def to_module(self, dtype: torch.dtype = torch.float64) -> nn.Module:
        """A fresh `nn.LSTMCell` / `nn.GRUCell` holding exactly these weights."""
        cls = nn.LSTMCell if self.kind == "lstm" else nn.GRUCell
        cell = cls(self.input_size, self.hidden_size).to(dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(torch.from_numpy(getattr(self, name)))
        return cell


def _inputs(weights: CellWeights, kind: str, x: ArrayLike, h_prev: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(weights, CellWeights):
        raise TypeError(f"weights must be a CellWeights, got {type(weights).__name__}")
    if weights.kind != kind:
        raise ValueError(f"{kind}_step needs {kind} weights, got {weights.kind} weights")
    x, h = _vec(x, "x"), _vec(h_prev, "h_prev")
    if x.shape[-1] != weights.input_size or h.shape[-1] != weights.hidden_size:
        raise ValueError(
            f"x must end in {weights.input_size} inputs and h_prev in {weights.hidden_size} units; "
            f"got shapes {x.shape} and {h.shape}")
    return x, h


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # overflow-free form of 1 / (1 + exp(-v))


def lstm_step(x: ArrayLike, h_prev: ArrayLike, c_prev: ArrayLike, weights: CellWeights) -> dict[str, np.ndarray]:
    """One `nn.LSTMCell` step with every intermediate value.

    Shapes: x `[..., I]`, h_prev and c_prev `[..., H]` (a scalar counts as size 1). Returns float64 arrays:
    `pre_i`.. `pre_o` (pre-activations), `i f g o` (gates), `forget_part` = f*c_prev,
    `input_part` = i*g, `c`, `tanh_c`, `h`, plus the inputs `x`, `h_prev`, `c_prev`.
    """
    x, h = _inputs(weights, "lstm", x, h_prev)
    c = _vec(c_prev, "c_prev")
    if c.shape != h.shape:
        raise ValueError(f"c_prev must have the shape of h_prev {h.shape}, got {c.shape}")
    pre = x @ weights.weight_ih.T + weights.bias_ih + h @ weights.weight_hh.T + weights.bias_hh
    pre_i, pre_f, pre_g, pre_o = np.split(pre, 4, axis=-1)
    i, f, g, o = _sigmoid(pre_i), _sigmoid(pre_f), np.tanh(pre_g), _sigmoid(pre_o)
    c_t = f * c + i * g
    return {
        "x": x, "h_prev": h, "c_prev": c,
        "pre_i": pre_i, "pre_f": pre_f, "pre_g": pre_g, "pre_o": pre_o,
        "i": i, "f": f, "g": g, "o": o,
        "forget_part": f * c, "input_part": i * g,
        "c": c_t, "tanh_c": np.tanh(c_t), "h": o * np.tanh(c_t),
    }


def gru_step(x: ArrayLike, h_prev: ArrayLike, weights: CellWeights) -> dict[str, np.ndarray]:
    """One `nn.GRUCell` step with every intermediate value.

    Returns `pre_r`, `pre_z`, `pre_n_x` (= W_in x + b_in), `pre_n_h` (= W_hn h + b_hn),
    `pre_n` (= pre_n_x + r * pre_n_h), `r z n`, `keep_part` = z*h_prev, `new_part` = (1-z)*n, `h`,
    plus the inputs `x`, `h_prev`.
    """
    x, h = _inputs(weights, "gru", x, h_prev)
    gx = x @ weights.weight_ih.T + weights.bias_ih  # [..., 3H]
    gh = h @ weights.weight_hh.T + weights.bias_hh
    x_r, x_z, x_n = np.split(gx, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    pre_r, pre_z = x_r + h_r, x_z + h_z
    r, z = _sigmoid(pre_r), _sigmoid(pre_z)
    pre_n = x_n + r * h_n
    n = np.tanh(pre_n)
    return {
        "x": x, "h_prev": h,
        "pre_r": pre_r, "pre_z": pre_z, "pre_n_x": x_n, "pre_n_h": h_n, "pre_n": pre_n,
        "r": r, "z": z, "n": n,
        "keep_part": z * h, "new_part": (1.0 - z) * n, "h": (1.0 - z) * n + z * h,
    }


def _number(a: float, digits: int) -> str:
    text = f"{a:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _fmt(v: np.ndarray, digits: int = 2) -> str:
    flat = np.asarray(v).ravel()
    if flat.size == 1:
        return _number(flat[0], digits)
    return r"\begin{bmatrix}" + r" \\ ".join(_number(a, digits) for a in flat) + r"\end{bmatrix}"


def _operand(v: np.ndarray, digits: int = 2) -> str:
    """A number as the operand of a product or sum: a negative scalar in parentheses ("1.00 \\cdot (-0.50)",
    never "1.00 \\cdot -0.50"); a vector is a bracketed column already."""
    text = _fmt(v, digits)
    return f"({text})" if text.startswith("-") else text


def substituted_equations(step: dict[str, np.ndarray], digits: int = 2) -> dict[str, str]:
    """The state equations with this step's numbers in them (LaTeX), for one unbatched step. LSTM needs
    f, c_prev, i, g, c, o, h; GRU needs z, n, h_prev, h (and pre_n_x, r, pre_n_h for the n equation).

    Every operand but a leading one is parenthesised when negative; results after "=" are not."""
    d = {k: _fmt(v, digits) for k, v in step.items()}
    o = {k: _operand(v, digits) for k, v in step.items()}
    if "c" in step:  # LSTM
        return {
            "c": rf"c_t = {d['f']} \cdot {o['c_prev']} + {o['i']} \cdot {o['g']} = {d['c']}",
            "h": rf"h_t = {d['o']} \cdot \tanh({d['c']}) = {d['h']}",
        }
    out = {"h": rf"h_t = (1 - {o['z']}) \cdot {o['n']} + {o['z']} \cdot {o['h_prev']} = {d['h']}"}
    if "pre_n_x" in step:  # a recorded trace has n but not its two parts
        out = {"n": rf"n_t = \tanh({d['pre_n_x']} + {o['r']} \cdot {o['pre_n_h']}) = {d['n']}", **out}
    return out


@dataclass(frozen=True, eq=False)
class CellPreset:
    """A named, interpretable weight setting for 1 input and 1 unit."""

    name: str
    description: str
    weights: CellWeights
    inputs: tuple[float, ...] = field(default=(1.0, -0.5, 0.8, -1.0, 0.3))  # a short input sequence to step through


S = 6.0  # bias that saturates a sigmoid: sigmoid(6) = 0.9975, sigmoid(-6) = 0.0025


def _lstm(i: tuple[float, float, float], f: tuple[float, float, float], g: tuple[float, float, float],
          o: tuple[float, float, float] = (0.0, 0.0, S)) -> CellWeights:
    """Each gate as (w_x, w_h, bias); biases go to bias_ih, bias_hh stays 0."""
    rows = (i, f, g, o)
    return CellWeights("lstm", [[r[0]] for r in rows], [[r[1]] for r in rows], [r[2] for r in rows], [0.0] * 4)


def _gru(r: tuple[float, float, float], z: tuple[float, float, float], n: tuple[float, float, float],
         b_hn: float = 0.0) -> CellWeights:
    """Each gate as (w_x, w_h, bias); for n, w_h is W_hn (multiplied by r) and the bias is b_in."""
    rows = (r, z, n)
    return CellWeights("gru", [[q[0]] for q in rows], [[q[1]] for q in rows], [q[2] for q in rows],
                       [0.0, 0.0, b_hn])


LSTM_PRESETS: dict[str, CellPreset] = {p.name: p for p in (
    CellPreset("remember everything", "i ~ 0, f ~ 1: the cell keeps its value whatever the input.",
               _lstm(i=(0, 0, -S), f=(0, 0, S), g=(2, 0, 0))),
    CellPreset("write new input", "i ~ 1, f ~ 0: the cell is overwritten with tanh(2x) at every step.",
               _lstm(i=(0, 0, S), f=(0, 0, -S), g=(2, 0, 0))),
    CellPreset("erase", "i ~ 0, f ~ 0: the cell is cleared to 0 at every step.",
               _lstm(i=(0, 0, -S), f=(0, 0, -S), g=(2, 0, 0))),
    CellPreset("add input", "i ~ 1, f ~ 1: the cell accumulates tanh(2x), a running sum of the inputs.",
               _lstm(i=(0, 0, S), f=(0, 0, S), g=(2, 0, 0))),
    CellPreset("counter", "i ~ 1, f ~ 1, g ~ 1: the cell grows by 1 per step and counts the steps.",
               _lstm(i=(0, 0, S), f=(0, 0, S), g=(0, 0, S)), inputs=(0.0,) * 5),
    CellPreset("gate on input sign",
               "i = sigmoid(10x), f = sigmoid(-10x): a positive input overwrites the cell with +1, "
               "a negative input leaves it unchanged.",
               _lstm(i=(10, 0, 0), f=(-10, 0, 0), g=(0, 0, S))),
)}

GRU_PRESETS: dict[str, CellPreset] = {p.name: p for p in (
    CellPreset("keep state", "z ~ 1: $h_t = h_{t-1}$ whatever the input.",
               _gru(r=(0, 0, S), z=(0, 0, S), n=(2, 1, 0))),
    CellPreset("overwrite with input and state", "z ~ 0, r ~ 1: $h_t = \\tanh(2x + h_{t-1})$, a squashed running sum.",
               _gru(r=(0, 0, S), z=(0, 0, -S), n=(2, 1, 0))),
    CellPreset("reset and overwrite", "z ~ 0, r ~ 0: $h_t = \\tanh(2x)$; the previous state is ignored.",
               _gru(r=(0, 0, -S), z=(0, 0, -S), n=(2, 1, 0))),
    CellPreset("gate on input sign",
               "z = sigmoid(-10x): a positive input overwrites h with tanh(2x), a negative one keeps h.",
               _gru(r=(0, 0, S), z=(-10, 0, 0), n=(2, 0, 0))),
)}


def run_preset(preset: CellPreset, inputs: ArrayLike | None = None) -> list[dict[str, np.ndarray]]:
    """Step a preset through a sequence of scalar inputs from a zero state; one step dict per input."""
    xs = _vec(preset.inputs if inputs is None else inputs, "inputs").ravel()
    w = preset.weights
    h = np.zeros(w.hidden_size)
    c = np.zeros(w.hidden_size)
    steps = []
    for x in xs:
        step = lstm_step([x], h, c, w) if w.kind == "lstm" else gru_step([x], h, w)
        h = step["h"]
        c = step.get("c", c)
        steps.append(step)
    return steps

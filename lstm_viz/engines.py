"""Record one layer and direction of a recurrent module, processing forward in time.

Every engine takes time-major inputs `x [T, B, F]` whose padding lies after each sequence's valid steps (a
reverse direction is handled by the caller, which reverses each sequence within its length first), and
returns a `Recording` with `h [T, B, H_out]`, `gates [T, B, G, H]` (after activation) and, for LSTM,
`c [T, B, H]`. Values at padding are unspecified; the caller masks them.

Two engines:
- `record_mkldnn_lstm`: the fused oneDNN LSTM kernel in training mode already computes every gate and
  keeps them in its workspace (a private layout: float32 rows `[T, B, ld]` whose first 4H entries are
  i, f, g, o). We read the gates from there and only scan c_t on top. The layout is verified on every call
  against a recompute of the first two steps; any mismatch falls back to the replay engine.
- `record_replay`: any kind, device and dtype. The module's own fused kernel gives h_t for all t; with
  h_{t-1} known, all gates come from two batched GEMMs (no step loop), plus a c_t scan for LSTM.
"""
from __future__ import annotations

import ctypes
import os
import warnings
from dataclasses import dataclass
from typing import Optional

import torch
from torch import _VF

from .recurrent import LayerWeights


@dataclass
class Recording:
    h: torch.Tensor  # [T, B, H_out]
    gates: Optional[torch.Tensor]  # [T, B, G, H] after activation; None for a plain RNN
    c: Optional[torch.Tensor]  # [T, B, H] (LSTM)
    engine: str


def _params(w: LayerWeights) -> list[torch.Tensor]:
    return [p for p in (w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr) if p is not None]


def _activate(kind: str, gi: torch.Tensor, gh: torch.Tensor, hidden: int) -> torch.Tensor:
    """Gate activations from input and hidden pre-activations `[..., G*H]` -> `[..., G, H]`."""
    if kind == "lstm":
        pre = (gi + gh).unflatten(-1, (4, hidden))
        gates = torch.sigmoid(pre)
        gates[..., 2, :] = torch.tanh(pre[..., 2, :])  # g is the tanh candidate
        return gates
    # GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) keeps the reset inside the hidden term
    gi, gh = gi.unflatten(-1, (3, hidden)), gh.unflatten(-1, (3, hidden))
    rz = torch.sigmoid(gi[..., :2, :] + gh[..., :2, :])
    n = torch.tanh(gi[..., 2, :] + rz[..., 0, :] * gh[..., 2, :])
    return torch.cat([rz, n.unsqueeze(-2)], dim=-2)


def scan_cell(gates: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """c_t = f_t * c_{t-1} + i_t * g_t over time. gates `[T, B, 4, H]` (may be strided), c0 `[B, H]`."""
    steps = gates.shape[0]
    written = gates[:, :, 0] * gates[:, :, 2]  # i * g for every step in one op: [T, B, H]
    forget = gates[:, :, 1]
    c = torch.empty_like(written)
    prev = c0
    for t in range(steps):
        prev = torch.addcmul(written[t], forget[t], prev, out=c[t])
    return c


def _fused_forward(kind: str, nonlinearity: str, w: LayerWeights, x, h0, c0) -> torch.Tensor:
    """h_t for all t from PyTorch's own fused kernel for one layer, one direction. -> [T, B, H_out]"""
    params, has_bias = _params(w), w.b_ih is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        if kind == "lstm":
            return _VF.lstm(x, (h0[None], c0[None]), params, has_bias, 1, 0.0, False, False, False)[0]
        if kind == "gru":
            return _VF.gru(x, h0[None], params, has_bias, 1, 0.0, False, False, False)[0]
        fn = _VF.rnn_tanh if nonlinearity == "tanh" else _VF.rnn_relu
        return fn(x, h0[None], params, has_bias, 1, 0.0, False, False, False)[0]


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    return torch.nn.functional.linear(x, weight, bias)


def record_replay(kind: str, nonlinearity: str, w: LayerWeights, x, h0, c0) -> Recording:
    h = _fused_forward(kind, nonlinearity, w, x, h0, c0)
    if kind == "rnn":
        return Recording(h=h, gates=None, c=None, engine="replay")
    prev = torch.cat([h0[None], h[:-1]], dim=0)  # h_{t-1}: [T, B, H_out]
    hidden = w.w_hh.shape[0] // (4 if kind == "lstm" else 3)
    gates = _activate(kind, _linear(x, w.w_ih, w.b_ih), _linear(prev, w.w_hh, w.b_hh), hidden)
    c = scan_cell(gates, c0) if kind == "lstm" else None
    return Recording(h=h, gates=gates, c=c, engine="replay")


# ---- oneDNN workspace engine ------------------------------------------------------------------------

_ROW_STRIDE: dict[int, int] = {}  # hidden size -> ld (floats per workspace row), found once per size
_MKLDNN_LSTM_MODE = 2  # ideep::rnn_kind::LSTM
_allocator_tuned = False


def _tune_allocator() -> None:
    """Keep large buffers in the heap instead of fresh mmaps.

    The training-mode kernel allocates a workspace of tens of MB per call; glibc serves blocks over 32 MB
    with mmap and unmaps them on free, so every call pays page faults over the whole buffer (measured here
    as +70% of the forward's time). Raising the mmap and trim thresholds lets freed workspaces be reused.
    Opt out with LSTM_VIZ_NO_MALLOPT=1.
    """
    global _allocator_tuned
    if _allocator_tuned or os.environ.get("LSTM_VIZ_NO_MALLOPT"):
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: 1 GiB
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: 1 GiB
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def mkldnn_lstm_applies(kind: str, w: LayerWeights, x: torch.Tensor) -> bool:
    return (
        kind == "lstm" and w.w_hr is None and x.device.type == "cpu" and x.dtype == torch.float32
        and torch.backends.mkldnn.is_available() and torch._C._get_mkldnn_enabled()
        and not os.environ.get("LSTM_VIZ_NO_WORKSPACE")
    )


def _expected_first_gates(w: LayerWeights, x, h0, h, hidden) -> torch.Tensor:
    """Recomputed gates of the first (up to) two steps: [min(T, 2), B, 4, H]."""
    steps = min(x.shape[0], 2)
    prev = torch.cat([h0[None], h[:1]], dim=0)[:steps]
    return _activate("lstm", _linear(x[:steps], w.w_ih, w.b_ih), _linear(prev, w.w_hh, w.b_hh), hidden)


def _workspace_gates(ws: torch.Tensor, expected: torch.Tensor, steps: int, batch: int, hidden: int):
    """View the workspace as gates [T, B, 4, H] if its layout matches `expected`, else None."""
    flat = ws.view(torch.float32)
    width = 4 * hidden
    candidates = [_ROW_STRIDE[hidden]] if hidden in _ROW_STRIDE else range(width, width + 257)
    # offset ld holds row (t=0, b=1), or (t=1, b=0) when batch is 1
    probe = (expected[0, 1] if batch > 1 else expected[1, 0]) if batch > 1 or steps > 1 else None
    for ld in candidates:
        if steps * batch * ld > flat.numel():
            break
        if probe is not None and not torch.allclose(flat[ld:ld + width], probe.reshape(-1), atol=1e-5):
            continue
        gates = flat[: steps * batch * ld].view(steps, batch, ld)[..., :width].unflatten(-1, (4, hidden))
        if torch.allclose(gates[: expected.shape[0]], expected, atol=1e-5, rtol=1e-4):
            if probe is not None:  # a single row says nothing about the stride
                _ROW_STRIDE[hidden] = ld
            return gates
        if hidden in _ROW_STRIDE:
            break
    return None


def record_mkldnn_lstm(w: LayerWeights, x, h0, c0) -> Optional[Recording]:
    """The fused kernel's own gates; None when the workspace is not laid out as expected."""
    _tune_allocator()
    hidden = w.w_hh.shape[1]
    b_ih = w.b_ih if w.b_ih is not None else x.new_zeros(4 * hidden)
    b_hh = w.b_hh if w.b_hh is not None else x.new_zeros(4 * hidden)
    with torch.enable_grad():  # the op returns its workspace only when autograd could need it
        h, _, _, ws = torch.ops.aten.mkldnn_rnn_layer.default(
            x.contiguous(), w.w_ih, w.w_hh, b_ih, b_hh, h0[None].contiguous(), c0[None].contiguous(),
            False, [], _MKLDNN_LSTM_MODE, hidden, 1, w.b_ih is not None, False, False, True)
    if ws is None or ws.numel() % 4:
        return None
    expected = _expected_first_gates(w, x, h0, h, hidden)
    gates = _workspace_gates(ws, expected, x.shape[0], x.shape[1], hidden)
    if gates is None:
        return None
    return Recording(h=h, gates=gates, c=scan_cell(gates, c0), engine="mkldnn-workspace")

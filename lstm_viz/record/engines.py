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

from .gate_table import GATE_COUNT, activate_gates
from .prepare import LayerWeights


@dataclass
class Recording:
    h: torch.Tensor  # [T, B, H_out]
    gates: Optional[torch.Tensor]  # [T, B, G, H] after activation; None for a plain RNN
    c: Optional[torch.Tensor]  # [T, B, H] (LSTM)
    engine: str


def _params(w: LayerWeights) -> list[torch.Tensor]:
    return [p for p in (w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr) if p is not None]


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
        # _VF.<kind>(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
        # the same private entry point nn.LSTM/GRU/RNN.forward calls; arguments spelled out by name below.
        layer = dict(has_biases=has_bias, num_layers=1, dropout=0.0, train=False, bidirectional=False,
                     batch_first=False)
        args = lambda hx: (x, hx, params, *layer.values())  # noqa: E731 - _VF takes them positionally only
        if kind == "lstm":
            return _VF.lstm(*args((h0[None], c0[None])))[0]
        if kind == "gru":
            return _VF.gru(*args(h0[None]))[0]
        fn = _VF.rnn_tanh if nonlinearity == "tanh" else _VF.rnn_relu
        return fn(*args(h0[None]))[0]


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    return torch.nn.functional.linear(x, weight, bias)


def record_replay(kind: str, nonlinearity: str, w: LayerWeights, x, h0, c0) -> Recording:
    h = _fused_forward(kind, nonlinearity, w, x, h0, c0)
    if kind == "rnn":
        return Recording(h=h, gates=None, c=None, engine="replay")
    prev = torch.cat([h0[None], h[:-1]], dim=0)  # h_{t-1}: [T, B, H_out]
    hidden = w.w_hh.shape[0] // GATE_COUNT[kind]
    gates = activate_gates(kind, _linear(x, w.w_ih, w.b_ih), _linear(prev, w.w_hh, w.b_hh), hidden)
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
    return activate_gates("lstm", _linear(x[:steps], w.w_ih, w.b_ih), _linear(prev, w.w_hh, w.b_hh), hidden)


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
    try:
        with torch.enable_grad():  # the op returns its workspace only when autograd could need it
            # aten::mkldnn_rnn_layer's schema, by name (torch.ops accepts keywords for schema arguments):
            h, _, _, ws = torch.ops.aten.mkldnn_rnn_layer.default(
                x.contiguous(), weight0=w.w_ih, weight1=w.w_hh, weight2=b_ih, weight3=b_hh,
                hx_=h0[None].contiguous(), cx_=c0[None].contiguous(), reverse=False, batch_sizes=[],
                mode=_MKLDNN_LSTM_MODE, hidden_size=hidden, num_layers=1, has_biases=w.b_ih is not None,
                bidirectional=False, batch_first=False, train=True)
    except (RuntimeError, TypeError, AttributeError):  # a torch build without it, or another schema
        return None
    if ws is None or ws.numel() % 4:
        return None
    expected = _expected_first_gates(w, x, h0, h, hidden)
    gates = _workspace_gates(ws, expected, x.shape[0], x.shape[1], hidden)
    if gates is None:
        return None
    return Recording(h=h, gates=gates, c=scan_cell(gates, c0), engine="mkldnn-workspace")

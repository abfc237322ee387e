"""A recurrent layer read off its weights alone: where `nn.LSTM`/`GRU`/`RNN` weights live in a state_dict,
what hyper-parameters their shapes imply (every layer and direction checked), and a fresh torch.nn module
holding exactly those weights.

`find_recurrent_prefixes` finds where recurrent weights live (e.g. "encoder.lstm."), `infer_architecture`
reads the hyper-parameters off the weight shapes, and `build_module` makes the module. Layers and hidden
size are checked against the budget before any module is built.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ..record.gate_table import GATE_COUNT, KIND_BY_GATE_COUNT, SEQUENCE_CLASS
from .budgets import Budget, BudgetError, resolve
from .safe_load import FileBudgetError, ModelFileError

# torch.nn.LSTM/GRU/RNN parameter names: weight_ih_l0, bias_hh_l2_reverse, weight_hr_l1 (LSTM projection)
_PARAM_RE = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_MAX_NESTING = 4  # how deep nested dicts of tensors ({"model": {...}}) are searched


@dataclass(frozen=True)
class RecurrentSpec:
    """Hyper-parameters of a `torch.nn.LSTM`/`GRU`/`RNN`, as read off its weights."""

    kind: str  # "lstm", "gru" or "rnn"
    input_size: int  # features per time step (width of weight_ih_l0)
    hidden_size: int  # units per gate, H
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    proj_size: int = 0  # LSTM only: h_t has proj_size units when > 0
    # RNN only; weights cannot tell tanh from relu, so "tanh" (torch's default) until the user says otherwise
    nonlinearity: str = "tanh"

    @property
    def gate_count(self) -> int:
        return GATE_COUNT[self.kind]

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Units of h_t per direction."""
        return self.proj_size or self.hidden_size

    def describe(self) -> str:
        parts = [f"{self.kind.upper()}(input_size={self.input_size}, hidden_size={self.hidden_size}",
                 f"num_layers={self.num_layers}"]
        if self.bidirectional:
            parts.append("bidirectional=True")
        if not self.bias:
            parts.append("bias=False")
        if self.proj_size:
            parts.append(f"proj_size={self.proj_size}")
        if self.kind == "rnn":
            parts.append(f"nonlinearity={self.nonlinearity!r}")
        return ", ".join(parts) + ")"


# ---------------------------------------------------------------------------------- finding the weights


def is_lstm_viz_checkpoint(obj: object) -> bool:
    """This project's own checkpoints: a dict with "state_dict" and "model_config" (see checkpoint.py)."""
    return isinstance(obj, Mapping) and "state_dict" in obj and "model_config" in obj


def as_state_dict(obj: object) -> dict[str, torch.Tensor]:
    """A flat `{name: tensor}` view of what `safe_load` returned.

    A plain state_dict comes back as it is; an lstm-viz checkpoint gives its "state_dict"; other nested
    dicts (e.g. `{"model": state_dict, "optimizer": ...}`) are flattened with dotted names, so the
    recurrent prefix then reads e.g. "model.encoder.lstm.". Non-tensor values are left out.
    """
    if isinstance(obj, nn.Module):
        return dict(obj.state_dict())
    if is_lstm_viz_checkpoint(obj):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ModelFileError(
            f"Expected a state_dict (a dict of parameter names to tensors), got {type(obj).__name__}. "
            "Save it with torch.save(model.state_dict(), path).")
    flat: dict[str, torch.Tensor] = {}

    def walk(mapping: Mapping, prefix: str, depth: int) -> None:
        for key, value in mapping.items():
            name = f"{prefix}{key}"
            if isinstance(value, torch.Tensor):
                flat[name] = value
            elif isinstance(value, Mapping) and depth < _MAX_NESTING:
                walk(value, name + ".", depth + 1)

    walk(obj, "", 0)
    if not flat:
        keys = ", ".join(repr(k) for k in list(obj)[:8])
        raise ModelFileError(f"The file holds no tensors (top-level keys: {keys or 'none'}); "
                             "expected a state_dict saved with torch.save(model.state_dict(), path).")
    return flat


def find_recurrent_prefixes(state_dict: object) -> list[str]:
    """Prefixes under which `weight_ih_l0` and `weight_hh_l0` both live, in the file's order.

    e.g. [""] for `torch.save(lstm.state_dict())`, ["encoder.lstm."] for a larger model's state_dict,
    ["rnn."] for an lstm-viz checkpoint. Accepts anything `as_state_dict` accepts.
    """
    sd = as_state_dict(state_dict)
    found = []
    for key in sd:
        if key.endswith("weight_ih_l0"):
            prefix = key[: -len("weight_ih_l0")]
            if prefix + "weight_hh_l0" in sd and prefix not in found:
                found.append(prefix)
    return found


def _no_recurrent_error(sd: Mapping[str, torch.Tensor]) -> ModelFileError:
    keys = list(sd)
    shown = ", ".join(f"{k} {tuple(sd[k].shape)}" for k in keys[:8])
    more = f" ... and {len(keys) - 8} more" if len(keys) > 8 else ""
    hint = ""
    if any(k.endswith("weight_ih") for k in keys):
        hint = (" Keys ending in 'weight_ih' without '_l0' come from nn.LSTMCell/GRUCell/RNNCell, which have "
                "no layers; this page reads nn.LSTM/GRU/RNN weights.")
    return ModelFileError(
        "No recurrent weights found: expected keys ending in 'weight_ih_l0' and 'weight_hh_l0' "
        f"(from nn.LSTM, nn.GRU or nn.RNN). Found {len(keys)} keys: {shown}{more}.{hint}")


def _recurrent_params(sd: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The keys under `prefix` that are torch.nn recurrent parameters, with the prefix stripped."""
    out = {}
    for key, value in sd.items():
        if key.startswith(prefix) and _PARAM_RE.match(key[len(prefix):]):
            out[key[len(prefix):]] = value
    return out


def _resolve_prefix(sd: Mapping[str, torch.Tensor], prefix: Optional[str]) -> str:
    prefixes = find_recurrent_prefixes(sd)
    if not prefixes:
        raise _no_recurrent_error(sd)
    if prefix is None:
        if len(prefixes) > 1:
            raise ModelFileError(f"The file holds {len(prefixes)} recurrent layers; choose one prefix of "
                                 f"{', '.join(repr(p) for p in prefixes)}.")
        return prefixes[0]
    if prefix not in prefixes:
        raise ModelFileError(f"No recurrent weights under prefix {prefix!r} (no key {prefix + 'weight_ih_l0'!r}). "
                             f"Prefixes that exist: {', '.join(repr(p) for p in prefixes)}.")
    return prefix


def _shape_error(prefix: str, name: str, expected: tuple, found: tuple, why: str) -> ModelFileError:
    return ModelFileError(f"{prefix}{name} has shape {found}, expected {expected} ({why}).")


def infer_architecture(state_dict: object, prefix: Optional[str] = None,
                       budget: Optional[Budget] = None) -> RecurrentSpec:
    """Read kind and sizes off the weights under `prefix` and check every layer and direction.

    Kind comes from rows of weight_hh_l0 / its width (4 blocks LSTM, 3 GRU, 1 RNN); a weight_hr key means an
    LSTM with projection. `prefix=None` picks the only recurrent layer (error if there are several).
    Raises `ModelFileError` naming the offending key and the shape expected vs found, and `FileBudgetError`
    when the layers or hidden size are over the budget (checked before the layers are walked).
    """
    sd = as_state_dict(state_dict)
    prefix = _resolve_prefix(sd, prefix)
    params = _recurrent_params(sd, prefix)
    for name, value in params.items():
        if not value.is_floating_point():
            raise ModelFileError(f"{prefix}{name} has dtype {value.dtype}; recurrent weights must be floating point.")
        if value.dim() != (1 if name.startswith("bias") else 2):
            raise ModelFileError(f"{prefix}{name} has {value.dim()} dimensions {tuple(value.shape)}; expected "
                                 f"{'1 (a bias vector)' if name.startswith('bias') else '2 (a weight matrix)'}.")

    w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    rows, input_size = w_ih.shape
    w_hr = params.get("weight_hr_l0")
    if w_hr is not None:
        proj_size, hidden_size = w_hr.shape
        gates = rows // hidden_size if hidden_size and rows % hidden_size == 0 else 0
        if gates != 4:
            raise ModelFileError(f"{prefix}weight_hr_l0 {tuple(w_hr.shape)} means an LSTM with projection "
                                 f"(hidden_size {hidden_size}), so {prefix}weight_ih_l0 should have "
                                 f"{4 * hidden_size} rows, found {rows}.")
        if proj_size >= hidden_size:
            raise ModelFileError(f"{prefix}weight_hr_l0 has shape {tuple(w_hr.shape)}: proj_size {proj_size} "
                                 f"must be smaller than hidden_size {hidden_size}.")
    else:
        proj_size, hidden_size = 0, w_hh.shape[1]
        gates = rows // hidden_size if hidden_size and rows % hidden_size == 0 else 0
        if gates not in KIND_BY_GATE_COUNT:
            raise ModelFileError(
                f"{prefix}weight_hh_l0 has shape {tuple(w_hh.shape)}: rows must be 4x (LSTM), 3x (GRU) or 1x (RNN) "
                f"its width {hidden_size}, found {rows} rows.")
    kind = "lstm" if w_hr is not None else KIND_BY_GATE_COUNT[gates]
    out_size = proj_size or hidden_size

    layer_ids = sorted({int(m.group(2)) for m in map(_PARAM_RE.match, params)})
    num_layers = max(layer_ids) + 1
    _check_sizes(resolve(budget), prefix, num_layers, hidden_size)
    bidirectional = any(name.endswith("_reverse") for name in params)
    bias = "bias_ih_l0" in params or "bias_hh_l0" in params
    directions = ("", "_reverse") if bidirectional else ("",)

    expected: dict[str, tuple[tuple, str]] = {}
    for layer in range(num_layers):
        width = input_size if layer == 0 else out_size * len(directions)
        for sfx in directions:
            tag = f"_l{layer}{sfx}"
            expected["weight_ih" + tag] = ((gates * hidden_size, width), "input weights: [gates*hidden, "
                                           + ("input_size]" if layer == 0 else "previous layer's output width]"))
            expected["weight_hh" + tag] = ((gates * hidden_size, out_size), "recurrent weights: [gates*hidden, "
                                           + ("proj_size]" if proj_size else "hidden]"))
            if bias:
                expected["bias_ih" + tag] = ((gates * hidden_size,), "bias: [gates*hidden]")
                expected["bias_hh" + tag] = ((gates * hidden_size,), "bias: [gates*hidden]")
            if proj_size:
                expected["weight_hr" + tag] = ((proj_size, hidden_size), "projection: [proj_size, hidden]")
    for name, (shape, why) in expected.items():
        if name not in params:
            reason = ("the reverse direction of a bidirectional layer" if name.endswith("_reverse") else
                      "biases are present in layer 0" if name.startswith("bias") else
                      f"the layers run from 0 to {num_layers - 1}")
            raise ModelFileError(f"{prefix}{name} is missing: expected shape {shape} ({reason}).")
        found = tuple(params[name].shape)
        if found != shape:
            raise _shape_error(prefix, name, shape, found, why)
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ModelFileError(f"{prefix}{extra[0]} does not fit a {kind.upper()} with {num_layers} layer(s)"
                             f"{', bidirectional' if bidirectional else ''}"
                             f"{'' if bias else ', without bias'}{', with projection' if proj_size else ''}: "
                             f"unexpected key (shape {tuple(params[extra[0]].shape)}).")
    return RecurrentSpec(kind=kind, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                         bidirectional=bidirectional, bias=bias, proj_size=proj_size)


def _check_sizes(budget: Budget, prefix: str, num_layers: int, hidden_size: int) -> None:
    try:
        budget.check("layers", num_layers, f"The recurrent layer under {prefix!r}: its number of layers")
        budget.check("hidden", hidden_size, f"The recurrent layer under {prefix!r}: its hidden size")
    except BudgetError as err:
        raise FileBudgetError(str(err)) from None


def build_module(spec: RecurrentSpec, state_dict: object, prefix: str, nonlinearity: Optional[str] = None,
                 batch_first: bool = False) -> nn.Module:
    """A fresh `nn.LSTM`/`GRU`/`RNN` in eval mode holding exactly the weights under `prefix` (as float32).

    `nonlinearity` ("tanh" or "relu") overrides `spec.nonlinearity` for an RNN; the weights cannot tell.
    Loaded with `load_state_dict(strict=True)`, so a key that does not fit is an error, never ignored.
    """
    sd = as_state_dict(state_dict)
    act = nonlinearity or spec.nonlinearity
    if act not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {act!r}.")
    if spec.kind not in SEQUENCE_CLASS:
        raise ValueError(f"spec.kind must be 'lstm', 'gru' or 'rnn', got {spec.kind!r}.")
    kwargs = dict(input_size=spec.input_size, hidden_size=spec.hidden_size, num_layers=spec.num_layers,
                  bias=spec.bias, batch_first=batch_first, bidirectional=spec.bidirectional)
    if spec.kind == "lstm":
        kwargs["proj_size"] = spec.proj_size
    elif spec.kind == "rnn":
        kwargs["nonlinearity"] = act
    module: nn.Module = SEQUENCE_CLASS[spec.kind](**kwargs)
    # float32: the dtype torch.nn's CPU kernels and the recorder support everywhere (half/double files are cast)
    weights = {k: v.detach().to(torch.float32) for k, v in _recurrent_params(sd, prefix).items()}
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"The weights under {prefix!r} do not fit {spec.describe()}: {err}") from None
    return module.eval()



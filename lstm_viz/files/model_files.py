"""Open a user's own saved model safely and rebuild its recurrent layer from the weights alone.

A practitioner has `torch.save(model.state_dict(), path)` of some model that holds an `nn.LSTM`, `nn.GRU`
or `nn.RNN` somewhere inside. We never import their code: `safe_load` reads plain data only (sizes checked
first, see safe_load.py), `recurrent_weights` reads the architecture off the weight shapes and builds a fresh
module, and this module adds what a page needs next: embedding candidates, a stored vocabulary, and warnings
(NaN/Inf weights), all in one `InspectedModel`.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .budgets import Budget
from .heads import HeadGuess, find_heads
from .recurrent_weights import (
    RecurrentSpec, _no_recurrent_error, _recurrent_params, _resolve_prefix, as_state_dict, build_module,
    find_recurrent_prefixes, infer_architecture, is_lstm_viz_checkpoint,
)
from .safe_load import ModelFileError, PathOrBytes, nonfinite_tensors, read_bytes_limited, safe_load

MAX_MODEL_BYTES = 200 * 2**20  # default upload limit: a few hundred MB is far beyond any model a page can trace

__all__ = [
    "MAX_MODEL_BYTES", "InspectedModel", "ModelFileError", "PathOrBytes", "RecurrentSpec", "as_state_dict",
    "build_module", "find_embeddings", "find_recurrent_prefixes", "find_vocab", "infer_architecture",
    "inspect_model", "is_lstm_viz_checkpoint", "read_bytes_limited", "safe_load",
]


def find_embeddings(state_dict: object, input_size: int, prefix: str = "") -> list[str]:
    """Keys of matrices that could embed token ids into the recurrent layer's `input_size` features.

    A candidate is a 2-D floating tensor named "...weight" of width `input_size` with no sibling "...bias"
    (nn.Embedding has none; nn.Linear usually has one) outside any recurrent layer. Best first: names that
    mention "emb", then those sharing the most of `prefix` (e.g. "encoder.embedding.weight" for
    "encoder.lstm."), then file order.
    """
    sd = as_state_dict(state_dict)
    recurrent = {p + name for p in find_recurrent_prefixes(sd) for name in _recurrent_params(sd, p)}
    candidates = []
    for order, (key, value) in enumerate(sd.items()):
        if key in recurrent or not key.endswith("weight") or value.dim() != 2 or not value.is_floating_point():
            continue
        if value.shape[1] != input_size or value.shape[0] < 2 or key[: -len("weight")] + "bias" in sd:
            continue
        shared = len(os.path.commonprefix([key, prefix]))
        candidates.append((("emb" not in key.lower()), -shared, order, key))
    return [key for *_, key in sorted(candidates)]


def find_vocab(obj: object) -> Optional[list[str]]:
    """The token list stored next to the weights, when there is one (e.g. an lstm-viz checkpoint's "vocab").

    Accepts a list of strings, a `{token: id}` dict with ids 0..N-1, or a dict holding "tokens"/"itos".
    """
    if not isinstance(obj, Mapping):
        return None
    for key in ("vocab", "tokens", "itos", "vocabulary"):
        value = obj.get(key)
        if isinstance(value, Mapping):
            inner = value.get("tokens", value.get("itos"))
            if isinstance(inner, (list, tuple)) and all(isinstance(t, str) for t in inner):
                return list(inner)
            if value and all(isinstance(k, str) and isinstance(v, int) for k, v in value.items()):
                ids = sorted(value.values())
                if ids == list(range(len(ids))):
                    return sorted(value, key=value.__getitem__)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(t, str) for t in value):
            return list(value)
    return None


def _checkpoint_value(obj: object, section: str, key: str) -> object:
    """e.g. an lstm-viz checkpoint's model_config["nonlinearity"] or vocab["lowercase"]; None if absent."""
    if isinstance(obj, Mapping) and isinstance(obj.get(section), Mapping):
        return obj[section].get(key)
    return None


@dataclass(frozen=True)
class InspectedModel:
    """Everything `inspect_model` learned from one file."""

    spec: RecurrentSpec
    module: nn.Module  # fresh torch.nn module in eval mode, batch_first=False
    prefix: str  # where the weights were found
    prefixes: tuple[str, ...]  # every recurrent prefix in the file
    embedding_keys: tuple[str, ...]  # candidate embedding matrices, best first
    vocab: Optional[list[str]]  # tokens stored in the file, if any
    lowercase: Optional[bool]  # whether that vocabulary folds case (None: not stated)
    is_checkpoint: bool  # an lstm-viz checkpoint
    state_dict: dict[str, torch.Tensor]
    warnings: tuple[str, ...] = ()  # things a page should show, e.g. NaN/Inf in the weights
    heads: tuple[HeadGuess, ...] = ()  # the model's own head(s) after the recurrent layer, best guess first


def inspect_model(path_or_bytes: PathOrBytes, prefix: Optional[str] = None, nonlinearity: Optional[str] = None,
                  max_bytes: Optional[int] = None, budget: Optional[Budget] = None) -> InspectedModel:
    """`safe_load` -> `infer_architecture` -> `build_module` in one call.

    prefix None picks the least nested recurrent layer (e.g. "rnn." before a character encoder's
    "char_encoder.rnn."). An RNN's nonlinearity comes from `nonlinearity`, else from an lstm-viz
    checkpoint's model_config, else torch's default "tanh". max_bytes (default: the budget's file_bytes)
    and `budget` (default: `budgets.current()`) bound what the file may cost; see safe_load.py.
    """
    obj = safe_load(path_or_bytes, max_bytes=max_bytes, budget=budget)
    sd = as_state_dict(obj)
    prefixes = find_recurrent_prefixes(sd)
    if not prefixes:
        raise _no_recurrent_error(sd)
    chosen = min(prefixes, key=lambda p: p.count(".")) if prefix is None else _resolve_prefix(sd, prefix)
    spec = infer_architecture(sd, chosen, budget=budget)
    stored = _checkpoint_value(obj, "model_config", "nonlinearity") if is_lstm_viz_checkpoint(obj) else None
    act = nonlinearity or (stored if stored in ("tanh", "relu") else None)
    if act is not None and spec.kind == "rnn":
        spec = dataclasses.replace(spec, nonlinearity=act)
    module = build_module(spec, sd, chosen)
    lowercase = _checkpoint_value(obj, "vocab", "lowercase")
    return InspectedModel(spec=spec, module=module, prefix=chosen, prefixes=tuple(prefixes),
                          embedding_keys=tuple(find_embeddings(sd, spec.input_size, chosen)),
                          vocab=find_vocab(obj), lowercase=lowercase if isinstance(lowercase, bool) else None,
                          is_checkpoint=is_lstm_viz_checkpoint(obj), state_dict=sd,
                          warnings=weight_warnings(sd), heads=guess_heads(sd, spec, chosen, find_vocab(obj)))


def guess_heads(state_dict: Mapping[str, torch.Tensor], spec: RecurrentSpec, prefix: str,
                vocab: Optional[list[str]]) -> tuple[HeadGuess, ...]:
    """`heads.find_heads` for the chosen layer (the vocabulary size helps recognise a language model's head)."""
    return tuple(find_heads(state_dict, spec, prefix, vocab_size=len(vocab) if vocab else None))


def weight_warnings(state_dict: Mapping[str, torch.Tensor]) -> tuple[str, ...]:
    """One message per problem worth showing next to the model: tensors holding NaN or +-Inf."""
    bad = nonfinite_tensors(state_dict)
    if not bad:
        return ()
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return (f"{len(bad)} tensor(s) hold NaN or infinite values ({shown}): recordings through them are NaN and "
            "their heatmaps stay blank. The model was probably saved after training diverged.",)

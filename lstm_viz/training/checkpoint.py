"""Checkpoints of plain data only: state_dict, config dicts, vocabulary lists, metrics.

Loading goes through the library's one guarded `torch.load` (files/safe_load.py: weights_only=True, sizes
checked first), so a file that would run code when unpickled is refused instead of executed, and the stored
model_config is checked against the weights before a model is built. Saving is atomic.
"""
from __future__ import annotations

import io
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping, Optional, Union

import torch

from ..data.batching import BatchEncoder
from ..files.budgets import Budget
from ..files.out_paths import write_atomic
from ..files.recurrent_weights import infer_architecture
from ..files.safe_load import CodeInFileError, FileBudgetError, ModelFileError, safe_load
from ..data.vocab import Vocab
from .models import Model, ModelConfig, build_model

FORMAT = "lstm-viz-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """The file is not a readable lstm-viz checkpoint; the message says why and what to do."""


@dataclass(frozen=True)
class Bundle:
    """Everything in a checkpoint besides the weights."""

    model_config: ModelConfig
    encoder: BatchEncoder  # vocabularies: words, labels, optional chars
    metrics: Mapping[str, Any] = field(default_factory=dict)  # e.g. dev_accuracy, test_accuracy, steps
    train_config: Optional[dict] = None  # asdict(TrainConfig) of the run that produced it
    format_version: int = FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)  # free-form plain data (dataset name, notes)


def _plain(value: Any, where: str) -> Any:
    """Check that metrics/extra hold only plain values (what weights_only loading accepts)."""
    # exact builtin types: a subclass (numpy scalar, torch's TorchVersion str) would not unpickle safely
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, where) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    raise TypeError(f"{where} must hold plain data (numbers, strings, lists, dicts); got {type(value).__name__}")


def checkpoint_dict(model: Model, model_config: ModelConfig, encoder: BatchEncoder,
                    metrics: Optional[Mapping[str, Any]] = None, train_config: Any = None,
                    extra: Optional[Mapping[str, Any]] = None) -> dict:
    """The plain-data dict that `save_checkpoint` writes."""
    if train_config is not None and not isinstance(train_config, dict):
        train_config = asdict(train_config)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": asdict(model_config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "vocab": encoder.vocab.to_dict(),
        "labels": encoder.labels.to_dict(),
        "char_vocab": encoder.char_vocab.to_dict() if encoder.char_vocab is not None else None,
        "max_word_len": encoder.max_word_len,
        "metrics": _plain(dict(metrics or {}), "metrics"),
        "train_config": _plain(train_config, "train_config"),
        "extra": _plain(dict(extra or {}), "extra"),
        "torch_version": str(torch.__version__),
    }


def checkpoint_bytes(model: Model, model_config: ModelConfig, encoder: BatchEncoder,
                     metrics: Optional[Mapping[str, Any]] = None, train_config: Any = None,
                     extra: Optional[Mapping[str, Any]] = None) -> bytes:
    """A checkpoint as bytes (e.g. for a download button)."""
    buf = io.BytesIO()
    torch.save(checkpoint_dict(model, model_config, encoder, metrics, train_config, extra), buf)
    return buf.getvalue()


def save_checkpoint(path: Union[str, Path], model: Model, model_config: ModelConfig, encoder: BatchEncoder,
                    metrics: Optional[Mapping[str, Any]] = None, train_config: Any = None,
                    extra: Optional[Mapping[str, Any]] = None) -> Path:
    """Write one checkpoint file atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path is a folder: {path}; give a file name such as model.pt")
    if not path.parent.exists():
        raise FileNotFoundError(f"folder for the checkpoint does not exist: {path.parent}")
    return write_atomic(path, checkpoint_bytes(model, model_config, encoder, metrics, train_config, extra))


def _require(data: dict, key: str, kind: type, name: str):
    value = data.get(key)
    if not isinstance(value, kind):
        raise CheckpointError(f"{name}: field {key!r} is missing or not a {kind.__name__}; "
                              f"the file is damaged or was not written by lstm-viz")
    return value


def _load_plain(source: Union[str, Path, bytes, bytearray, IO[bytes]], budget: Optional[Budget]) -> tuple[Any, str]:
    """The checkpoint's plain data through the one guarded torch.load (files/safe_load.py), and its name."""
    if isinstance(source, (str, Path)):
        if not Path(source).is_file():
            raise FileNotFoundError(f"checkpoint file not found: {source}")
        name = str(source)
    elif isinstance(source, (bytes, bytearray)):
        name = "the given bytes"
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else "the given file object"
    else:
        raise TypeError(f"load_checkpoint takes a path, bytes or a binary file object, not {type(source).__name__}")
    try:
        return safe_load(source, budget=budget, what="The checkpoint"), name
    except CodeInFileError:
        raise CheckpointError(
            f"{name} is not a plain-data checkpoint: it names Python objects to build when loaded, which "
            "can run arbitrary code, so the safe loader (weights_only) refused it. Only load files from people "
            "you trust, and re-save them with lstm_viz.training.checkpoint.save_checkpoint") from None
    except FileBudgetError as err:
        raise CheckpointError(f"{name}: {err}") from None
    except ModelFileError as err:
        raise CheckpointError(f"{name} is not a torch checkpoint file (or it is truncated/damaged): {err}") from None


def check_config_fits_weights(config: ModelConfig, state: Mapping[str, torch.Tensor], vocab_size: int,
                              num_labels: int, char_vocab_size: int, name: str,
                              budget: Optional[Budget] = None) -> None:
    """Refuse a model_config that the stored weights do not back, BEFORE any module is built.

    A tampered config (num_layers = 10**6, hidden_size = 100,000) would otherwise make `build_model` allocate
    or loop for minutes. Each size in the config is compared with the shape of the weight that holds it.
    """
    try:
        spec = infer_architecture(state, "rnn.", budget=budget)
    except ModelFileError as err:
        raise CheckpointError(f"{name}: the recurrent weights under 'rnn.' are unusable: {err}") from None
    input_size = config.embed_dim + (2 * config.char_hidden if config.char_features else 0)
    claims = {"arch": (config.arch, spec.kind), "hidden_size": (config.hidden_size, spec.hidden_size),
              "num_layers": (config.num_layers, spec.num_layers),
              "bidirectional": (config.bidirectional, spec.bidirectional),
              "embed_dim (+ 2 * char_hidden)": (input_size, spec.input_size)}
    expected = {"embedding.weight": (vocab_size, config.embed_dim),
                "output.weight": (num_labels, config.output_features)}
    if config.char_features:
        expected["char_encoder.embedding.weight"] = (char_vocab_size, config.char_embed_dim)
        expected["char_encoder.rnn.weight_hh_l0"] = (4 * config.char_hidden, config.char_hidden)
    for field_name, (claimed, found) in claims.items():
        if claimed != found:
            raise CheckpointError(f"{name}: model_config says {field_name} = {claimed!r} but the weights under "
                                  f"'rnn.' say {found!r} (tampered or mismatched file); the weights do not fit")
    for key, shape in expected.items():
        tensor = state.get(key)
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
            found = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else "missing"
            raise CheckpointError(f"{name}: {key} is {found}, but model_config and the vocabularies need {shape} "
                                  "(tampered or mismatched file); the weights do not fit")


def load_checkpoint(source: Union[str, Path, bytes, bytearray, IO[bytes]],
                    budget: Optional[Budget] = None) -> tuple[Model, Bundle]:
    """Rebuild the model (on the CPU, in eval mode) and its bundle from a checkpoint path, bytes or file.

    The file goes through `files.safe_load` (plain data, sizes within `budget`, default `budgets.current()`),
    and the stored model_config is checked against the weights' shapes before the model is built.
    """
    data, name = _load_plain(source, budget)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{name} is a torch file but not an lstm-viz checkpoint (no format={FORMAT!r} "
                              f"field); save one with lstm_viz.training.checkpoint.save_checkpoint")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise CheckpointError(f"{name} has checkpoint format version {version!r}; this lstm-viz reads "
                              f"versions 1..{FORMAT_VERSION}. Update lstm-viz or re-save the checkpoint")
    try:
        config = ModelConfig.from_dict(_require(data, "model_config", dict, name))
        vocab = Vocab.from_dict(_require(data, "vocab", dict, name))
        labels = Vocab.from_dict(_require(data, "labels", dict, name))
        chars = Vocab.from_dict(data["char_vocab"]) if data.get("char_vocab") is not None else None
        encoder = BatchEncoder(config.task, vocab, labels, chars, max_word_len=int(data.get("max_word_len", 20)))
    except (TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{name}: invalid configuration or vocabulary: {err}") from None
    state = _require(data, "state_dict", dict, name)
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{name}: state_dict must map parameter names to tensors")
    n_chars = len(chars) if chars is not None else 0
    check_config_fits_weights(config, state, len(vocab), len(labels), n_chars, name, budget)
    model = build_model(config, len(vocab), len(labels), n_chars)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{name}: the weights do not fit the stored configuration and vocabularies "
                              f"(tampered or mismatched file): {' '.join(str(err).split())[:400]}") from None
    if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
        raise CheckpointError(f"{name}: the weights contain NaN or infinite values")
    model.eval()
    bundle = Bundle(model_config=config, encoder=encoder, metrics=dict(data.get("metrics") or {}),
                    train_config=data.get("train_config"), format_version=version,
                    extra=dict(data.get("extra") or {}))
    return model, bundle

"""Checkpoints of plain data only: state_dict, config dicts, vocabulary lists, metrics.

Loading uses `torch.load(..., map_location="cpu", weights_only=True)`, so a file that would run code when
unpickled is refused instead of executed.
"""
from __future__ import annotations

import io
import numbers
import os
import pickle
import pickletools
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping, Optional, Union

import torch

from ..data.batching import BatchEncoder
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
    data = checkpoint_bytes(model, model_config, encoder, metrics, train_config, extra)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(source: Union[str, Path, bytes, bytearray, IO[bytes]]) -> tuple[Any, str]:
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(bytes(source)), "the given bytes"
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise FileNotFoundError(f"checkpoint file not found: {p}")
        return p, str(p)
    if hasattr(source, "read"):
        return source, getattr(source, "name", "the given file object")
    raise TypeError(f"load_checkpoint takes a path, bytes or a binary file object, not {type(source).__name__}")


def _require(data: dict, key: str, kind: type, name: str):
    value = data.get(key)
    if not isinstance(value, kind):
        raise CheckpointError(f"{name}: field {key!r} is missing or not a {kind.__name__}; "
                              f"the file is damaged or was not written by lstm-viz")
    return value


_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}


def _imports_code(src) -> bool:
    """Whether a raw (non-zip) pickle names globals or calls them. pickletools only parses, never executes."""
    try:
        if isinstance(src, Path):
            raw = src.read_bytes()
        else:
            src.seek(0)
            raw = src.read()
        if raw[:2] == b"PK":  # a torch zip file: torch's own message names any global
            return False
        return any(op.name in _CODE_OPCODES for op, _, _ in pickletools.genops(raw))
    except Exception:  # noqa: BLE001 - unparsable bytes simply are not such a pickle
        return False


def load_checkpoint(source: Union[str, Path, bytes, bytearray, IO[bytes]]) -> tuple[Model, Bundle]:
    """Rebuild the model (on the CPU, in eval mode) and its bundle from a checkpoint path, bytes or file."""
    src, name = _read(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the refusal below says enough
            data = torch.load(src, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message suggests weights_only=False, which is exactly what must not be done here
        detail = next((ln.strip() for ln in str(err).splitlines() if "nsupported" in ln), "")
        if "GLOBAL" in str(err) or _imports_code(src):
            raise CheckpointError(
                f"{name} is not a plain-data checkpoint: it names Python objects to build when loaded, which "
                f"can run arbitrary code, so the safe loader (weights_only) refused it"
                + (f" ({detail[:160]})" if detail else "") + ". Only load files from people you trust, and "
                "re-save them with lstm_viz.training.checkpoint.save_checkpoint") from None
        raise CheckpointError(f"{name} is not a torch checkpoint file (or it is damaged): "
                              f"{detail[:200] or type(err).__name__}") from None
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a foreign or damaged file
        text = str(err).splitlines()[0][:200] if str(err) else ""
        raise CheckpointError(f"{name} is not a torch checkpoint file (or it is truncated/damaged): "
                              f"{type(err).__name__}{': ' + text if text else ''}") from None
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
    model = build_model(config, len(vocab), len(labels), len(chars) if chars is not None else 0)
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

"""The one guarded `torch.load` of lstm-viz: plain data only, and sizes checked before anything is expanded.

Order of checks (each refuses with a `ModelFileError` naming the file and what to do):
1. bytes on disk / uploaded <= budget.file_bytes (a path is stat-ed before it is read);
2. a torch zip file's entries, as their headers declare them, <= budget.expanded_bytes in total: a 1 MB
   file whose deflated entries hold 1 GiB is refused before torch inflates anything;
3. `torch.load(..., weights_only=True)`: a pickle naming Python objects (code) is refused, never run;
4. tensor elements counted from the shapes <= budget.elements: a 1.6 KB stride-0 view claiming [1, 50M, 4]
   is refused before anyone calls `.contiguous()` on it.
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
import stat
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Union

import torch

from .budgets import Budget, BudgetError, resolve

PathOrBytes = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

_CODE_MARKERS = ("unsupported global", "global ", "blocked", "not an allowed global", "add_safe_globals")
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}
_CRAFTED_RATIO = 20  # a torch zip expanding more than this many times its size was compressed by hand
_CRAFTED_MIN_BYTES = 64 * 2**20  # ... and only then when it expands to more than this
_MAX_NESTING = 6  # how deep nested containers are walked when counting tensor elements


class ModelFileError(ValueError):
    """The file or state_dict cannot be used; the message names the file and says what to do."""


class CodeInFileError(ModelFileError):
    """The pickle names Python objects that would run code when loaded; refused, never executed."""


class FileBudgetError(ModelFileError, BudgetError):
    """The file is (or expands to) more than the active budget allows."""


def describe_source(source: object, fallback: str = "the given bytes") -> str:
    """How a message names a source: the path for a path, the object's `name` for a file, else `fallback`."""
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    name = getattr(source, "name", None)
    return repr(name) if isinstance(name, str) else fallback


def read_bytes_limited(source: PathOrBytes, max_bytes: Optional[int] = None, what: str = "The file",
                       budget: Optional[Budget] = None) -> bytes:
    """All bytes of a path, bytes object or binary file object; refuses empty and oversized input.

    max_bytes: the byte limit (default: the budget's file_bytes). A path must be a regular file (not a
    folder, device or FIFO); it is stat-ed before it is read, so an oversized file is never read.
    """
    budget = resolve(budget)
    limit = budget.limit("file_bytes") if max_bytes is None else max_bytes
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if "\x00" in os.fspath(path):
            raise ModelFileError(f"{what}: the path contains a NUL byte; type the path again.")
        try:
            info = path.stat()
        except OSError:
            raise ModelFileError(f"{what} {str(path)!r} does not exist or is not a file.") from None
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{what} {str(path)!r} does not exist or is not a file (it is a folder, device "
                                 "or pipe).")
        if info.st_size > limit:
            raise _too_large(info.st_size, limit, what, budget, max_bytes is None)
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(limit + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise ModelFileError(f"{what} must be opened in binary mode ('rb'), got text.")
        data = bytes(data)
    else:
        raise TypeError(f"{what}: expected a path, bytes or a binary file object, got {type(source).__name__}.")
    if len(data) > limit:
        raise _too_large(len(data), limit, what, budget, max_bytes is None)
    if not data:
        raise ModelFileError(f"{what} is empty (0 bytes): was the upload or the save interrupted?")
    return data


def _too_large(size: int, limit: int, what: str, budget: Budget, from_budget: bool) -> ModelFileError:
    advice = budget.how_to_raise("file_bytes") if from_budget else "Pass a larger max_bytes to read it."
    return FileBudgetError(
        f"{what} is {size / 2**20:.1f} MiB, over the limit of {limit / 2**20:.1f} MiB. Save only the recurrent "
        f"layer's state_dict (e.g. torch.save(model.lstm.state_dict(), path)). {advice}")


def check_zip_expansion(data: bytes, what: str, budget: Budget) -> None:
    """Refuse a zip (torch's format, .npz) whose entries declare more bytes than budget.expanded_bytes, or a
    torch file whose entries are compressed (torch.save stores tensors uncompressed: that file was crafted)."""
    if data[:2] != b"PK":
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: the reader that follows says so
    expanded = sum(i.file_size for i in infos)
    budget.check("expanded_bytes", expanded, f"{what} once decompressed", "bytes")
    is_torch = any(i.filename.endswith("/data.pkl") for i in infos)
    if is_torch and expanded > _CRAFTED_RATIO * len(data) and expanded > _CRAFTED_MIN_BYTES:
        raise FileBudgetError(f"{what} is {len(data) / 2**20:.1f} MiB but its compressed entries expand to "
                              f"{expanded / 2**20:,.0f} MiB; torch.save never compresses tensors, so this file "
                              "was not written by torch.save. Save it again with torch.save.")


def iter_tensors(obj: object, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, torch.Tensor]]:
    """(dotted name, tensor) for every tensor in nested dicts/lists/tuples, up to a fixed depth."""
    if isinstance(obj, torch.Tensor):
        yield prefix or "(the tensor)", obj
    elif depth < _MAX_NESTING and isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from iter_tensors(value, f"{prefix}.{key}" if prefix else str(key), depth + 1)
    elif depth < _MAX_NESTING and isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from iter_tensors(value, f"{prefix}[{i}]", depth + 1)


def check_elements(obj: object, what: str, budget: Budget) -> None:
    """Refuse when the tensors' shapes claim more elements than budget.elements, or a tensor claims more
    values than the file stores (a stride-0 view: [1, 50M, 4] over one float). No data is touched."""
    total, biggest = 0, ("", 0)
    for name, tensor in iter_tensors(obj):
        if tensor.layout != torch.strided:
            raise ModelFileError(f"{what}: {name} is a {tensor.layout} tensor; save dense tensors "
                                 "(tensor.to_dense()).")
        n = tensor.numel()
        stored = tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)
        if n > max(stored, 1):
            raise FileBudgetError(
                f"{what}: {name} claims shape {tuple(tensor.shape)} ({n:,} values) but the file stores only "
                f"{stored:,}: a view that would expand when used. Save real tensors "
                "(tensor.contiguous().clone()).")
        total += n
        if n > biggest[1]:
            biggest = (f"{name} {tuple(tensor.shape)}", n)
    if total > budget.limit("elements"):
        try:
            budget.check("elements", total, f"{what} (largest tensor {biggest[0]}) in tensor elements")
        except BudgetError as err:
            raise FileBudgetError(str(err)) from None


def nonfinite_tensors(obj: object) -> list[str]:
    """Names of floating-point tensors that hold NaN or +-Inf (e.g. ['encoder.lstm.weight_hh_l0'])."""
    return [name for name, t in iter_tensors(obj)
            if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all())]


def safe_load(path_or_bytes: PathOrBytes, max_bytes: Optional[int] = None, budget: Optional[Budget] = None,
              what: str = "The model file") -> object:
    """`torch.load(..., map_location="cpu", weights_only=True)` with budgets first and errors a person can act on.

    Accepts a path, the file's bytes, or a binary file object (e.g. an upload). Raises `ModelFileError` (or
    its kinds `CodeInFileError`, `FileBudgetError`) for an empty, oversized or over-expanding file, a file
    that is not a `torch.save` file, and a pickle that names Python objects (refused, never executed).
    """
    budget = resolve(budget)
    label = f"{what} {describe_source(path_or_bytes, '')}".rstrip()
    data = read_bytes_limited(path_or_bytes, max_bytes, what, budget)
    try:
        check_zip_expansion(data, label, budget)
    except FileBudgetError:
        raise
    except BudgetError as err:
        raise FileBudgetError(str(err)) from None
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing; the error says it all
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err).lower()
        if any(marker in text for marker in _CODE_MARKERS) or _names_code(data):
            raise CodeInFileError(
                f"{label}: Not a plain-data file: it contains Python objects that would run code when loaded; "
                "save a state_dict instead (torch.save(model.state_dict(), path)). "
                f"Refused by torch.load(weights_only=True): {_last_line(err)}") from None
        raise ModelFileError(
            f"{label}: Not a PyTorch file written by torch.save (the pickle inside uses instructions torch.load "
            f"refuses with weights_only=True): {_last_line(err)}") from None
    except MemoryError:
        raise FileBudgetError(f"{label} needs more memory than this machine has free.") from None
    except (RuntimeError, KeyError, EOFError, ValueError, OSError, IndexError, AttributeError, TypeError) as err:
        raise ModelFileError(
            f"{label}: Not a PyTorch file written by torch.save, or the file is truncated "
            f"({type(err).__name__}: {_last_line(err)}). Expected a .pt/.pth state_dict.") from None
    check_elements(obj, label, budget)
    return obj


def _names_code(raw: bytes) -> bool:
    """Whether a raw (non-zip) pickle names globals or calls them. pickletools only parses, never executes."""
    if raw[:2] == b"PK":  # a torch zip file: torch's own message names any global
        return False
    try:  # parse to the end first: random bytes often hold a GLOBAL/REDUCE opcode before they stop parsing
        names = [op.name for op, _, _ in pickletools.genops(raw)]
    except Exception:  # noqa: BLE001 - unparsable bytes simply are not such a pickle
        return False
    return any(name in _CODE_OPCODES for name in names)


def _last_line(err: BaseException) -> str:
    """The informative line of torch's long multi-paragraph messages."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    for ln in lines:
        low = ln.lower()
        if "unsupported" in low or "global" in low or "magic" in low or "zip" in low:
            return _first_sentence(ln)
    return _first_sentence(lines[-1] if lines else repr(err))


def _first_sentence(text: str) -> str:
    """torch's messages go on to suggest allow-listing globals, which a user of this page must not do."""
    text = text.removeprefix("WeightsUnpickler error: ")
    return text.split(". ")[0].rstrip(".")[:200] + "."

"""Where written files go: one sanitised file name inside the folder the caller names, checked to be writable
BEFORE the work starts (training, exporting), and written atomically (a temporary file, then a rename), so an
interrupted write leaves the previous file intact."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Union


class ExportError(ValueError):
    """An export or import cannot be done with these arguments or this file; the message names both."""


class ExportUnavailable(RuntimeError):
    """A needed optional tool (kaleido, a Chromium) is not installed; the message says what to install."""


class OutputNotWritable(ExportError):
    """The output file or folder cannot be written; raised before any work is done."""


def safe_filename(name: str, default: str = "export") -> str:
    """A user-given name made safe as one file name: no folders, no '..', no leading dot, at most 100 chars."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" ")
    base = re.sub(r"\.{2,}", ".", base).lstrip(".-_ ")
    return base[:100].rstrip(" ") or default


def target_in(folder: Union[str, os.PathLike], name: str, suffixes: tuple[str, ...] = ()) -> Path:
    """`folder / safe_filename(name)` with a required suffix, checked to lie inside `folder`."""
    root = Path(folder).resolve()
    fname = safe_filename(name)
    if suffixes and not fname.lower().endswith(suffixes):
        fname += suffixes[0]
    path = root / fname
    if path.is_symlink():
        raise ExportError(f"{path} is a symbolic link; refusing to write through it.")
    if path.resolve().parent != root:
        raise ExportError(f"{name!r} does not name a file inside {root}.")
    return path


def _probe_write(folder: Path, what: str) -> None:
    """Create and remove a temporary file in `folder`: the only test that /proc, read-only mounts and
    permission bits all answer truthfully."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lstm-viz-write-check-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise OutputNotWritable(f"{what}: cannot write in {folder} ({err.strerror or type(err).__name__}). "
                                "Choose a folder you can write to.") from None


def check_writable_file(path: Union[str, os.PathLike], what: str = "The output file") -> Path:
    """Raise OutputNotWritable unless `path` names a file (new or existing, not a folder or device) in an
    existing folder where a file can be created. Nothing is left behind."""
    text = os.fspath(path)
    if "\x00" in text:
        raise OutputNotWritable(f"{what}: the path contains a NUL byte.")
    path = Path(text).expanduser()
    if path.is_dir():
        raise OutputNotWritable(f"{what} {text!r} is a folder; give a file name such as model.pt.")
    if path.exists() and not path.is_file():
        raise OutputNotWritable(f"{what} {text!r} exists and is not a regular file (a device or pipe).")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputNotWritable(f"{what} {text!r}: the folder {str(parent)!r} does not exist; create it first.")
    _probe_write(parent, f"{what} {text!r}")
    return path


def check_writable_folder(folder: Union[str, os.PathLike], what: str = "The export folder") -> Path:
    """Create `folder` if needed and raise OutputNotWritable unless a file can be written in it."""
    text = os.fspath(folder)
    if "\x00" in text:
        raise OutputNotWritable(f"{what}: the path contains a NUL byte.")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputNotWritable(f"{what} {text!r} exists and is not a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputNotWritable(f"{what} {text!r} cannot be created ({err.strerror or type(err).__name__}).") from None
    _probe_write(path, f"{what} {text!r}")
    return path


def write_atomic(path: Union[str, os.PathLike], data: Union[bytes, str]) -> Path:
    """Write `data` to `path` through a temporary file in the same folder, fsync it, then rename over `path`."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

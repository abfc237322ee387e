"""The one error type of the dataset layer, and the checked file reading that every reader shares."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A dataset cannot be found, read or parsed. The message names the file (and line) and what to do."""


def require_file(path: Path, what: str = "file") -> Path:
    """Return `path` if it is an existing regular file, else raise a DataError naming it."""
    if not path.exists():
        raise DataError(f"{what} not found: {path}. Check the path, or download the dataset first.")
    if not path.is_file():
        raise DataError(f"{what} is not a regular file: {path}")
    return path


def require_dir(path: Path, what: str = "folder") -> Path:
    """Return `path` if it is an existing folder, else raise a DataError naming it."""
    if not path.exists():
        raise DataError(f"{what} not found: {path}. Check the path, or download the dataset first.")
    if not path.is_dir():
        raise DataError(f"{what} is not a folder: {path}")
    return path


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file strictly; a decoding error becomes a DataError with line and byte offset.

    Reading the bytes first (not a text stream) lets the error name the exact line of the bad byte.
    Universal newlines are applied afterwards, so CRLF files read like LF files.
    """
    data = require_file(Path(path)).read_bytes()
    try:
        text = data.decode(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r} for {path}; use e.g. 'utf-8' or 'cp1252'") from None
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : min(err.end, err.start + 4)]
        hint = "cp1252" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else "utf-8"
        raise DataError(
            f"{path}:{line}: cannot decode byte(s) {bad!r} at byte offset {err.start} as {encoding}. "
            f"The file is in another encoding; pass encoding={hint!r} (or the file's real encoding)."
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")

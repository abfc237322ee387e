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


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _utf16_without_bom(sample: bytes) -> str:
    """"utf-16-le"/"utf-16-be" when most odd/even bytes of `sample` are NUL (UTF-16 text of ASCII letters)."""
    half = len(sample) // 2
    if half >= 4 and sample[1::2].count(0) > 0.9 * half and sample[0::2].count(0) < 0.1 * half:
        return "utf-16-le"
    if half >= 4 and sample[0::2].count(0) > 0.9 * half and sample[1::2].count(0) < 0.1 * half:
        return "utf-16-be"
    return ""


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file strictly; a decoding error becomes a DataError with line and byte offset.

    The file's size is checked against the budget (`corpus_bytes`, see lstm_viz/files/budgets.py) before it is
    read. With a UTF-8 encoding, a UTF-8 byte-order mark is dropped and a file that starts with a UTF-16
    byte-order mark is read as UTF-16 (what Windows' "Unicode" save writes). Reading the bytes first (not a
    text stream) lets an error name the exact line of the bad byte. Universal newlines are applied
    afterwards, so CRLF files read like LF files.
    """
    from ..files.budgets import BudgetError, current  # files/ imports data/ elsewhere: import when used

    path = require_file(Path(path))
    try:
        current().check("corpus_bytes", path.stat().st_size, f"{path}", "bytes")
    except BudgetError as err:
        raise DataError(str(err)) from None
    data = path.read_bytes()
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
    if utf8 and data.startswith(_UTF16_BOMS):
        encoding = "utf-16"  # the BOM says which byte order
    elif utf8 and (order := _utf16_without_bom(data[:4096])):
        encoding = order  # ASCII-range text saved as UTF-16 without a BOM: every other byte is 0
    elif utf8:
        encoding = "utf-8-sig"  # drops a BOM; without one it is plain UTF-8
    try:
        text = data.decode(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r} for {path}; use e.g. 'utf-8' or 'cp1252'") from None
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : min(err.end, err.start + 4)]
        if utf8 and data[:4096].count(b"\x00") > len(data[:4096]) // 4:
            guess = "it looks like UTF-16 without a byte-order mark"
        elif utf8:
            guess = "it looks like Latin-1 / Windows-1252"
        else:
            guess = "it is in another encoding"
        raise DataError(
            f"{path}:{line}: byte(s) {bad!r} at byte offset {err.start} are not valid {encoding.removesuffix('-sig')}; "
            f"{guess}. Save the file as UTF-8 (in Python you can also pass encoding='cp1252' or the file's real "
            "encoding)."
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")

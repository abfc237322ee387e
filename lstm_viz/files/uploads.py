"""Store a file that a user uploaded through the app, safely: bounded size, an allowed file type, and a
random name inside the app's own folder. The user's file name is never used as a path.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path, PurePath
from typing import Optional, Sequence

from ..data.errors import DataError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # dataset uploads larger than this are refused (read at call time)
DATASET_SUFFIXES = (".conllu", ".csv", ".tsv")  # what load_corpus reads from a single file


def upload_suffix(original_name: str, allowed: Sequence[str] = DATASET_SUFFIXES) -> str:
    """The lower-case suffix of the uploaded file's name if it is one of `allowed`; else a DataError."""
    suffix = PurePath(str(original_name)).suffix.lower()
    if suffix not in allowed:
        raise DataError(f"{original_name!r}: unsupported file type {suffix or '(none)'!r}; "
                        f"upload one of {', '.join(allowed)}")
    return suffix


def save_upload(data: bytes, original_name: str, folder: Path, allowed: Sequence[str] = DATASET_SUFFIXES,
                max_bytes: Optional[int] = None) -> Path:
    """Write `data` to `folder/<random hex><suffix>` (folder created if needed) and return that path.

    Refuses (DataError) an empty or too large upload and a file type not in `allowed`.
    """
    limit = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    suffix = upload_suffix(original_name, allowed)
    size = len(data)
    if size == 0:
        raise DataError(f"{original_name!r} is empty; upload a file with examples in it")
    if size > limit:
        raise DataError(f"{original_name!r} is {size / 2**20:.1f} MB; uploads are limited to "
                        f"{limit / 2**20:.0f} MB. Give a local path instead, or upload a smaller part of the file")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite, never follow a link
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path

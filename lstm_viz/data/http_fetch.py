"""One file over HTTP into a `.part` file: resumed with a Range request after an interruption, renamed to its
name only after its sha256 matched. Standard library only (urllib, hashlib)."""
from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .errors import DataError

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None when unknown)
_CHUNK = 1 << 20  # 1 MiB per read: progress updates often enough, few Python-level iterations


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_url(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Download `url` to `dest` through `dest.part`; rename only after the sha256 (if given) matched.

    An interrupted transfer keeps the `.part` file and resumes from it (HTTP Range) on the next try,
    up to `retries` times here and again on the next call. A checksum mismatch deletes the `.part`
    file and raises DataError. An existing `dest` with the right checksum is not downloaded again.
    """
    dest = Path(dest)
    if dest.exists():
        if sha256 is None or sha256_file(dest) == sha256:
            return dest
        dest.unlink()  # stale or corrupt: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, progress, timeout)
            break
        except _Interrupted as err:
            if attempt == retries:
                raise DataError(
                    f"download of {url} interrupted: {err}. The partial file {part} is kept; "
                    "run the download again to resume it."
                ) from None
            time.sleep(min(2.0**attempt, 10.0) * 0.1)
    actual = sha256_file(part)
    if sha256 is not None and actual != sha256:
        part.unlink()
        raise DataError(
            f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}. The file was deleted. "
            "Run the download again; if it keeps failing, the server's file has changed."
        )
    os.replace(part, dest)
    return dest


class _Interrupted(Exception):
    """A transfer stopped early but the .part file may be resumed."""


def _fetch_once(url: str, part: Path, progress: Progress | None, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "lstm-viz dataset download"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to send: the .part is complete (checked by the caller)
            return
        raise DataError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if have:
            raise _Interrupted(f"cannot reach the server ({reason})") from None
        raise DataError(
            f"cannot download {url} ({reason}). Check the network connection; downloads need internet access."
        ) from None
    with response:
        resumed = have and response.status == 206 and response.headers.get("Content-Range", "").startswith(
            f"bytes {have}-"
        )
        if not resumed:
            have = 0  # the server sent the whole file (it ignores Range): start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done = have
        if progress is not None:
            progress(done, total)
        with open(part, "ab" if resumed else "wb") as out:
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            except (OSError, http.client.HTTPException) as err:  # reset, timeout, IncompleteRead
                raise _Interrupted(f"{done} bytes received ({type(err).__name__}: {err})") from None
    if total is not None and done < total:  # http.client returns b"" when a connection closes early
        raise _Interrupted(f"{done} of {total} bytes received")

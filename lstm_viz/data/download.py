"""Explicit, user-started dataset downloads into a local cache, with checksums, resume and safe extraction.

Standard library only (urllib, hashlib, tarfile, zipfile): it resumes an interrupted download from its
`.part` file with an HTTP Range request, which pooch does not do, reports progress through a plain
`(done_bytes, total_bytes | None)` callback, and checks the extracted files of an archive whose own
checksum is not published.

Cache layout (root = `cache_dir`, else $LSTM_VIZ_CACHE, else ~/.cache/lstm-viz):
    root/<name>/downloads/<file>(.part)   what was fetched; an archive is deleted after extraction
    root/<name>/data/...                  the dataset, as the readers expect it
    root/<name>/complete.json             written last: the data folder and the checksums checked
A download counts as present only when complete.json exists, so an interrupted or failed download never
looks complete. A file is renamed from `.part` to its name only after its checksum matched.
Two processes downloading the same dataset at once are not coordinated: run one download at a time.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from .archives import safe_extract
from .download_catalogue import DOWNLOADS, DownloadSpec, RemoteFile
from .errors import DataError
from .http_fetch import Progress, fetch_url, sha256_file

__all__ = ["CACHE_ENV", "DOWNLOADS", "DownloadSpec", "RemoteFile", "cached_path", "default_cache_dir",
           "download_dataset", "fetch_url", "safe_extract", "sha256_file"]

CACHE_ENV = "LSTM_VIZ_CACHE"
_MARKER = "complete.json"


def default_cache_dir() -> Path:
    """$LSTM_VIZ_CACHE if set, else ~/.cache/lstm-viz (read at call time, so tests can change it)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lstm-viz"


def _spec(name: str) -> DownloadSpec:
    if name not in DOWNLOADS:
        raise DataError(f"unknown download {name!r}; known downloads: {', '.join(DOWNLOADS)}")
    return DOWNLOADS[name]


def cached_path(name: str, cache_dir: str | Path | None = None) -> Path | None:
    """The data folder of a completed download of `name`, or None if it was not (fully) downloaded."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    marker = root / _spec(name).name / _MARKER
    try:
        data_dir = root / name / json.loads(marker.read_text(encoding="utf-8"))["data_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data_dir if data_dir.is_dir() else None


def _find_data_dir(root: Path, marker: str) -> Path:
    """The shallowest folder under `root` (root included) that contains `marker`."""
    candidates = [root] + sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: (len(p.parts), p))
    for folder in candidates:
        if (folder / marker).exists():
            return folder
    raise DataError(f"{root}: the archive does not contain {marker!r}; it is not the expected dataset")


# ---------------------------------------------------------------- datasets
def download_dataset(
    name: str,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download a known dataset (see DOWNLOADS) once; return its data folder, which load_corpus reads.

    `base_url` fetches every file from `<base_url>/<filename>` (a mirror, or a local test server).
    `progress(done_bytes, total_bytes_or_None)` is called as bytes arrive, over all files of the dataset.
    `force=True` ignores the completion record: files are checked again and fetched if missing or wrong
    (an archive, deleted after extraction, is fetched again).
    """
    spec = _spec(name)
    root = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / spec.name
    if not force and (found := cached_path(name, root.parent)) is not None:
        return found
    (root / _MARKER).unlink(missing_ok=True)
    downloads = root / ("downloads" if spec.archive else "data")
    sizes = [f.size for f in spec.files]
    grand_total = sum(sizes) if all(s is not None for s in sizes) else None  # type: ignore[arg-type]
    offset = 0
    for remote in spec.files:
        url = f"{base_url.rstrip('/')}/{remote.filename}" if base_url else remote.url
        fetch_url(url, downloads / remote.filename, remote.sha256, _shifted(progress, offset, grand_total), timeout)
        offset += remote.size or (downloads / remote.filename).stat().st_size

    if spec.archive:
        archive = downloads / spec.files[0].filename
        staging = root / "extracting"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            safe_extract(archive, staging)
            data_dir = _find_data_dir(staging, spec.marker)
            _verify(data_dir, spec.check, archive)
        except DataError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        final = root / "data"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        data_dir = final / data_dir.relative_to(staging)
        archive.unlink()  # the extracted data is what is used; complete.json records the checksums
    else:
        data_dir = _find_data_dir(downloads, spec.marker)
    record = {
        "name": spec.name,
        "data_dir": data_dir.relative_to(root).as_posix(),
        "files": {f.filename: f.sha256 for f in spec.files},
        "checked": dict(spec.check),
        "source": base_url or "official",
    }
    tmp = root / (_MARKER + ".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, root / _MARKER)
    return data_dir


def _shifted(progress: Progress | None, offset: int, grand_total: int | None) -> Progress | None:
    """Per-file progress -> progress over the whole dataset (earlier files count as done)."""
    if progress is None:
        return None

    def report(done: int, total: int | None) -> None:
        progress(offset + done, grand_total if grand_total is not None else total)

    return report


def _verify(data_dir: Path, check: Mapping[str, str], archive: Path) -> None:
    for rel, expected in check.items():
        path = data_dir / rel
        if not path.is_file():
            raise DataError(f"{archive}: expected {rel!r} in the archive; it is not the expected dataset")
        actual = sha256_file(path)
        if actual != expected:
            archive.unlink(missing_ok=True)
            raise DataError(
                f"checksum mismatch for {rel} extracted from {archive.name}: expected sha256 {expected}, got "
                f"{actual}. The archive was deleted; run the download again."
            )

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

import hashlib
import http.client
import json
import os
import shutil
import stat
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import DataError

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None when unknown)
CACHE_ENV = "LSTM_VIZ_CACHE"
_CHUNK = 1 << 20  # 1 MiB per read: progress updates often enough, few Python-level iterations
_MARKER = "complete.json"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. With `base_url`, it is fetched from `<base_url>/<filename>` instead of `url`."""

    filename: str  # name in the cache folder and under a base_url
    url: str  # the official location
    sha256: str | None  # None only where no checksum is published; then `DownloadSpec.check` is used
    size: int | None = None  # bytes, for a progress total before the server answers


@dataclass(frozen=True)
class DownloadSpec:
    """What a downloadable dataset is made of and how its files are checked."""

    name: str
    task: str
    description: str
    files: tuple[RemoteFile, ...]
    archive: bool  # True: files[0] is a .zip/.tar.gz to extract; False: the files are the data
    marker: str  # a path that exists inside the data folder; finds that folder in an extracted archive
    check: Mapping[str, str] = field(default_factory=dict)  # data-folder-relative path -> sha256 after extraction
    license: str = ""


_UD = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16"
DOWNLOADS: dict[str, DownloadSpec] = {
    spec.name: spec
    for spec in (
        DownloadSpec(
            name="ud-english-ewt",
            task="pos",
            description="UD English Web Treebank r2.16: 12,544 / 2,001 / 2,077 sentences, 17 UPOS tags (17 MB)",
            files=(
                RemoteFile("en_ewt-ud-train.conllu", f"{_UD}/en_ewt-ud-train.conllu",
                           "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b", 14_203_025),
                RemoteFile("en_ewt-ud-dev.conllu", f"{_UD}/en_ewt-ud-dev.conllu",
                           "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6", 1_805_545),
                RemoteFile("en_ewt-ud-test.conllu", f"{_UD}/en_ewt-ud-test.conllu",
                           "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd", 1_804_515),
            ),
            archive=False,
            marker="en_ewt-ud-train.conllu",
            license="CC BY-SA 4.0",
        ),
        DownloadSpec(
            name="sst2",
            task="sentiment",
            description="GLUE SST-2: 67,349 train phrases, 872 dev sentences; dev is the evaluation split (7 MB)",
            files=(
                RemoteFile("SST-2.zip", "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                           "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa", 7_439_277),
            ),
            archive=True,
            marker="dev.tsv",
            check={"train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                   "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0"},
            license="none stated; cite Socher et al. 2013 and GLUE",
        ),
        DownloadSpec(
            name="imdb",
            task="sentiment",
            description="IMDB Large Movie Review v1.0: 25,000 train / 25,000 test reviews (84 MB download)",
            files=(
                RemoteFile("aclImdb_v1.tar.gz", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                           "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", 84_125_825),
            ),
            archive=True,
            marker="train/pos",
            license="none stated; cite Maas et al. 2011",
        ),
        DownloadSpec(
            name="rt-polarity",
            task="sentiment",
            description="Sentence polarity v1.0 (Pang & Lee 2005): 5,331 positive + 5,331 negative snippets",
            files=(
                # No checksum of the archive is published; the two data files inside are checked instead.
                RemoteFile("rt-polaritydata.tar.gz",
                           "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz", None),
            ),
            archive=True,
            marker="rt-polarity.pos",
            check={"rt-polarity.pos": "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
                   "rt-polarity.neg": "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc"},
            license="none stated; cite Pang & Lee 2005",
        ),
    )
}


def default_cache_dir() -> Path:
    """$LSTM_VIZ_CACHE if set, else ~/.cache/lstm-viz (read at call time, so tests can change it)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lstm-viz"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


# ---------------------------------------------------------------- one file over HTTP
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


# ---------------------------------------------------------------- archives
def _check_member(archive: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataError(f"{archive}: refusing to extract {name!r}, which points outside the target folder")


def safe_extract(archive: str | Path, target: str | Path) -> Path:
    """Extract a .zip or .tar(.gz/.bz2/.xz) into `target`, refusing members that escape it.

    Absolute paths, `..` components, links and device files are rejected before anything is written.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(archive, info.filename)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise DataError(f"{archive}: refusing to extract the link {info.filename!r}")
                zf.extractall(target)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(archive, member.name)
                    if not (member.isfile() or member.isdir()):
                        raise DataError(f"{archive}: refusing to extract {member.name!r} (a link or device)")
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: also drops odd permissions
                    tf.extractall(target, members=members, filter="data")
                else:
                    tf.extractall(target, members=members)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(f"{archive}: not a readable .zip or .tar archive ({err})") from None
    return target


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

"""Safe extraction of a downloaded .zip or .tar(.gz/.bz2/.xz): no member may leave the target folder, no links
or devices, and the declared size of all members is checked against the budget before anything is written."""
from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from ..files.budgets import Budget, BudgetError, resolve
from .errors import DataError


def _check_member(archive: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataError(f"{archive}: refusing to extract {name!r}, which points outside the target folder")


def safe_extract(archive: str | Path, target: str | Path, budget: Budget | None = None) -> Path:
    """Extract a .zip or .tar(.gz/.bz2/.xz) into `target`, refusing members that escape it.

    Absolute paths, `..` components, links and device files are rejected before anything is written, and
    so is an archive whose members declare more bytes than the budget's expanded_bytes (a zip bomb).
    """
    archive, target, budget = Path(archive), Path(target), resolve(budget)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(archive, info.filename)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise DataError(f"{archive}: refusing to extract the link {info.filename!r}")
                _check_size(archive, sum(info.file_size for info in zf.infolist()), budget)
                zf.extractall(target)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(archive, member.name)
                    if not (member.isfile() or member.isdir()):
                        raise DataError(f"{archive}: refusing to extract {member.name!r} (a link or device)")
                _check_size(archive, sum(member.size for member in members), budget)
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: also drops odd permissions
                    tf.extractall(target, members=members, filter="data")
                else:
                    tf.extractall(target, members=members)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(f"{archive}: not a readable .zip or .tar archive ({err})") from None
    return target


def _check_size(archive: Path, declared: int, budget: Budget) -> None:
    try:
        budget.check("expanded_bytes", declared, f"{archive} once extracted", "bytes")
    except BudgetError as err:
        raise DataError(str(err)) from None


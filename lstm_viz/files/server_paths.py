"""Paths typed into the app that name files on the machine running it: off unless that is safe.

A page that offers "a path on the machine running the app" asks `server_path_policy(bind_address)` first:
- bound to this machine only (server.address 127.0.0.1 / localhost / ::1): the only person who can reach the
  app is the one who started it, so any file they can read is allowed (still no devices, pipes, NUL bytes);
- served to the network (streamlit's default binds every interface): reading server paths is OFF, unless
  the operator names the folders students may read with the environment variable LSTM_VIZ_ALLOWED_DIRS
  (folders separated by ":"; e.g. LSTM_VIZ_ALLOWED_DIRS=/srv/course-data:/srv/models).
Setting LSTM_VIZ_ALLOWED_DIRS always wins (also on localhost); LSTM_VIZ_ALLOWED_DIRS=none turns paths off.

`resolve_server_path(text, policy)` then resolves the path (symlinks followed, so a link cannot lead out of
an allowed folder), refuses `~user`, NUL bytes, devices, FIFOs and sockets, and a folder that holds a link
leading outside. Error messages never include a file's content, and say nothing about files outside the
allowed folders (not even whether they exist).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

ENV_ALLOWED_DIRS = "LSTM_VIZ_ALLOWED_DIRS"
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_FOLDER_ENTRIES = 300_000  # a folder walked for links that leave it (aclImdb holds 100,000 files)
HOW_TO_ENABLE = (f"the person running the app can allow folders with the environment variable {ENV_ALLOWED_DIRS} "
                 "(e.g. /srv/course-data), or run it bound to this machine only (--server.address 127.0.0.1)")


class ServerPathError(ValueError):
    """A typed server path is not allowed or not usable; the message says what to do instead."""


@dataclass(frozen=True)
class ServerPathPolicy:
    """Whether typed server paths may be read, and inside which folders."""

    enabled: bool
    roots: tuple[Path, ...]  # resolved folders a path must stay inside ("/" when bound to localhost)
    reason: str  # one sentence for the page: why paths are on or off

    def describe(self) -> str:
        if not self.enabled:
            return self.reason
        if self.roots == (Path("/"),):
            return self.reason
        return f"{self.reason} Allowed folders: {', '.join(str(r) for r in self.roots)}."


def is_local_address(address: Optional[str]) -> bool:
    """True for a bind address reachable from this machine only."""
    return (address or "").strip().lower() in LOCAL_ADDRESSES


def server_path_policy(bind_address: Optional[str], environ: Optional[Mapping[str, str]] = None) -> ServerPathPolicy:
    """The policy for an app bound to `bind_address` (st.get_option("server.address")); see the module doc."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_ALLOWED_DIRS, "").strip()
    if raw.lower() in ("none", "off", "0", "false"):
        return ServerPathPolicy(False, (), f"Reading files on the server is turned off ({ENV_ALLOWED_DIRS}={raw}). "
                                           "Upload the file instead.")
    if raw:
        roots = []
        for part in raw.split(os.pathsep):
            part = part.strip()
            if part and "\x00" not in part and Path(part).expanduser().is_dir():
                roots.append(Path(os.path.realpath(Path(part).expanduser())))
        if not roots:
            return ServerPathPolicy(False, (), f"Reading files on the server is off: none of the folders in "
                                               f"{ENV_ALLOWED_DIRS} exists. Upload the file instead.")
        return ServerPathPolicy(True, tuple(dict.fromkeys(roots)),
                                "Paths on the server are allowed inside the folders the operator named.")
    if is_local_address(bind_address):
        return ServerPathPolicy(True, (Path("/"),), "The app is bound to this machine only, so paths on it are "
                                                    "allowed (any file you can read).")
    return ServerPathPolicy(False, (), "Reading files on the server is turned off because this app is served to "
                                       f"the network: upload the file instead ({HOW_TO_ENABLE}).")


def resolve_server_path(text: str, policy: ServerPathPolicy, kind: str = "file",
                        max_bytes: Optional[int] = None, must_exist: bool = True) -> Path:
    """The resolved path for `text` when `policy` allows it; ServerPathError otherwise.

    kind: "file" (a regular file), "dir" (a folder) or "any" (either). A folder is walked for symbolic links
    that lead outside the allowed folders (refused). max_bytes: the most a file, or all files of a folder
    together, may hold (checked from their sizes before anything is read). must_exist=False returns a path
    inside the allowed folders that does not exist (the caller's reader then says so in its own words).
    """
    if kind not in ("file", "dir", "any"):
        raise ValueError(f"kind must be 'file', 'dir' or 'any', got {kind!r}")
    if not policy.enabled:
        raise ServerPathError(policy.reason)
    if not isinstance(text, str) or not text.strip():
        raise ServerPathError("Type a path first.")
    text = text.strip()
    if "\x00" in text:
        raise ServerPathError("The path contains a NUL byte, which no file name can hold; type it again.")
    if len(text) > MAX_PATH_CHARS:
        raise ServerPathError(f"The path is {len(text):,} characters long; at most {MAX_PATH_CHARS:,} are allowed.")
    if text.startswith("~") and text != "~" and not text.startswith("~/"):
        raise ServerPathError("Paths starting with ~name (another user's home folder) are not supported; type "
                              "the full path, or ~/... for your own home folder.")
    resolved = Path(os.path.realpath(Path(text).expanduser()))
    if not _inside(resolved, policy.roots):
        raise ServerPathError(f"{text!r} is outside the folders this app may read "
                              f"({', '.join(str(r) for r in policy.roots)}); {HOW_TO_ENABLE}.")
    try:
        mode = resolved.stat().st_mode
    except OSError:
        if not must_exist and not resolved.exists():
            return resolved
        raise ServerPathError(f"Nothing at {text!r}: the file does not exist (check the path; it is "
                              "case-sensitive).") from None
    if stat.S_ISDIR(mode):
        if kind == "file":
            raise ServerPathError(f"{text!r} is a folder; give the path of a file in it.")
        size = _check_folder(resolved, policy, text)
    elif stat.S_ISREG(mode):
        if kind == "dir":
            raise ServerPathError(f"{text!r} is a file; give the path of a folder.")
        size = resolved.stat().st_size
    else:
        raise ServerPathError(f"{text!r} is not a regular file or folder (a device, pipe or socket); refused.")
    if max_bytes is not None and size > max_bytes:
        raise ServerPathError(f"{text!r} holds {size / 2**20:,.1f} MiB, over this app's limit of "
                              f"{max_bytes / 2**20:,.0f} MiB for files read on the server. Use a smaller file (e.g. "
                              "the first rows), or the CLI / a notebook, where the limit is higher.")
    return resolved


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _check_folder(folder: Path, policy: ServerPathPolicy, text: str) -> int:
    """Total bytes of the regular files under `folder`; refuses a symbolic link that leads out of the allowed
    folders and a folder with too many entries to check."""
    anywhere = policy.roots == (Path("/"),)  # bound to localhost: links may lead anywhere the user can read
    seen = total = 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                raise ServerPathError(f"{text!r} holds more than {MAX_FOLDER_ENTRIES:,} files; give a smaller "
                                      "folder or a single file.")
            entry = Path(top) / name
            if entry.is_symlink():
                if not anywhere and not _inside(Path(os.path.realpath(entry)), policy.roots):
                    raise ServerPathError(f"{text!r} holds a link ({entry.relative_to(folder)}) that leads outside "
                                          "the allowed folders; refused.")
                continue
            if name in files:
                try:
                    total += entry.stat().st_size
                except OSError:
                    continue
    return total

"""The character model's text: Python standard-library source files, picked by a fixed rule, and the
structural properties of every character (inside a string, inside a comment, indentation depth, position
in the line) computed with Python's own `tokenize` module."""
from __future__ import annotations

import hashlib
import io
import sysconfig
import token as token_types
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

MIN_FILE_BYTES = 2_000  # smaller files are mostly boilerplate (a licence header and one import)
MAX_FILE_BYTES = 80_000  # larger ones would dominate the mix
HOLD_OUT_EVERY = 8  # every 8th picked file (sorted by name) is held out for evaluation
PROPERTIES = ("in_string", "in_comment", "indent_depth", "line_position")
PROPERTY_TITLES = dict(zip(PROPERTIES, ("inside a string literal", "inside a comment", "indentation depth (blocks)",
                                        "position in the line")))


def stdlib_folder() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def pick_files(folder: Optional[Path] = None) -> tuple[list[str], list[str]]:
    """(train names, held-out names): the top-level *.py files of the standard library between
    MIN_FILE_BYTES and MAX_FILE_BYTES that `tokenize` reads, sorted by name; every HOLD_OUT_EVERY-th
    (starting with the 4th) is held out."""
    folder = folder or stdlib_folder()
    names = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_sysconfigdata"):
            continue  # generated per machine: not the same file everywhere
        if MIN_FILE_BYTES <= path.stat().st_size <= MAX_FILE_BYTES and char_properties_or_none(read_source(path)):
            names.append(path.name)
    held = [n for i, n in enumerate(names) if i % HOLD_OUT_EVERY == 3]
    train = [n for n in names if n not in set(held)]
    return train, held


def read_source(path: Path) -> str:
    """A source file as text with LF line endings (undecodable bytes replaced)."""
    return path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")


def text_digest(texts: Sequence[str]) -> str:
    """A short sha256 of the texts (to check that held-out files are the ones a model was measured on)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class CharProperties:
    """Per-character structural properties of one text; every array has shape [len(text)]."""

    in_string: np.ndarray  # 1.0 on every character of a string literal token (prefix and quotes included)
    in_comment: np.ndarray  # 1.0 on every character of a comment token ('#' to the end of the line)
    indent_depth: np.ndarray  # number of enclosing indented blocks of the character's logical line
    line_position: np.ndarray  # column of the character: 0 for the first character of a line

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in PROPERTIES}


STRING_KINDS = ("in_one_line_string", "in_multi_line_string")
STRING_KIND_TITLES = dict(zip(STRING_KINDS, ("inside a one-line string", "inside a multi-line string")))


def string_kinds(text: str) -> dict[str, np.ndarray]:
    """in_string split by the literal's extent: one-line literals ('x', "a b") and literals spanning lines
    (mostly triple-quoted docstrings). -> {kind: [len(text)] of 0/1}"""
    starts = _line_starts(text)
    kinds = {kind: np.zeros(len(text), np.float32) for kind in STRING_KINDS}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == token_types.STRING:
            kind = STRING_KINDS[tok.end[0] > tok.start[0]]
            kinds[kind][_offset(starts, len(text), *tok.start):_offset(starts, len(text), *tok.end)] = 1.0
    return kinds


def _line_starts(text: str) -> list[int]:
    """Offset of the first character of every line."""
    return [0] + [k + 1 for k, ch in enumerate(text) if ch == "\n"]


def _offset(line_starts: list[int], n: int, row: int, col: int) -> int:
    """Character offset of tokenize's (row, col), clipped to the text's length n."""
    return min(line_starts[row - 1] + col, n) if row - 1 < len(line_starts) else n


def char_properties_or_none(text: str) -> Optional[CharProperties]:
    """The properties of `text`, or None when `tokenize` cannot read it (not valid Python)."""
    try:
        return char_properties(text)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def char_properties(text: str) -> CharProperties:
    """Tokenize `text` once and spread each token's facts over its characters.

    Raises tokenize.TokenError / SyntaxError for text that is not Python (an unclosed string, say).
    """
    n = len(text)
    line_starts = _line_starts(text)
    starts = np.array(line_starts)  # [lines]
    offsets = np.arange(n)
    line_of = np.searchsorted(starts, offsets, side="right") - 1  # [n] 0-based line of each character
    line_position = (offsets - starts[line_of]).astype(np.float32)
    in_string = np.zeros(n, np.float32)
    in_comment = np.zeros(n, np.float32)
    depth_of_line = np.full(len(line_starts), -1, np.int32)  # logical depth, set on the lines a statement starts

    depth = 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == token_types.INDENT:
            depth += 1
        elif tok.type == token_types.DEDENT:
            depth -= 1
        elif tok.type in (token_types.STRING, token_types.COMMENT):
            a, b = _offset(line_starts, n, *tok.start), _offset(line_starts, n, *tok.end)
            (in_string if tok.type == token_types.STRING else in_comment)[a:b] = 1.0
        if tok.type not in (token_types.NL, token_types.COMMENT, token_types.DEDENT, token_types.INDENT,
                            token_types.ENDMARKER):
            for row in range(tok.start[0], tok.end[0] + 1):
                if row - 1 < len(depth_of_line) and depth_of_line[row - 1] < 0:
                    depth_of_line[row - 1] = depth
    # lines without code (blank, comment-only) take the depth of the next code line (a comment usually
    # introduces what follows); trailing ones that of the last code line
    following = -1
    for k in range(len(depth_of_line) - 1, -1, -1):
        if depth_of_line[k] < 0:
            depth_of_line[k] = following
        following = depth_of_line[k]
    previous = 0
    for k in range(len(depth_of_line)):
        if depth_of_line[k] < 0:
            depth_of_line[k] = previous
        previous = depth_of_line[k]
    indent_depth = depth_of_line[line_of].astype(np.float32)
    return CharProperties(in_string, in_comment, indent_depth, line_position)

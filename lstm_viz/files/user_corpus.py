"""The user's own corpus for the analysis pages: many sequences from one file, checked before it is used.

Formats (picked by the file's suffix): `.txt` one sequence per line, tokens separated by spaces; `.csv`/`.tsv`
with a header and a text column (and optionally a label column); `.conllu` (word forms of each sentence);
`.pt`/`.pth`/`.npy`/`.npz` a tensor of many embedded sequences `[batch, time, features]`.
`encode_corpus` then maps the tokens through the model's vocabulary and keeps what the model read
(`<unk>` where it read `<unk>`) next to what was written.
Every problem is a `CorpusFileError` naming the file, the line where there is one, and what to do.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Optional, Sequence

import torch

from ..data.conllu import read_conllu
from ..data.errors import DataError, _utf16_without_bom, read_text, require_file
from ..data.text_tables import LABEL_COLUMNS, TEXT_COLUMNS, _pick_column
from .budgets import Budget, resolve
from .inputs import InputError, VocabLookup, load_input_tensor

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".conllu")
TENSOR_SUFFIXES = (".pt", ".pth", ".npy", ".npz")
CORPUS_SUFFIXES = TEXT_SUFFIXES + TENSOR_SUFFIXES
MAX_TOKENS_PER_SEQUENCE = 5_000  # a longer line is rarely one sentence; split it (also the app's step limit)
MAX_CORPUS_TOKENS = 5_000_000  # token steps in one corpus (5M x 256 units of float32 = 5 GB once recorded)
MAX_CORPUS_BYTES = 100 * 2**20  # a text corpus file: 5M tokens of text is about 30 MB


class CorpusFileError(ValueError):
    """A corpus file that cannot be used; the message names the file, the line and what to change."""


@dataclass(frozen=True)
class UserCorpus:
    name: str  # the file's name as the user knows it (never used as a path)
    format: str  # "lines", "table", "conllu" or "tensor"
    sequences: tuple[tuple[str, ...], ...]  # tokens as written; for a tensor: "t0", "t1", ... per step
    labels: Optional[tuple[str, ...]] = None  # one per sequence when the table has a label column
    inputs: Optional[torch.Tensor] = None  # tensor corpora only: float32 [batch, time, features]

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.sequences)


def _reject_binary(path: Path, name: str) -> None:
    """A clear message for files that are not text at all (images, archives, model files)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise CorpusFileError(f"{name} is empty (0 bytes): choose a file with one sequence per line.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head):
        return  # UTF-16 text: read_text decodes it
    if b"\x00" in head or head.startswith(b"PK\x03\x04"):
        raise CorpusFileError(f"{name} is a binary file (NUL bytes in its first {len(head):,} bytes), not text. "
                              "Give a text file (.txt, .csv, .tsv, .conllu) or a tensor file (.pt, .npy, .npz).")


def _check_lengths(name: str, sequences: Sequence[Sequence[str]], where: Sequence[int], limit: int) -> None:
    if not sequences:
        raise CorpusFileError(f"{name} holds no sequences (only blank lines or a header).")
    for seq, line in zip(sequences, where):
        if len(seq) > limit:
            raise CorpusFileError(f"{name}:{line}: this sequence has {len(seq):,} tokens, over the limit of "
                                  f"{limit:,} per sequence. Put one sentence (or paragraph) per line.")
    total = sum(len(s) for s in sequences)
    if total > MAX_CORPUS_TOKENS:
        raise CorpusFileError(f"{name} holds {total:,} tokens, over the limit of {MAX_CORPUS_TOKENS:,}; "
                              "use a sample of it.")


def _read_lines(path: Path, name: str, encoding: str, limit: int) -> UserCorpus:
    text = read_text(path, encoding)
    sequences, where = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        tokens = tuple(line.split())
        if tokens:
            sequences.append(tokens)
            where.append(number)
    _check_lengths(name, sequences, where, limit)
    return UserCorpus(name, "lines", tuple(sequences))


def _read_table(path: Path, name: str, encoding: str, limit: int, text_column: Optional[str],
                label_column: Optional[str]) -> UserCorpus:
    text = read_text(path, encoding)
    tsv = path.suffix.lower() == ".tsv"
    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {}
    reader = csv.reader(io.StringIO(text, newline=""), **dialect)
    sequences, labels, where = [], [], []
    try:
        header = next(reader, None)
        if not header:
            raise CorpusFileError(f"{name} is empty; expected a header line naming the columns, such as 'text,label'")
        i_text = _pick_column(PurePath(name), header, text_column, TEXT_COLUMNS, "text")
        try:
            i_label = _pick_column(PurePath(name), header, label_column, LABEL_COLUMNS, "label")
        except DataError:
            if label_column is not None:
                raise
            i_label = None  # labels are optional for a corpus
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise CorpusFileError(f"{name}:{reader.line_num}: {len(row)} fields but the header has "
                                      f"{len(header)}; check the separator and quoting")
            tokens = tuple(row[i_text].split())
            if tokens:
                sequences.append(tokens)
                where.append(reader.line_num)
                if i_label is not None:
                    labels.append(row[i_label].strip())
    except csv.Error as err:
        raise CorpusFileError(f"{name}:{reader.line_num}: malformed CSV ({err})") from None
    _check_lengths(name, sequences, where, limit)
    return UserCorpus(name, "table", tuple(sequences), tuple(labels) if i_label is not None else None)


def load_user_corpus(path: str | Path, name: Optional[str] = None, *, text_column: Optional[str] = None,
                     label_column: Optional[str] = None, encoding: str = "utf-8", input_size: Optional[int] = None,
                     max_tokens_per_sequence: int = MAX_TOKENS_PER_SEQUENCE, max_bytes: int = MAX_CORPUS_BYTES,
                     budget: Optional[Budget] = None) -> UserCorpus:
    """Read a corpus file (an upload saved by `uploads.save_upload`, or a path the operator allowed).

    name: the name shown in messages and used for the format (default: the path's name).
    input_size: features per step, needed for tensor files. The file's size is checked against `max_bytes`
    and the budget's `corpus_bytes` (text) or `file_bytes` (tensors) before it is read.
    """
    path = Path(path)
    name = name or path.name
    suffix = PurePath(name).suffix.lower()
    if suffix not in CORPUS_SUFFIXES:
        raise CorpusFileError(f"{name}: unsupported file type {suffix or '(none)'!r}; use one of "
                              f"{', '.join(CORPUS_SUFFIXES)}")
    budget = resolve(budget)
    try:
        require_file(path, "corpus file")
        if suffix in TENSOR_SUFFIXES:
            if input_size is None:
                raise CorpusFileError(f"{name}: a tensor corpus needs the model's input_size to be checked")
            x = load_input_tensor(path, name, input_size, max_bytes=budget.limit("file_bytes"), budget=budget)
            seq = tuple(f"t{t}" for t in range(x.shape[1]))
            return UserCorpus(name, "tensor", (seq,) * x.shape[0], inputs=x)
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusFileError(f"{name} is {size / 2**20:,.1f} MiB, over the limit of {max_bytes / 2**20:,.0f} MiB "
                                  "for a corpus file; use a sample of it (e.g. the first 100,000 lines).")
        budget.check("corpus_bytes", size, name, "bytes")
        _reject_binary(path, name)
        if suffix == ".conllu":
            sentences = read_conllu(path, encoding=encoding)
            seqs = tuple(s.tokens for s in sentences)
            _check_lengths(name, seqs, range(1, len(seqs) + 1), max_tokens_per_sequence)
            return UserCorpus(name, "conllu", seqs)
        if suffix in (".csv", ".tsv"):
            return _read_table(path, name, encoding, max_tokens_per_sequence, text_column, label_column)
        return _read_lines(path, name, encoding, max_tokens_per_sequence)
    except (DataError, InputError, ValueError) as err:
        if isinstance(err, CorpusFileError):
            raise
        raise CorpusFileError(str(err).replace(str(path), name)) from None


@dataclass(frozen=True)
class EncodedCorpus:
    ids: tuple[tuple[int, ...], ...]  # embedding rows per sequence
    read: tuple[tuple[str, ...], ...]  # what the model read: the vocabulary's token, or the unk token
    written: tuple[tuple[str, ...], ...]  # what the file said (after splitting punctuation the vocab knows)
    unknown: int  # tokens read as unk (or dropped when the vocabulary has no unk token)


def encode_corpus(corpus: UserCorpus, vocab_tokens: Sequence[str], unk_token: str = "<unk>",
                  lowercase: Optional[bool] = None) -> EncodedCorpus:
    """Map every sequence through the model's vocabulary (the same rules as typed text)."""
    if corpus.format == "tensor":
        raise CorpusFileError(f"{corpus.name} holds embedded vectors, not tokens; it needs no vocabulary")
    if lowercase is None:
        lowercase = not any(t != t.lower() for t in vocab_tokens)
    lookup = VocabLookup(vocab_tokens, lowercase, unk_token)
    ids, read, written, unknown = [], [], [], 0
    for seq in corpus.sequences:
        row_written, row_ids, row_unknown = lookup.ids(" ".join(seq))
        unknown += row_unknown
        row_read = [vocab_tokens[i] for i in row_ids]
        if row_ids:
            ids.append(tuple(row_ids))
            read.append(tuple(row_read))
            written.append(tuple(row_written))
    if not ids:
        raise CorpusFileError(f"every token of {corpus.name} is unknown to the vocabulary "
                              f"({len(vocab_tokens):,} tokens); is it the model's vocabulary?")
    return EncodedCorpus(tuple(ids), tuple(read), tuple(written), unknown)

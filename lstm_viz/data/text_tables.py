"""Labelled texts from a generic CSV (comma, standard quoting) or TSV (tab, no quoting) file with a header,
or from a folder of split files (train.csv, dev/validation, test): a sentiment Corpus."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from .corpus import Corpus, LabelledText
from .errors import DataError, read_text, require_file
from .sentiment_files import _check_limit, _labels, tokenize


TEXT_COLUMNS = ("text", "sentence", "review", "content")  # tried in this order when text_column is None
LABEL_COLUMNS = ("label", "sentiment", "polarity", "class")
_SPLIT_NAMES = {"train": ("train",), "dev": ("dev", "validation", "valid", "val"), "test": ("test",)}


def _pick_column(path: Path, header: list[str], wanted: str | None, defaults: tuple[str, ...], kind: str) -> int:
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    for candidate in (wanted,) if wanted is not None else defaults:
        if candidate in names:
            return names.index(candidate)
        if wanted is None and candidate in lowered:
            return lowered.index(candidate)
    asked = f"column {wanted!r}" if wanted is not None else f"a {kind} column (tried {', '.join(defaults)})"
    raise DataError(
        f"{path}:1: no {asked} in the header {names[:20]}. Rename the column to {defaults[0]!r} "
        f"(in Python you can instead pass {kind}_column= with one of these names)."
    )


def read_text_table(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    labels: Sequence[str] | None = None,
    label_map: Mapping[str, str] | None = None,
    limit: int | None = None,
    encoding: str = "utf-8",
) -> tuple[LabelledText, ...]:
    """Labelled texts from a CSV (comma, standard quoting) or TSV (tab, no quoting) file with a header.

    Labels are the cell text, stripped, then mapped through `label_map` if given; with `labels`
    given, any other label is an error naming its line. Blank lines are skipped.
    """
    _check_limit(limit)
    path = Path(path)
    text = read_text(path, encoding)
    if path.suffix.lower() == ".tsv":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:  # a quoted CSV field may span lines; line_num still counts physical lines
        reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty file; expected a header line such as 'text,label'")
        i_text = _pick_column(path, header, text_column, TEXT_COLUMNS, "text")
        i_label = _pick_column(path, header, label_column, LABEL_COLUMNS, "label")
        examples: list[LabelledText] = []
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path}:{reader.line_num}: {len(row)} fields but the header has {len(header)}; "
                    "check the separator and quoting"
                )
            label = row[i_label].strip()
            if label_map is not None:
                if label not in label_map:
                    raise DataError(f"{path}:{reader.line_num}: label {label!r} is not in label_map {dict(label_map)}")
                label = label_map[label]
            if labels is not None and label not in labels:
                raise DataError(f"{path}:{reader.line_num}: label {label!r} is not one of {list(labels)}")
            if not label:
                raise DataError(f"{path}:{reader.line_num}: empty label")
            tokens = tokenize(row[i_text])
            if not tokens:
                raise DataError(f"{path}:{reader.line_num}: empty text")
            examples.append(LabelledText(tokens, label))
            if limit is not None and len(examples) >= limit:
                break
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    if not examples:
        raise DataError(f"{path}: no data rows after the header")
    return tuple(examples)


def find_table_split(folder: Path, split: str) -> Path | None:
    """`train.csv`/`train.tsv` (dev also as validation/valid/val) in `folder`, or None."""
    for stem in _SPLIT_NAMES[split]:
        for ext in (".csv", ".tsv"):
            if (folder / f"{stem}{ext}").is_file():
                return folder / f"{stem}{ext}"
    return None


def load_text_table(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    labels: Sequence[str] | None = None,
    label_map: Mapping[str, str] | None = None,
    limit: int | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> Corpus:
    """A sentiment Corpus from one CSV/TSV file (all rows -> train) or a folder of split files.

    A folder holds train.csv (or .tsv) and optionally dev/validation and test files. Column
    defaults: text from the first of TEXT_COLUMNS present, label from the first of LABEL_COLUMNS.
    """
    path = Path(path)
    kwargs = dict(text_column=text_column, label_column=label_column, labels=labels,
                  label_map=label_map, limit=limit, encoding=encoding)
    if path.is_dir():
        files = {split: find_table_split(path, split) for split in ("train", "dev", "test")}
        if files["train"] is None:
            raise DataError(f"{path}: no train.csv or train.tsv in this folder")
    else:
        if path.suffix.lower() not in (".csv", ".tsv"):
            raise DataError(f"{path}: not a .csv or .tsv file")
        files = {"train": require_file(path), "dev": None, "test": None}
    splits = {s: read_text_table(f, **kwargs) if f is not None else () for s, f in files.items()}
    found = _labels(str(path), splits["train"], splits["dev"], splits["test"])
    if len(found) < 2:
        raise DataError(f"{path}: only one label ({found[0]!r}) in the data; a classifier needs at least two")
    return Corpus(
        name=name or (path.name if path.is_dir() else path.stem),
        task="sentiment",
        train=splits["train"],
        dev=splits["dev"],
        test=splits["test"],
        labels=found,
        source=str(path),
        notes={"format": "table", "files": {s: str(f) for s, f in files.items() if f is not None}},
    )

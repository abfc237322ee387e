"""Readers of sentiment datasets from local files: sentence polarity, GLUE SST-2, IMDB (generic CSV/TSV
tables: text_tables.py).

Every reader returns a Corpus with task "sentiment"; the known datasets use the labels
("negative", "positive"). All text goes through `tokenize`, one documented tokenizer for all readers.
"""
from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from .corpus import Corpus, LabelledText
from .errors import DataError, read_text, require_dir, require_file

SENTIMENT_LABELS = ("negative", "positive")

# Lowercased text, split into (in this order of preference):
#   PTB bracket tokens as SST writes them (-lrb-, -rrb-, ...);
#   a word before "n't" ("don't" -> "do", "n't"; SST's "do n't" already comes split);
#   "n't"; clitics ('s 're 'll 've 'd 'm); numbers with inner . or , ("10.5", "1,000");
#   words with inner hyphens ("well-made");
#   "..." and any other single non-space, non-word character as punctuation.
# It is deliberately simple (no external tokenizer): the same rule for every dataset keeps vocabularies
# comparable, and already tokenized corpora (SST-2, rt-polarity) come out unchanged except for case.
_TOKEN_RE = re.compile(r"-[lr][rsc]b-|\w+(?=n't\b)|n't\b|'\w+|\d+(?:[.,]\d+)+|\w+(?:-\w+)*|\.\.\.|[^\w\s]")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)  # IMDB reviews keep HTML line breaks


def tokenize(text: str) -> tuple[str, ...]:
    """Lowercase word/punctuation tokens of `text` (see the rule above); curly apostrophes count as '."""
    return tuple(_TOKEN_RE.findall(text.lower().replace("\u2019", "'")))


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of examples, got {limit}")


def _labels(name: str, train: Sequence[LabelledText], *others: Sequence[LabelledText]) -> tuple[str, ...]:
    if not train:
        raise DataError(f"{name}: the train split is empty; no examples were found")
    labels = sorted({ex.label for split in (train, *others) for ex in split})
    return tuple(labels)


# ---------------------------------------------------------------- sentence polarity (Pang & Lee 2005)
def _read_lines(path: Path, encoding: str) -> list[str]:
    """Non-blank, stripped lines. encoding="auto": UTF-8 if the bytes decode as UTF-8, else Windows-1252."""
    if encoding == "auto":
        try:
            text = read_text(path, "utf-8")
        except DataError:
            text = read_text(path, "cp1252")
    else:
        text = read_text(path, encoding)
    return [line.strip() for line in text.split("\n") if line.strip()]


def load_rt_polarity(
    path: str | Path,
    seed: int = 0,
    test_fraction: float = 0.1,
    encoding: str = "auto",
    limit: int | None = None,
) -> Corpus:
    """Sentence polarity v1.0 from a folder with `rt-polarity.pos` and `rt-polarity.neg`.

    The dataset has no official split. Here a seeded, stratified split puts `round(test_fraction * n)`
    snippets of each class into test (10% by default) and the rest into train; dev is left empty
    (hold out part of train yourself if you need early stopping). The same seed always gives the
    same split. The original files are Windows-1252; encoding="auto" also accepts the UTF-8 copies.
    `limit` reads at most that many snippets from each file.
    """
    folder = require_dir(Path(path), "rt-polarity folder")
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction must be in [0, 1), got {test_fraction}")
    _check_limit(limit)
    rng = random.Random(seed)
    train: list[LabelledText] = []
    test: list[LabelledText] = []
    for suffix, label in (("neg", "negative"), ("pos", "positive")):
        file = require_file(folder / f"rt-polarity.{suffix}", "rt-polarity file")
        lines = _read_lines(file, encoding)[:limit]
        if not lines:
            raise DataError(f"{file}: no snippets (the file is empty)")
        examples = [LabelledText(tokenize(line), label) for line in lines]
        rng.shuffle(examples)
        n_test = round(test_fraction * len(examples))
        test += examples[:n_test]
        train += examples[n_test:]
    rng.shuffle(train)  # mix the two classes, so an unshuffled pass does not see all negatives first
    rng.shuffle(test)
    return Corpus(
        name="rt-polarity",
        task="sentiment",
        train=tuple(train),
        test=tuple(test),
        labels=SENTIMENT_LABELS,
        source=str(folder),
        notes={"format": "rt-polarity", "split": f"stratified {1 - test_fraction:.0%}/{test_fraction:.0%}",
               "seed": seed, "dev": "empty: no official dev split"},
    )


# ---------------------------------------------------------------- GLUE SST-2
_SST2_LABELS = {"0": "negative", "1": "positive"}


def read_sst2_tsv(path: str | Path, limit: int | None = None, encoding: str = "utf-8") -> tuple[LabelledText, ...]:
    """Rows of a GLUE SST-2 file: header `sentence<TAB>label`, then `<sentence> <TAB><0|1>` per line.

    Rows are split on the last tab (sentences hold no tabs but may hold quotes, so no CSV quoting).
    """
    _check_limit(limit)
    path = Path(path)
    lines = read_text(path, encoding).split("\n")
    if lines[0].strip() != "sentence\tlabel":
        raise DataError(
            f"{path}:1: expected the SST-2 header 'sentence<TAB>label' in the first line. For another table "
            "layout, save it as a .csv with columns 'text' and 'label' (in Python: load_text_table(path, "
            "text_column=..., label_column=...))."
        )
    examples: list[LabelledText] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        sentence, tab, label = line.rpartition("\t")
        if not tab:
            raise DataError(f"{path}:{number}: expected '<sentence><TAB><label>', found no tab")
        if label.strip() not in _SST2_LABELS:
            raise DataError(f"{path}:{number}: label {label.strip()!r} is not 0 (negative) or 1 (positive)")
        tokens = tokenize(sentence)
        if not tokens:
            raise DataError(f"{path}:{number}: empty sentence")
        examples.append(LabelledText(tokens, _SST2_LABELS[label.strip()]))
        if limit is not None and len(examples) >= limit:
            break
    if not examples:
        raise DataError(f"{path}: no rows after the header")
    return tuple(examples)


def load_sst2(path: str | Path, limit: int | None = None, encoding: str = "utf-8") -> Corpus:
    """GLUE SST-2 from a folder with train.tsv and dev.tsv.

    GLUE's test.tsv has no labels, so test is empty and dev is the evaluation split. Train rows are
    phrases from the parse trees (many short fragments); dev rows are whole sentences.
    """
    folder = require_dir(Path(path), "SST-2 folder")
    train = read_sst2_tsv(require_file(folder / "train.tsv", "SST-2 train.tsv"), limit, encoding)
    dev = read_sst2_tsv(require_file(folder / "dev.tsv", "SST-2 dev.tsv"), limit, encoding)
    notes = {"format": "sst2", "test": "empty: GLUE test labels are not public; evaluate on dev"}
    return Corpus(name="sst2", task="sentiment", train=train, dev=dev, labels=SENTIMENT_LABELS, source=str(folder),
                  notes=notes)


# ---------------------------------------------------------------- IMDB (Maas et al. 2011)
def _imdb_order(file: Path) -> tuple[int, str]:
    """Sort `<id>_<rating>.txt` by numeric id, so a `limit` picks the same reviews on every system."""
    head = file.stem.split("_", 1)[0]
    return (int(head), file.name) if head.isdigit() else (1 << 62, file.name)


def _read_imdb_split(folder: Path, limit: int | None, encoding: str) -> tuple[LabelledText, ...]:
    examples: list[LabelledText] = []
    for sub, label in (("neg", "negative"), ("pos", "positive")):
        class_dir = require_dir(folder / sub, "IMDB class folder")
        files = sorted(class_dir.glob("*.txt"), key=_imdb_order)[:limit]
        if not files:
            raise DataError(f"{class_dir}: no review files (*.txt)")
        for file in files:
            tokens = tokenize(_BR_RE.sub(" ", read_text(file, encoding)))
            if not tokens:
                raise DataError(f"{file}: empty review")
            examples.append(LabelledText(tokens, label))
    random.Random(0).shuffle(examples)  # mix the classes (fixed order: the files are sorted first)
    return tuple(examples)


def load_imdb(path: str | Path, limit: int | None = None, encoding: str = "utf-8") -> Corpus:
    """IMDB Large Movie Review from an `aclImdb` folder: `{train,test}/{pos,neg}/<id>_<rating>.txt`.

    `<br />` tags become spaces; `unsup/` is ignored; dev is empty. `limit` reads at most that many
    reviews per class and split (lowest ids first). `path` may also be the folder that holds aclImdb/.
    """
    folder = Path(path)
    if (folder / "aclImdb").is_dir():
        folder = folder / "aclImdb"
    require_dir(folder, "aclImdb folder")
    _check_limit(limit)
    train = _read_imdb_split(require_dir(folder / "train", "IMDB train folder"), limit, encoding)
    test_dir = folder / "test"
    test = _read_imdb_split(test_dir, limit, encoding) if test_dir.is_dir() else ()
    return Corpus(
        name="imdb",
        task="sentiment",
        train=train,
        test=test,
        labels=SENTIMENT_LABELS,
        source=str(folder),
        notes={"format": "aclImdb", "dev": "empty: no official dev split"},
    )

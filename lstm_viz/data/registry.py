"""One entry point for every corpus: built-in names, downloaded datasets, or a local file/folder."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .conllu import find_ud_split, load_conllu
from .corpus import Corpus
from .download import DOWNLOADS, cached_path
from .errors import DataError
from .generated import generated_pos_corpus, generated_sentiment_corpus
from .sentiment_files import load_imdb, load_rt_polarity, load_sst2
from .text_tables import find_table_split, load_text_table
from .tutorial import tutorial_corpus


@dataclass(frozen=True)
class DatasetInfo:
    """What `list_datasets` shows for one named dataset."""

    name: str
    task: str  # "pos" or "sentiment"
    description: str
    built_in: bool  # True: made in memory, always available offline
    downloadable: bool  # True: `download_dataset(name)` fetches it into the cache
    cached: bool = False  # a downloadable dataset that is already in the cache
    license: str = ""


_BUILT_IN: dict[str, tuple[str, str, Callable[..., Corpus]]] = {
    "tutorial": ("pos", "The two sentences of the PyTorch sequence-models tutorial (DET/NN/V)", tutorial_corpus),
    "generated-pos": ("pos", "Generated sentences with UPOS tags and context-dependent words "
                             "(book, that, to, can, like, fast); seeded", generated_pos_corpus),
    "generated-sentiment": ("sentiment", "Generated review sentences with negation, 'but' contrast and long "
                                         "neutral tails; seeded", generated_sentiment_corpus),
}

# Reader of each downloaded dataset's data folder.
_DOWNLOAD_READERS: dict[str, Callable[..., Corpus]] = {
    "ud-english-ewt": lambda path, **o: load_conllu(path, name="ud-english-ewt", **o),
    "sst2": load_sst2,
    "imdb": load_imdb,
    "rt-polarity": load_rt_polarity,
}


def known_names() -> list[str]:
    return list(_BUILT_IN) + list(DOWNLOADS)


def list_datasets(cache_dir: str | Path | None = None) -> list[DatasetInfo]:
    """Built-in corpora first, then the downloadable ones (with whether each is in the cache)."""
    infos = [DatasetInfo(name, task, text, built_in=True, downloadable=False, license="written for lstm-viz")
             for name, (task, text, _) in _BUILT_IN.items()]
    infos += [DatasetInfo(spec.name, spec.task, spec.description, built_in=False, downloadable=True,
                          cached=cached_path(spec.name, cache_dir) is not None, license=spec.license)
              for spec in DOWNLOADS.values()]
    return infos


def detect_format(path: Path) -> str:
    """'conllu', 'rt-polarity', 'sst2', 'imdb' or 'table' for a local file or folder; DataError otherwise."""
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".conllu":
            return "conllu"
        if suffix in (".csv", ".tsv"):
            return "table"
        raise DataError(f"{path}: unknown file type {suffix!r}; expected .conllu, .csv or .tsv")
    if (path / "rt-polarity.pos").is_file() or (path / "rt-polarity.neg").is_file():
        return "rt-polarity"
    if (path / "train.tsv").is_file() and (path / "dev.tsv").is_file() and _is_sst2_header(path / "train.tsv"):
        return "sst2"
    if (path / "aclImdb").is_dir() or ((path / "train" / "pos").is_dir() and (path / "train" / "neg").is_dir()):
        return "imdb"
    if find_ud_split(path, "train") is not None:
        return "conllu"
    if find_table_split(path, "train") is not None:
        return "table"
    raise DataError(
        f"{path}: cannot tell the dataset format of this folder. Expected a UD treebank (*-ud-train.conllu), "
        "rt-polarity.pos/.neg, SST-2 train.tsv + dev.tsv, an aclImdb folder, or train.csv/train.tsv."
    )


def _is_sst2_header(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.readline(64).rstrip(b"\r\n") == b"sentence\tlabel"  # bounded: a file may have no newline


_FORMAT_READERS: dict[str, Callable[..., Corpus]] = {
    "conllu": load_conllu,
    "rt-polarity": load_rt_polarity,
    "sst2": load_sst2,
    "imdb": load_imdb,
    "table": load_text_table,
}
_FORMAT_TASK = {"conllu": "pos", "rt-polarity": "sentiment", "sst2": "sentiment", "imdb": "sentiment",
                "table": "sentiment"}


def load_corpus(name_or_path: str | Path, task: str | None = None, **options) -> Corpus:
    """Load a corpus by name ("generated-pos", "sst2", ...) or from a local file or folder.

    Downloaded datasets are read from the cache (`cache_dir=` option, else the default cache) and must
    have been fetched with `download_dataset(name)` first. `options` go to the reader, e.g. `seed=`,
    `n_train=` (generated), `tagset="xpos"`, `limit=` (files), `text_column=`/`label_column=` (CSV).
    With `task` given, a corpus of another task is an error.
    """
    if task is not None and task not in ("pos", "sentiment"):
        raise DataError(f"unknown task {task!r}; use 'pos' or 'sentiment'")
    key = str(name_or_path)
    cache_dir = options.pop("cache_dir", None)
    if key in _BUILT_IN:
        expected, _, make = _BUILT_IN[key]
        _check_task(key, expected, task)
        return make(**options)
    if key in DOWNLOADS:
        _check_task(key, DOWNLOADS[key].task, task)
        data_dir = cached_path(key, cache_dir)
        if data_dir is None:
            raise DataError(
                f"dataset {key!r} is not downloaded yet. Download it first with "
                f"lstm_viz.data.download_dataset({key!r}) ({DOWNLOADS[key].description})."
            )
        return _DOWNLOAD_READERS[key](data_dir, **options)
    if "\x00" in key:
        raise DataError("the dataset path contains a NUL byte, which no file name can hold; type it again")
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise DataError(
            f"{key!r} is neither a known dataset name nor an existing file or folder. "
            f"Known names: {', '.join(known_names())}."
        )
    fmt = detect_format(path)
    _check_task(str(path), _FORMAT_TASK[fmt], task)
    if fmt == "table" and path.is_file() and path.suffix.lower() == ".tsv" and _is_sst2_header(path):
        options.setdefault("label_map", {"0": "negative", "1": "positive"})  # an SST-2 file on its own
    return _FORMAT_READERS[fmt](path, **options)


def _check_task(what: str, actual: str, wanted: str | None) -> None:
    if wanted is not None and wanted != actual:
        raise DataError(f"{what} is a {actual!r} dataset, but task={wanted!r} was asked for")

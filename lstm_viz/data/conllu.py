"""CoNLL-U reader (Universal Dependencies) for part-of-speech tagging.

Format (https://universaldependencies.org/format.html): one word per line with 10 tab-separated columns
ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC; `#` comment lines; a blank line ends a sentence.
Multiword-token lines (ID `3-4`, e.g. "didn't") and empty nodes (ID `8.1`) are skipped: the tagger
sees the syntactic words, which are the units that carry UPOS/XPOS tags.
"""
from __future__ import annotations

from pathlib import Path

from .corpus import Corpus, TaggedSentence
from .errors import DataError, read_text

_TAG_COLUMN = {"upos": 3, "xpos": 4}  # 0-based column of the tag to read


def read_conllu(
    path: str | Path, tagset: str = "upos", limit: int | None = None, encoding: str = "utf-8"
) -> tuple[TaggedSentence, ...]:
    """Sentences of one CoNLL-U file: word forms and their UPOS (default) or XPOS tags.

    `limit` stops after that many sentences (quick looks at big files). Raises DataError with
    `file:line` for a wrong column count, a bad ID, a missing tag, or a file without sentences.
    """
    if tagset not in _TAG_COLUMN:
        raise DataError(f"unknown tagset {tagset!r}; use 'upos' or 'xpos'")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of sentences, got {limit}")
    path = Path(path)
    column = _TAG_COLUMN[tagset]
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start_line = 0  # line of the current sentence's first word, for error messages

    for number, line in enumerate(read_text(path, encoding).split("\n"), start=1):
        if not line.strip():
            if tokens:
                sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
                tokens, tags = [], []
                if limit is not None and len(sentences) >= limit:
                    break
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise DataError(
                f"{path}:{number}: expected 10 tab-separated CoNLL-U columns, found {len(cols)}. "
                "Is this a CoNLL-U file (columns separated by tabs, not spaces)?"
            )
        word_id = cols[0]
        if not word_id.isdigit():
            if "-" in word_id or "." in word_id:  # multiword token or empty node
                continue
            raise DataError(f"{path}:{number}: bad word ID {word_id!r}; expected 1, 2, ... or a range like 3-4")
        if int(word_id) != len(tokens) + 1:
            raise DataError(
                f"{path}:{number}: word ID {word_id} follows word {len(tokens)} (sentence starting at line "
                f"{start_line or number}); is a blank line missing between two sentences?"
            )
        tag = cols[column]
        if tag in ("", "_"):
            raise DataError(
                f"{path}:{number}: no {tagset.upper()} tag ({tag!r}) for word {cols[1]!r}. "
                + ("This treebank may not have XPOS tags; use tagset='upos'." if tagset == "xpos" else "")
            )
        if not tokens:
            start_line = number
        tokens.append(cols[1])
        tags.append(tag)
    if tokens and (limit is None or len(sentences) < limit):
        sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
    if not sentences:
        raise DataError(f"{path}: no sentences found; is it an empty or comment-only CoNLL-U file?")
    return tuple(sentences)


def find_ud_split(folder: Path, split: str) -> Path | None:
    """The treebank's `*-ud-<split>.conllu` file in `folder`, or None; several candidates are an error."""
    found = sorted(folder.glob(f"*-ud-{split}.conllu"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataError(f"{folder}: several {split} files ({names}); point to one treebank folder or file")
    return found[0] if found else None


def load_conllu(
    path: str | Path,
    tagset: str = "upos",
    limit: int | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> Corpus:
    """A pos Corpus from a UD treebank folder (`*-ud-{train,dev,test}.conllu`) or from one .conllu file.

    A folder must hold a train file; dev and test are optional (empty tuples when absent).
    A single file becomes the train split (dev and test empty): split it yourself for evaluation.
    """
    path = Path(path)
    if path.is_dir():
        files = {split: find_ud_split(path, split) for split in ("train", "dev", "test")}
        if files["train"] is None:
            raise DataError(
                f"{path}: no '*-ud-train.conllu' file in this folder. Point to a UD treebank folder "
                "(e.g. UD_English-EWT) or to a single .conllu file."
            )
    else:
        files = {"train": path, "dev": None, "test": None}
    splits = {
        split: read_conllu(file, tagset, limit, encoding) if file is not None else ()
        for split, file in files.items()
    }
    labels = sorted({tag for sentences in splits.values() for s in sentences for tag in s.tags})
    return Corpus(
        name=name or (path.name if path.is_dir() else path.stem),
        task="pos",
        train=splits["train"],
        dev=splits["dev"],
        test=splits["test"],
        labels=tuple(labels),
        source=str(path),
        notes={
            "format": "conllu",
            "tagset": tagset,
            "files": {split: str(f) for split, f in files.items() if f is not None},
        },
    )

"""Corpus and example types shared by every loader, the models and the trainer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class TaggedSentence:
    """One sentence for part-of-speech tagging: one tag per token."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LabelledText:
    """One text for classification (sentiment): one label for the whole sequence."""

    tokens: tuple[str, ...]
    label: str


Example = Union[TaggedSentence, LabelledText]


@dataclass(frozen=True)
class Corpus:
    """A dataset split into train/dev/test. `labels` is the sorted tag set (pos) or label set (sentiment)."""

    name: str
    task: str  # "pos" or "sentiment"
    train: tuple[Example, ...]
    dev: tuple[Example, ...] = ()
    test: tuple[Example, ...] = ()
    labels: tuple[str, ...] = ()
    source: str = ""  # where it came from: "built-in", a path, or a download cache path
    notes: dict = field(default_factory=dict)

    def split(self, name: str) -> tuple[Example, ...]:
        if name not in ("train", "dev", "test"):
            raise ValueError(f"unknown split {name!r}; use 'train', 'dev' or 'test'")
        return getattr(self, name)

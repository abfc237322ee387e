"""Vocabularies: token <-> index maps for words, characters and labels, stored as plain lists."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Optional, Sequence

PAD = "<pad>"  # index 0: padding positions (embedding row kept at zero)
UNK = "<unk>"  # index 1: any token not in the vocabulary


class Vocab:
    """An index for tokens. With `specials`, index 0 is `<pad>` and 1 is `<unk>`; without them (labels),
    every index is a real entry and encoding an unknown entry is an error.

    `lowercase` folds case before lookup (the stored entries are then lowercase too).
    """

    def __init__(self, itos: Sequence[str], *, specials: bool = True, lowercase: bool = False):
        itos = [str(s) for s in itos]
        if specials and itos[:2] != [PAD, UNK]:
            itos = [PAD, UNK] + [s for s in itos if s not in (PAD, UNK)]
        if len(set(itos)) != len(itos):
            dupes = sorted({s for s in itos if itos.count(s) > 1})[:5]
            raise ValueError(f"vocabulary entries must be unique; repeated: {dupes}")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(itos)}
        self.specials = specials
        self.lowercase = lowercase

    # -- building -------------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: Optional[int] = None,
        lowercase: bool = False,
    ) -> "Vocab":
        """Words seen at least `min_freq` times, most frequent first (ties alphabetical), at most
        `max_size` entries besides `<pad>`/`<unk>`."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0 or None, got {max_size}")
        counts: Counter = Counter()
        for seq in sequences:
            counts.update(t.lower() for t in seq) if lowercase else counts.update(seq)
        words = sorted((w for w, n in counts.items() if n >= min_freq and w not in (PAD, UNK)),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[:max_size]
        return cls(words, specials=True, lowercase=lowercase)

    @classmethod
    def build_chars(
        cls, sequences: Iterable[Sequence[str]], *, min_freq: int = 1, max_size: Optional[int] = None
    ) -> "Vocab":
        """Characters of the words (case kept: capitals are a strong part-of-speech cue)."""
        return cls.build((list("".join(seq)) for seq in sequences), min_freq=min_freq, max_size=max_size)

    @classmethod
    def labels(cls, labels: Iterable[str]) -> "Vocab":
        """A label/tag set without `<pad>`/`<unk>`, in the order given (a Corpus keeps them sorted)."""
        return cls(list(dict.fromkeys(labels)), specials=False)

    # -- use --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return (token.lower() if self.lowercase else token) in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocab({len(self)} entries, specials={self.specials}, lowercase={self.lowercase})"

    @property
    def pad_index(self) -> int:
        return 0 if self.specials else -1

    @property
    def unk_index(self) -> int:
        return 1 if self.specials else -1

    def index(self, token: str) -> int:
        key = token.lower() if self.lowercase else token
        i = self.stoi.get(key)
        if i is not None:
            return i
        if self.specials:
            return 1
        raise ValueError(f"unknown label {token!r}; this label set has {self.itos[:20]}")

    def encode(self, tokens: Sequence[str]) -> list[int]:
        if isinstance(tokens, str):
            raise TypeError("encode takes a sequence of tokens, not a string; split it first")
        if self.lowercase:
            tokens = [t.lower() for t in tokens]
        get = self.stoi.get
        if self.specials:
            return [get(t, 1) for t in tokens]
        return [self.index(t) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        n = len(self.itos)
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise ValueError(f"index {i} is outside this vocabulary of {n} entries")
            out.append(self.itos[i])
        return out

    # -- plain data for checkpoints ---------------------------------------------------------------------------
    def to_list(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_list(cls, itos: Sequence[str], *, lowercase: bool = False) -> "Vocab":
        """Inverse of `to_list`: a list starting with `<pad>`, `<unk>` gives a word vocabulary, else a label set."""
        itos = list(itos)
        if not all(isinstance(s, str) for s in itos):
            raise TypeError("a vocabulary list must hold strings only")
        return cls(itos, specials=itos[:2] == [PAD, UNK], lowercase=lowercase)

    def to_dict(self) -> dict:
        return {"itos": list(self.itos), "specials": self.specials, "lowercase": self.lowercase}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocab":
        if not isinstance(data, dict) or not isinstance(data.get("itos"), list):
            raise ValueError("a vocabulary must be a dict with an 'itos' list")
        if not all(isinstance(s, str) for s in data["itos"]):
            raise TypeError("a vocabulary list must hold strings only")
        return cls(data["itos"], specials=bool(data.get("specials", True)), lowercase=bool(data.get("lowercase")))

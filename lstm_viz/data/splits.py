"""Dev splits for corpora that come without one."""
from __future__ import annotations

import random
from dataclasses import replace

from .corpus import Corpus


def hold_out_dev(corpus: Corpus, fraction: float, seed: int = 0) -> Corpus:
    """A copy of `corpus` whose dev split is a seeded random `fraction` of train (for corpora without dev,
    e.g. rt-polarity), the rest staying in train. A corpus that has a dev split is returned unchanged."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"dev fraction must be in [0, 1), got {fraction}")
    if corpus.dev or fraction == 0.0:
        return corpus
    order = list(range(len(corpus.train)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(fraction * len(order)))
    dev = tuple(corpus.train[i] for i in sorted(order[:n_dev]))
    train = tuple(corpus.train[i] for i in sorted(order[n_dev:]))
    notes = {**corpus.notes, "dev": f"held out {n_dev} of {len(order)} training examples (seed {seed})"}
    return replace(corpus, train=train, dev=dev, notes=notes)

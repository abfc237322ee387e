"""The two tagged sentences of the PyTorch sequence-models tutorial ("LSTM's in Pytorch")."""
from __future__ import annotations

from .corpus import Corpus, TaggedSentence

# Exactly the tutorial's training_data: DET = determiner, NN = noun, V = verb.
TUTORIAL_SENTENCES = (
    TaggedSentence(("The", "dog", "ate", "the", "apple"), ("DET", "NN", "V", "DET", "NN")),
    TaggedSentence(("Everybody", "read", "that", "book"), ("NN", "V", "DET", "NN")),
)


def tutorial_corpus() -> Corpus:
    """The tutorial trains and evaluates on the same two sentences; dev and test repeat them."""
    return Corpus(
        name="tutorial",
        task="pos",
        train=TUTORIAL_SENTENCES,
        dev=TUTORIAL_SENTENCES,
        test=TUTORIAL_SENTENCES,
        labels=("DET", "NN", "V"),
        source="built-in",
    )

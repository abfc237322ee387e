"""Datasets: corpora, loaders, vocabularies."""
from .corpus import Corpus, Example, LabelledText, TaggedSentence
from .tutorial import TUTORIAL_SENTENCES, tutorial_corpus

__all__ = ["Corpus", "Example", "LabelledText", "TaggedSentence", "TUTORIAL_SENTENCES", "tutorial_corpus"]

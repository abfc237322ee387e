"""The built-in teaching models: what each is, where its checkpoint lives, what data it was measured on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"  # shipped with the package (package data)


@dataclass(frozen=True)
class BuiltinSpec:
    key: str  # stable identifier (file stem, URL value)
    title: str  # what the model picker shows
    kind: str  # "word": a ModelSubject over words; "char": a character model over code
    description: str  # one line for the picker's help and the home page
    data_note: str  # the data and its licence, shown next to the model

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.key}.pt"


BUILTINS: tuple[BuiltinSpec, ...] = (
    BuiltinSpec("tutorial-tagger", "Tutorial tagger (built-in)", "word",
                "The PyTorch sequence-models tutorial: a 6-unit LSTM tagging DET/NN/V on two sentences.",
                "Data: the two sentences of the PyTorch tutorial (BSD licence)."),
    BuiltinSpec("ewt-pos-lstm", "POS tagger, UD English-EWT (built-in)", "word",
                "A BiLSTM part-of-speech tagger (17 UPOS tags) trained on UD English-EWT.",
                "Data: Universal Dependencies English Web Treebank v2.16, CC BY-SA 4.0 "
                "(https://universaldependencies.org); the model is a derived work under the same licence."),
    BuiltinSpec("sst2-sentiment-lstm", "Sentiment, SST-2 (built-in)", "word",
                "An LSTM sentiment classifier (negative/positive) trained on the SST-2 phrases.",
                "Data: GLUE SST-2 (Socher et al. 2013, Stanford Sentiment Treebank); no licence stated, "
                "cite the paper."),
    BuiltinSpec("stdlib-char-lstm", "Character LSTM, Python stdlib (built-in)", "char",
                "A character-level LSTM language model trained on Python standard-library source files.",
                "Data: CPython standard-library source (PSF licence)."),
    BuiltinSpec("stdlib-char-gru", "Character GRU, Python stdlib (built-in)", "char",
                "The same character model with a GRU, trained on the same text with the same schedule.",
                "Data: CPython standard-library source (PSF licence)."),
)
BY_KEY = {spec.key: spec for spec in BUILTINS}

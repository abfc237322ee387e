"""The word-level teaching models: the tutorial tagger, a POS tagger on UD English-EWT and a sentiment
classifier on SST-2, trained with the project's own Trainer (fixed seeds, one thread: deterministic)."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from ..data.conllu import load_conllu
from ..data.corpus import Corpus
from ..data.sentiment_files import load_sst2
from ..data.tutorial import tutorial_corpus
from ..training.config import TrainConfig
from ..training.evaluation import evaluate
from ..training.models import ModelConfig, preset
from ..training.presets import TRAIN_PRESETS
from ..training.trainer import Trainer

# Where the real datasets are (the project's shared data folder); LSTM_VIZ_DATA overrides it.
DATA_ROOT = Path(os.environ.get("LSTM_VIZ_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
EXAMPLES_KEPT = 24  # test-split examples stored in the checkpoint as ready inputs (the app works without the data)
_QUIET = dict(probe_every=0, grad_norm_every=0, eval_every=0, threads=1)  # no monitoring: build speed


@dataclass(frozen=True)
class WordModelRecipe:
    key: str
    corpus: Callable[[], Corpus]  # loads the data (raises FileNotFoundError/DataError when absent)
    test_split: str  # the held-out split the accuracy is measured on
    measured_on: str  # said next to the accuracy
    model_config: ModelConfig
    train_config: TrainConfig


def ewt_corpus(root: Optional[Path] = None) -> Corpus:
    return load_conllu((root or DATA_ROOT) / "ud" / "UD_English-EWT", name="ud-english-ewt")


def sst2_corpus(root: Optional[Path] = None) -> Corpus:
    return load_sst2((root or DATA_ROOT) / "sentiment" / "sst2")


RECIPES: dict[str, WordModelRecipe] = {
    "tutorial-tagger": WordModelRecipe(
        "tutorial-tagger", tutorial_corpus, "test",
        "the tutorial's two sentences (it has no held-out data: train = test)",
        preset("tutorial"), TRAIN_PRESETS["tutorial"]),
    "ewt-pos-lstm": WordModelRecipe(
        "ewt-pos-lstm", ewt_corpus, "test", "UD English-EWT v2.16 test split (en_ewt-ud-test.conllu), UPOS",
        # a BiLSTM of 2 x 64 units over 64-d words; 8,000 words keep the file small (1 MB in float16)
        ModelConfig(task="pos", arch="lstm", embed_dim=64, hidden_size=64, bidirectional=True, max_vocab=8000,
                    min_freq=2, word_dropout=0.05),
        TrainConfig(epochs=5, batch_size=32, lr=2e-3, seed=0, **_QUIET)),
    "sst2-sentiment-lstm": WordModelRecipe(
        "sst2-sentiment-lstm", sst2_corpus, "dev",
        "GLUE SST-2 dev split (872 sentences; the test labels are not public)",
        # one direction, final state: the picture a class follows left to right
        ModelConfig(task="sentiment", arch="lstm", embed_dim=64, hidden_size=64, max_vocab=10000, min_freq=2,
                    word_dropout=0.05),
        TrainConfig(epochs=3, batch_size=64, lr=2e-3, seed=0, **_QUIET)),
}


def example_rows(corpus: Corpus, split: str, n: int = EXAMPLES_KEPT) -> list[dict]:
    """The first n examples of a split of 3 to 30 tokens, as plain data (tokens and tags or label)."""
    rows = []
    for ex in corpus.split(split):
        if 3 <= len(ex.tokens) <= 30:
            target = list(ex.tags) if hasattr(ex, "tags") else ex.label
            rows.append({"tokens": list(ex.tokens), "target": target})
        if len(rows) == n:
            break
    return rows


def train_word_model(recipe: WordModelRecipe, log=print):
    """-> (model in eval mode, encoder, metrics, corpus). The accuracy is measured after rounding to float16."""
    from .build import round_to_float16

    corpus = recipe.corpus()
    log(f"{recipe.key}: {len(corpus.train):,} training examples")
    trainer = Trainer(recipe.model_config, recipe.train_config, corpus)
    trainer.run()
    if trainer.error is not None:
        raise RuntimeError(f"{recipe.key}: training failed: {trainer.error}")
    model = trainer.model.cpu().eval()
    round_to_float16(model)
    result = evaluate(model, corpus.split(recipe.test_split), trainer.encoder)
    metrics = {"test_accuracy": result.accuracy, "test_loss": result.loss, "test_count": result.count,
               "test_split": recipe.test_split, "measured_on": recipe.measured_on, "steps": trainer.step}
    return model, trainer.encoder, metrics, corpus


def recipe_train_config(recipe: WordModelRecipe) -> dict:
    return asdict(recipe.train_config)

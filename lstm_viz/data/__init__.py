"""Datasets: built-in and downloaded corpora, readers for CoNLL-U, sentiment files and CSV/TSV, vocabularies,
batching into padded index tensors, and dev splits."""
from .conllu import load_conllu, read_conllu
from .corpus import Corpus, Example, LabelledText, TaggedSentence
from .download import DOWNLOADS, default_cache_dir, download_dataset
from .errors import DataError
from .generated import generated_pos_corpus, generated_sentiment_corpus
from .registry import DatasetInfo, list_datasets, load_corpus
from .sentiment_files import load_imdb, load_rt_polarity, load_sst2, tokenize
from .text_tables import load_text_table
from .tutorial import TUTORIAL_SENTENCES, tutorial_corpus
from .vocab import Vocab

__all__ = [
    "Corpus", "Example", "LabelledText", "TaggedSentence", "TUTORIAL_SENTENCES", "tutorial_corpus",
    "DataError", "DatasetInfo", "DOWNLOADS", "default_cache_dir", "download_dataset", "generated_pos_corpus",
    "generated_sentiment_corpus", "list_datasets", "load_conllu", "load_corpus", "load_imdb",
    "load_rt_polarity", "load_sst2", "load_text_table", "read_conllu", "tokenize", "Vocab",
]

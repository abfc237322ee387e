"""Skip-gram word vectors from unlabelled text (lstm_viz/data/word_vectors.py) and `train --vectors-from`."""
from __future__ import annotations

import random

import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.data.vocab import Vocab
from lstm_viz.data.word_vectors import embedding_rows, skipgram_pairs, train_skipgram

pytestmark = pytest.mark.timeout(240)


def _two_topics(n: int = 600, seed: int = 0) -> list[list[str]]:
    """Sentences about food or about cars: a word's neighbours come from its own topic only."""
    rng = random.Random(seed)
    topics = [["apple", "bread", "cheese", "soup", "salad"], ["engine", "wheel", "brake", "tyre", "gearbox"]]
    fillers = {0: ["tasty", "cooked", "fresh"], 1: ["fast", "repaired", "rusty"]}
    texts = []
    for i in range(n):
        t = i % 2
        texts.append([rng.choice(topics[t] + fillers[t]) for _ in range(8)])
    return texts


def test_words_that_share_contexts_get_closer_vectors():
    vectors = train_skipgram(_two_topics(), 16, epochs=3, window=2, batch_size=256, lr=0.01,
                             subsample=1.0, seed=0)
    food, cars = ["apple", "bread", "cheese", "soup", "salad"], ["engine", "wheel", "brake", "tyre", "gearbox"]
    assert all(abs(float(v.norm()) - 1.0) < 1e-5 for v in vectors.values())  # unit length

    def cos(a, b):
        return float(vectors[a] @ vectors[b])
    within = sum(cos(a, b) for group in (food, cars) for a in group for b in group if a != b) / 40
    across = sum(cos(a, b) for a in food for b in cars) / 25
    assert within > across + 0.5, (within, across)


def test_skipgram_pairs_stay_within_the_window_and_go_both_ways():
    ids = [torch.arange(10)]
    keep = torch.ones(10)
    c, x = skipgram_pairs(ids, keep, 3, torch.Generator().manual_seed(1))
    assert len(c) == len(x) > 0 and bool(((c - x).abs() <= 3).all()) and bool((c != x).all())
    pairs = set(zip(c.tolist(), x.tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert {(i, i + 1) for i in range(9)} <= pairs  # offset 1 is always used
    empty = skipgram_pairs([torch.tensor([4])], keep, 3, torch.Generator().manual_seed(1))
    assert len(empty[0]) == 0


def test_embedding_rows_take_the_vectors_scaled_and_leave_pad_zero():
    vocab = Vocab(["good", "bad", "rare"])  # <pad>, <unk>, good, bad, rare
    vectors = {"good": torch.tensor([1.0, 0.0]), "bad": torch.tensor([0.0, 1.0]), "other": torch.tensor([1.0, 1.0])}
    weights, found = embedding_rows(vocab, vectors, 2, scale=6.0, seed=0)
    assert weights.shape == (5, 2) and found == 2
    assert torch.equal(weights[0], torch.zeros(2))
    assert torch.equal(weights[2], torch.tensor([6.0, 0.0])) and torch.equal(weights[3], torch.tensor([0.0, 6.0]))
    assert 0 < float(weights[4].norm()) < 4  # a small random row for a word without a vector
    with pytest.raises(ValueError, match="3 values"):
        embedding_rows(vocab, {"good": torch.ones(3)}, 2)


def test_train_with_vectors_from_another_dataset(tmp_path, capsys):
    """The embedding a run starts from is the skip-gram one: with no training steps, the saved embedding rows of
    words seen in the other text are 6 x unit vectors."""
    out = tmp_path / "v.pt"
    code = main(["train", "--data", "generated-sentiment", "--limit", "200", "--vectors-from", "generated-sentiment",
                 "--embed", "16", "--hidden", "8", "--epochs", "1", "--max-steps", "1", "--lr", "1e-9",
                 "--threads", "1", "--json", "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    state = torch.load(out, weights_only=True)
    weights = next(v for k, v in state["state_dict"].items() if k == "embedding.weight")
    norms = weights[2:].norm(dim=1)
    assert torch.allclose(norms[norms > 3], torch.full_like(norms[norms > 3], 6.0), atol=1e-3)
    assert (norms > 3).float().mean() > 0.9  # nearly every training word has a vector


def test_vectors_from_a_missing_dataset_is_one_line_and_exit_2(capsys):
    code = main(["train", "--data", "generated-sentiment", "--limit", "50", "--vectors-from", "/no/such/text"])
    err = capsys.readouterr().err
    assert code == 2 and "/no/such/text" in err and len(err.strip().splitlines()) == 1

"""Select and match, and token drivers, over a corpus: planted patterns must be found, every one of them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_viz.analysis.corpus_match import CorpusActivations, find_matches, match_selection, select_units
from lstm_viz.analysis.corpus_recording import corpus_activations, trace_corpus
from lstm_viz.analysis.saturation import saturation
from lstm_viz.analysis.token_drivers import (
    co_cluster, default_clusters, token_unit_means, top_tokens_per_unit, top_units_per_token)

VOCAB = ("<pad>", "<unk>", "the", "cat", "sat", "on", "mat", "zebra", "a", "dog", "ran", "far")
ZEBRA = VOCAB.index("zebra")


def random_sequences(rng, n, vocab_size, plant=None):
    """n sequences of random ids (never 0 or ZEBRA); `plant` inserts that id pattern at random places."""
    ordinary = [i for i in range(2, vocab_size) if i != ZEBRA]
    seqs = []
    for _ in range(n):
        seq = list(rng.choice(ordinary, size=rng.integers(3, 20)))
        if plant is not None and rng.random() < 0.3:
            at = int(rng.integers(0, len(seq) + 1))
            seq[at:at] = plant
        seqs.append(seq)
    return seqs


def synthetic_corpus(seqs, units=16, fire=(3, 7), seed=0):
    """Noise in [-0.5, 0.5] everywhere; units `fire` at 0.9 on every step of a planted ZEBRA run."""
    rng = np.random.default_rng(seed)
    ids = np.concatenate([np.asarray(s) for s in seqs])
    values = rng.uniform(-0.5, 0.5, size=(ids.size, units)).astype(np.float32)
    for u in fire:
        values[ids == ZEBRA, u] = 0.9
    seq = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    pos = np.concatenate([np.arange(len(s)) for s in seqs])
    return CorpusActivations(values, seq, pos, ids, VOCAB)


def planted_spans(corpus, length):
    """(start, stop) of every planted run of ZEBRA."""
    is_z = corpus.token_ids == ZEBRA
    starts = np.flatnonzero(is_z & ~np.r_[False, is_z[:-1] & (corpus.sequence[1:] == corpus.sequence[:-1])])
    return {(int(s), int(s) + length) for s in starts}


def test_select_and_match_finds_every_planted_span():
    rng = np.random.default_rng(0)
    corpus = synthetic_corpus(random_sequences(rng, 400, len(VOCAB), plant=[ZEBRA] * 3))
    planted = planted_spans(corpus, 3)
    assert len(planted) > 50
    first = min(planted)
    units, matches = match_selection(corpus, *first, threshold=0.6, top=1000)
    assert units.tolist() == [3, 7]
    assert {(m.start, m.stop) for m in matches} == planted - {first}
    for m in matches:
        assert m.tokens == ("zebra",) * 3 and m.on_fraction == 1.0 and m.score == 1.0
        assert m.heatmap.shape == (len(m.left) + 3 + len(m.right), 2)
        assert corpus.sequence[m.start] == m.sequence and corpus.position[m.start] == m.position


def test_a_unit_and_threshold_ranks_partial_matches_lower():
    rng = np.random.default_rng(1)
    corpus = synthetic_corpus(random_sequences(rng, 300, len(VOCAB), plant=[ZEBRA] * 2))
    corpus.values[corpus.token_ids == ZEBRA, 7] = 0.0  # unit 7 no longer fires
    matches = find_matches(corpus, [3, 7], 0.6, length=2, min_fraction=0.5, top=1000)
    assert {(m.start, m.stop) for m in matches} == planted_spans(corpus, 2)
    assert all(m.on_fraction == 0.5 for m in matches)
    one = find_matches(corpus, 3, 0.6, top=1000)
    assert {(m.start, m.stop) for m in one} == planted_spans(corpus, 2)
    assert find_matches(corpus, [3, 7], 0.6, top=1000) == []


def test_ranking_prefers_the_selected_length_and_specific_spans():
    seqs = [[2, ZEBRA, ZEBRA, 3], [2, ZEBRA, 3, 4], [ZEBRA, ZEBRA, ZEBRA, ZEBRA, 5]]
    corpus = synthetic_corpus(seqs, units=4, fire=(0,))
    corpus.values[:, 1:] = -1.0
    ranked = find_matches(corpus, [0], 0.6, length=2)
    assert [(m.sequence, m.length) for m in ranked] == [(0, 2), (2, 4), (1, 1)]  # equal scores: longer first
    assert ranked[0].score == 1.0 and ranked[1].score == 0.5 and ranked[2].score == 0.5
    assert ranked[0].left == ("the",) and ranked[0].right == ("cat",)
    corpus.values[corpus.sequence == 2, 1] = 0.9  # unit 1 also on there: less specific
    ranked = find_matches(corpus, [0], 0.6, length=2)
    assert [(m.sequence, m.length) for m in ranked] == [(0, 2), (1, 1), (2, 4)]
    assert ranked[2].extra_units == 1.0 and ranked[1].extra_units == 0.0


def test_matches_never_cross_a_sequence_boundary():
    corpus = synthetic_corpus([[2, ZEBRA], [ZEBRA, 3]], units=2, fire=(0,))
    assert [(m.start, m.stop) for m in find_matches(corpus, [0], 0.6)] in ([(1, 2), (2, 3)], [(2, 3), (1, 2)])


def test_bad_selections_name_what_is_wrong():
    corpus = synthetic_corpus([[2, ZEBRA, 3]], units=4, fire=(0,))
    with pytest.raises(ValueError, match=r"units \[4\] out of range: the corpus has units 0..3"):
        find_matches(corpus, [4], 0.5)
    with pytest.raises(ValueError, match="no unit is above 5"):
        match_selection(corpus, 0, 2, threshold=5.0)
    with pytest.raises(ValueError, match="not inside the corpus rows 0..2"):
        select_units(corpus, 2, 9, 0.5)


def planted_lstm():
    """An LSTM whose unit 2 fires (h ~ 0.76) on ZEBRA and stays near 0 elsewhere: x[0] = 10 only for ZEBRA."""
    torch.manual_seed(0)
    emb = torch.randn(len(VOCAB), 4) * 0.1
    emb[:, 0] = 0.0
    emb[ZEBRA, 0] = 1.0
    lstm = torch.nn.LSTM(4, 5, batch_first=True).eval()
    H, u = 5, 2
    with torch.no_grad():
        for gate in range(4):
            row = gate * H + u
            lstm.weight_hh_l0[row] = 0.0
            lstm.weight_ih_l0[row] = 0.0
            lstm.weight_ih_l0[row, 0] = 10.0
            lstm.bias_ih_l0[row] = 0.0
            lstm.bias_hh_l0[row] = 0.0
        lstm.bias_ih_l0[1 * H + u] = -10.0  # forget gate closed: nothing carried over
        lstm.weight_ih_l0[1 * H + u, 0] = 0.0
    return lstm, emb


def test_a_recorded_model_unit_that_fires_on_a_token_is_found_everywhere():
    rng = np.random.default_rng(3)
    seqs = random_sequences(rng, 200, len(VOCAB), plant=[ZEBRA])
    lstm, emb = planted_lstm()
    batches = list(trace_corpus(lstm, emb, seqs, batch_size=32))
    corpus = corpus_activations(batches, VOCAB, "hidden")
    assert corpus.values.shape == (sum(map(len, seqs)), 5)
    matches = find_matches(corpus, [2], 0.5, top=10_000)
    want = {(int(r), int(r) + 1) for r in np.flatnonzero(corpus.token_ids == ZEBRA)}
    assert len(want) > 30 and {(m.start, m.stop) for m in matches} == want
    table = token_unit_means(corpus, min_count=1)
    assert top_tokens_per_unit(table, 2, k=1)[0][0] == "zebra"
    assert top_units_per_token(table, "zebra", k=1)[0][0] == 2
    sat = saturation([tr for tr, _ in batches])  # the same batches feed the corpus saturation
    assert sat.n_steps == corpus.values.shape[0]


def test_token_means_are_plain_means_and_co_clusters_pair_tokens_with_their_units():
    rng = np.random.default_rng(4)
    seqs = [list(rng.integers(2, 12, size=15)) for _ in range(300)]
    ids = np.concatenate(seqs)
    units = 12
    values = rng.normal(0, 0.05, size=(ids.size, units)).astype(np.float32)
    groups = {0: [2, 3, 4], 1: [5, 6, 7], 2: [8, 9, 10, 11]}  # unit block b fires on token group b
    for b, toks in groups.items():
        values[np.isin(ids, toks), 4 * b:4 * b + 4] += 1.0
    corpus = CorpusActivations(values, np.repeat(np.arange(300), 15), np.tile(np.arange(15), 300), ids, VOCAB)
    table = token_unit_means(corpus, min_count=1)
    for tok in ("cat", "dog"):
        i = VOCAB.index(tok)
        np.testing.assert_allclose(table.means[table.tokens.index(tok)], values[ids == i].mean(axis=0), atol=1e-6)
    clusters = co_cluster(table, n_clusters=3)
    for b, toks in groups.items():
        unit_labels = set(clusters.unit_cluster[4 * b:4 * b + 4].tolist())
        token_labels = {int(clusters.token_cluster[table.tokens.index(VOCAB[t])]) for t in toks}
        assert len(unit_labels) == 1 and token_labels == unit_labels
    assert default_clusters(256, 500) == 10 and default_clusters(16, 500) == 3
    with pytest.raises(ValueError, match="token '<unk>' is not among"):
        top_units_per_token(table, "<unk>")

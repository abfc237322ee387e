"""Which tokens drive which units (RNNVis, Ming et al. 2017): mean activation of every unit per token over a
corpus, top tokens per unit, top units per token, and a spectral co-clustering of units and tokens.

Co-clustering follows Dhillon (2001): the bipartite graph of tokens and units with edge weights |mean
activation| is normalised (D1^-1/2 A D2^-1/2), its leading singular vectors embed tokens and units in one
space, and k-means there puts tokens together with the units they drive. numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .corpus_match import CorpusActivations


@dataclass(frozen=True, eq=False)
class TokenUnitMeans:
    """Mean activation per (token, unit) over every occurrence of the token in the corpus."""

    means: np.ndarray  # float64 [V', U]: kept tokens only
    counts: np.ndarray  # int64 [V']: occurrences of each kept token
    tokens: tuple[str, ...]  # [V'] the kept tokens, most frequent first
    name: str  # gate or state the activations are


def token_unit_means(corpus: CorpusActivations, min_count: int = 5, max_tokens: Optional[int] = 500
                     ) -> TokenUnitMeans:
    """Mean activation matrix of the `max_tokens` most frequent tokens seen at least `min_count` times."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1; got {min_count}")
    V = len(corpus.vocabulary)
    counts = np.bincount(corpus.token_ids, minlength=V)
    keep = np.flatnonzero(counts >= min_count)
    keep = keep[np.argsort(-counts[keep], kind="stable")]
    if max_tokens is not None:
        keep = keep[:max_tokens]
    if keep.size == 0:
        raise ValueError(f"no token occurs at least {min_count} times in the corpus "
                         f"({corpus.values.shape[0]:,} steps); lower min_count or use a larger corpus")
    # sums of the kept tokens' rows as one sparse [V', N] x dense [N, U] product (float32 accumulation)
    row_of = np.full(V, -1)
    row_of[keep] = np.arange(keep.size)
    token_row = row_of[corpus.token_ids]  # [N]: row of the kept token at each step, -1 if not kept
    steps = np.flatnonzero(token_row >= 0)
    pick = torch.sparse_coo_tensor(torch.from_numpy(np.stack([token_row[steps], steps])),
                                   torch.ones(steps.size), (keep.size, corpus.values.shape[0]),
                                   check_invariants=False)
    sums = torch.sparse.mm(pick, torch.from_numpy(np.ascontiguousarray(corpus.values, dtype=np.float32)))
    means = sums.double().numpy() / counts[keep, None]
    return TokenUnitMeans(means, counts[keep].astype(np.int64), tuple(corpus.vocabulary[i] for i in keep),
                          corpus.name)


def top_tokens_per_unit(table: TokenUnitMeans, unit: int, k: int = 10, negative: bool = False
                        ) -> list[tuple[str, float, int]]:
    """(token, mean activation, count) of the k tokens with the highest (lowest if negative) mean for `unit`."""
    units = table.means.shape[1]
    if not 0 <= unit < units:
        raise ValueError(f"unit {unit} does not exist; the corpus has units 0..{units - 1}")
    col = table.means[:, unit]
    order = np.argsort(col if negative else -col, kind="stable")[:k]
    return [(table.tokens[i], float(col[i]), int(table.counts[i])) for i in order]


def top_units_per_token(table: TokenUnitMeans, token: str, k: int = 10, negative: bool = False
                        ) -> list[tuple[int, float]]:
    """(unit, mean activation) of the k units with the highest (lowest) mean on `token`."""
    try:
        row = table.means[table.tokens.index(token)]
    except ValueError:
        raise ValueError(f"token {token!r} is not among the {len(table.tokens)} tokens counted "
                         "(too rare, or not in the corpus)") from None
    order = np.argsort(row if negative else -row, kind="stable")[:k]
    return [(int(u), float(row[u])) for u in order]


@dataclass(frozen=True, eq=False)
class CoClusters:
    token_cluster: np.ndarray  # int64 [V']: cluster of each kept token
    unit_cluster: np.ndarray  # int64 [U]: cluster of each unit
    n_clusters: int
    tokens: tuple[str, ...]

    def members(self, cluster: int) -> tuple[list[str], list[int]]:
        """Tokens and units of one cluster."""
        return ([t for t, c in zip(self.tokens, self.token_cluster) if c == cluster],
                np.flatnonzero(self.unit_cluster == cluster).tolist())


def default_clusters(units: int, tokens: int) -> int:
    """About sqrt(units / 2), between 2 and 10 (RNNVis shows a handful of clusters), never above the smaller side."""
    return int(max(2, min(10, round(np.sqrt(units / 2)), units, tokens)))


def _kmeans(points: np.ndarray, k: int, seed: int, iterations: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding. points [n, d] -> labels [n]."""
    rng = np.random.default_rng(seed)
    n = points.shape[0]
    centres = [points[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centres.append(points[rng.choice(n, p=d2 / total)] if total > 0 else points[rng.integers(n)])
    centres = np.array(centres)
    labels = np.zeros(n, dtype=np.int64)
    for step in range(iterations):
        dist = ((points[:, None, :] - centres[None]) ** 2).sum(-1)  # [n, k]
        new = dist.argmin(axis=1)
        if step and np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            if np.any(labels == c):
                centres[c] = points[labels == c].mean(axis=0)
    return labels


def co_cluster(table: TokenUnitMeans, n_clusters: Optional[int] = None, seed: int = 0) -> CoClusters:
    """Spectral co-clustering of tokens and units on |mean activation| (Dhillon 2001)."""
    A = np.abs(table.means) + 1e-12  # [V', U], strictly positive so every node has a degree
    V, U = A.shape
    k = default_clusters(U, V) if n_clusters is None else int(n_clusters)
    if not 2 <= k <= min(U, V):
        raise ValueError(f"n_clusters must be in 2..{min(U, V)} (the smaller of {V} tokens and {U} units); got {k}")
    d1, d2 = 1 / np.sqrt(A.sum(axis=1)), 1 / np.sqrt(A.sum(axis=0))
    # 500 x 256 takes 0.2 s on one thread; on an overloaded machine OpenBLAS' spinning threads can make it seconds
    left, _, right_t = np.linalg.svd(d1[:, None] * A * d2[None, :], full_matrices=False)
    dims = max(1, int(np.ceil(np.log2(k))))
    z = np.vstack([d1[:, None] * left[:, 1:dims + 1], d2[:, None] * right_t[1:dims + 1].T])  # [V'+U, dims]
    labels = _kmeans(z, k, seed)
    return CoClusters(labels[:V], labels[V:], k, table.tokens)

"""Word vectors from unlabelled text: skip-gram with negative sampling (Mikolov et al. 2013), trained here in a
few CPU-minutes, for starting a model's word embeddings where no pretrained vectors can be downloaded (e.g. the
IMDB sample's reviews for sentence polarity: movie-review text, its labels unused)."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import torch
import torch.nn.functional as F

from .vocab import Vocab


def skipgram_pairs(ids: Sequence[torch.Tensor], keep: torch.Tensor, window: int,
                   rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(center, context) index pairs [N], [N] of one epoch: frequent words dropped with probability 1 - keep[w]
    (word2vec's subsampling), each offset d <= window used with probability (window - d + 1) / window
    (word2vec's shrinking window), both directions."""
    centers, contexts = [], []
    for text in ids:
        text = text[torch.rand(len(text), generator=rng) < keep[text]]
        for offset in range(1, min(window, len(text) - 1) + 1):
            use = torch.rand(len(text) - offset, generator=rng) < (window - offset + 1) / window
            left, right = text[:-offset][use], text[offset:][use]
            centers += [left, right]
            contexts += [right, left]
    if not centers:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    return torch.cat(centers), torch.cat(contexts)


def train_skipgram(texts: Sequence[Sequence[str]], dim: int, *, epochs: int = 3, window: int = 5,
                   negatives: int = 5, min_count: int = 3, batch_size: int = 4096, lr: float = 3e-3,
                   subsample: float = 1e-4, seed: int = 0) -> dict[str, torch.Tensor]:
    """word -> vector [dim] (unit length) for each word seen at least `min_count` times in `texts`
    (lists of tokens). Sparse Adam on the center and context embeddings, `negatives` noise words per pair drawn
    from the unigram distribution to the power 3/4. A word making up a share p > `subsample` of the text is kept
    with probability sqrt(subsample / p) + subsample / p (word2vec's rule; 1: keep all).
    Deterministic for a seed (with torch threads fixed)."""
    if dim < 1 or epochs < 1 or window < 1 or negatives < 1 or min_count < 1:
        raise ValueError("dim, epochs, window, negatives and min_count must be >= 1")
    counts = Counter(w for text in texts for w in text)
    words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    if len(words) < 2:
        raise ValueError(f"too little text for word vectors: {len(words)} words seen {min_count}+ times")
    index = {w: i for i, w in enumerate(words)}
    freq = torch.tensor([counts[w] for w in words], dtype=torch.float)  # [V]
    ratio = subsample * freq.sum() / freq
    keep = (ratio.sqrt() + ratio).clamp(max=1.0)  # [V]
    noise = freq.pow(0.75)
    ids = [torch.tensor([index[w] for w in text if w in index], dtype=torch.long) for text in texts]
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        center = torch.nn.Embedding(len(words), dim, sparse=True)
        context = torch.nn.Embedding(len(words), dim, sparse=True)
    with torch.no_grad():
        center.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=rng)
        context.weight.zero_()
    optimizer = torch.optim.SparseAdam([center.weight, context.weight], lr=lr)
    for _ in range(epochs):
        c, x = skipgram_pairs(ids, keep, window, rng)
        order = torch.randperm(len(c), generator=rng)
        c, x = c[order], x[order]
        for start in range(0, len(c), batch_size):
            cb, xb = c[start:start + batch_size], x[start:start + batch_size]  # [B], [B]
            noise_ids = torch.multinomial(noise, len(cb) * negatives, replacement=True, generator=rng)
            v = center(cb)  # [B, D]
            positive = (v * context(xb)).sum(-1)  # [B]
            negative = torch.bmm(context(noise_ids.view(len(cb), negatives)), v.unsqueeze(2)).squeeze(2)  # [B, K]
            loss = -(F.logsigmoid(positive).mean() + F.logsigmoid(-negative).sum(1).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    vectors = F.normalize(center.weight.detach(), dim=1)  # [V, D]
    return {w: vectors[i] for i, w in enumerate(words)}


def embedding_rows(vocab: Vocab, vectors: dict[str, torch.Tensor], dim: int, *, scale: float = 6.0,
                   seed: int = 0) -> tuple[torch.Tensor, int]:
    """[len(vocab), dim] weights for a model's embedding: `scale` * the word's unit vector where `vectors` has it,
    else a small random row (as `load_glove` gives words missing from a file); `<pad>` zero. Also how many
    vocabulary words were found. The default scale puts components near the size of torch's N(0, 1) init
    (~0.5 for 128 dimensions), so Adam's first steps do not wash the vectors out."""
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn(len(vocab), dim, generator=gen) / dim ** 0.5
    found = 0
    for i, word in enumerate(vocab.itos[2:], start=2):
        vec = vectors.get(word)
        if vec is not None:
            if vec.shape != (dim,):
                raise ValueError(f"word vectors have {vec.numel()} values, the embedding needs {dim}")
            weights[i] = scale * vec
            found += 1
    weights[0] = 0.0
    return weights, found


def skipgram_embedding(texts: Sequence[Sequence[str]], vocab: Vocab, dim: int, *, seed: int = 0) -> torch.Tensor:
    """A model's embedding weights [len(vocab), dim] started from skip-gram vectors trained on `texts` (folded to
    lowercase for a lowercase vocabulary)."""
    if vocab.lowercase:
        texts = [[t.lower() for t in text] for text in texts]
    return embedding_rows(vocab, train_skipgram(texts, dim, seed=seed), dim, seed=seed)[0]

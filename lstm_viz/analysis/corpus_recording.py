"""Record a recurrent module over a whole corpus of token-id sequences, batch by batch, and flatten one gate or
state into a `CorpusActivations` for select-and-match and token drivers (the traces also feed `saturation`)."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ..record.results import Trace
from ..record.tracing import trace
from .corpus_match import CorpusActivations
from .trace_access import check_index, values

MAX_CORPUS_STEPS = 5_000_000  # token steps recorded at most (5M x 256 float32 units = 5 GB)


def trace_corpus(module: nn.Module, embedding_weight: torch.Tensor, sequences: Sequence[Sequence[int]],
                 batch_size: int = 64) -> Iterator[tuple[Trace, list[Sequence[int]]]]:
    """Yield (trace, the batch's id sequences) for consecutive batches of `sequences` (lists of token ids).

    Sequences are embedded with `embedding_weight [V, F]` and run with lengths, in the module's layout.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    weight = embedding_weight.detach()
    total = sum(len(s) for s in sequences)
    if total > MAX_CORPUS_STEPS:
        raise ValueError(f"the corpus has {total:,} token steps; at most {MAX_CORPUS_STEPS:,} are recorded. "
                         "Use fewer or shorter sequences")
    for start in range(0, len(sequences), batch_size):
        batch = [list(s) for s in sequences[start:start + batch_size]]
        if any(len(s) == 0 for s in batch):
            raise ValueError("a sequence is empty; drop empty sequences before recording")
        lengths = torch.tensor([len(s) for s in batch])
        ids = torch.zeros(len(batch), int(lengths.max()), dtype=torch.int64)  # [B, T], padding id 0
        for b, seq in enumerate(batch):
            ids[b, : len(seq)] = torch.as_tensor(seq)
        x = weight[ids]  # [B, T, F]
        if not getattr(module, "batch_first", False):
            x = x.transpose(0, 1)
        yield trace(module, x, lengths=lengths), batch


def corpus_activations(batches, vocabulary: Sequence[str], name: str = "hidden", layer: int = -1,
                       direction: int = 0) -> CorpusActivations:
    """Flatten the valid steps of (trace, id sequences) batches into one `CorpusActivations`.

    layer -1 is the top layer; name is a gate ("f", ...) or "hidden" / "cell"."""
    chunks, seq_ids, positions, token_ids = [], [], [], []
    next_seq = 0
    for tr, batch in batches:
        lay = check_index("layer", layer, tr.num_layers)
        d = check_index("direction", direction, tr.num_directions)
        v = values(tr, name)[lay, d]  # [B, T, U]
        mask = tr.mask  # [B, T]
        chunks.append(v[mask].to(torch.float32).numpy())
        lengths = tr.lengths.tolist()
        seq_ids.append(np.repeat(np.arange(next_seq, next_seq + len(lengths)), lengths))
        positions.append(np.concatenate([np.arange(n) for n in lengths]))
        token_ids.append(np.concatenate([np.asarray(s, dtype=np.int64) for s in batch]))
        next_seq += len(lengths)
    if not chunks:
        raise ValueError("the corpus is empty: no sequences were recorded")
    return CorpusActivations(np.concatenate(chunks), np.concatenate(seq_ids), np.concatenate(positions),
                             np.concatenate(token_ids), tuple(vocabulary), name)

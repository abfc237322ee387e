"""A Subject run over the user's corpus: every sequence traced in batches, one gate or state flattened into a
`CorpusActivations` for select-and-match and token drivers, the traces kept for saturation over the corpus.
Tokens are recorded as the model read them (`<unk>` where it read `<unk>`)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..analysis.corpus_match import CorpusActivations
from ..analysis.trace_access import check_index, values
from ..files.user_corpus import UserCorpus, encode_corpus
from ..record.results import Trace
from ..record.tracing import trace
from .page_data import Sample

MAX_RECORDED_STEPS = 1_000_000  # token steps a page records (1M x 256 float32 units = 1 GB)


@dataclass(frozen=True, eq=False)
class RecordedCorpus:
    activations: CorpusActivations
    traces: tuple[Trace, ...]  # one per batch, for saturation / dead units over the corpus
    sequences: int
    unknown: int  # tokens the model read as <unk>
    note: str  # e.g. "the first 1,000,000 token steps"


def _batches_model_subject(subject, sequences, batch_size):
    vocab = subject.encoder.vocab
    for start in range(0, len(sequences), batch_size):
        batch = sequences[start:start + batch_size]
        probe = subject.probe(batch)
        ids = [[vocab.index(t) for t in seq] for seq in batch]  # the row the model read (unk included)
        yield subject.trace(probe), ids, probe.unknown


def _batches_module_subject(subject, corpus: UserCorpus, batch_size):
    encoded = encode_corpus(corpus, subject.vocab, lowercase=subject.lowercase)
    weight = subject.embedding
    for start in range(0, len(encoded.ids), batch_size):
        ids = [list(s) for s in encoded.ids[start:start + batch_size]]
        lengths = torch.tensor([len(s) for s in ids])
        padded = torch.zeros(len(ids), int(lengths.max()), dtype=torch.int64)
        for b, seq in enumerate(ids):
            padded[b, : len(seq)] = torch.tensor(seq)
        x = weight[padded]  # [B, T, F]
        if not subject.batch_first:
            x = x.transpose(0, 1)
        yield trace(subject.module, x, lengths=lengths), ids, ()


def record_corpus(subject, corpus: UserCorpus, name: str = "hidden", layer: int = -1, direction: int = 0,
                  batch_size: int = 64, max_steps: int = MAX_RECORDED_STEPS) -> RecordedCorpus:
    """Trace `corpus` through the subject's recurrent layer and flatten `name` of one layer and direction."""
    if corpus.format == "tensor":
        raise ValueError("select-and-match needs tokens; a tensor corpus has no tokens to match on")
    sequences, total, note = [], 0, ""
    for seq in corpus.sequences:
        if total + len(seq) > max_steps:
            note = f"the first {total:,} token steps ({len(sequences):,} of {len(corpus.sequences):,} sequences)"
            break
        sequences.append(tuple(seq))
        total += len(seq)
    if hasattr(subject, "encoder"):
        batches = _batches_model_subject(subject, sequences, batch_size)
        vocabulary = tuple(subject.encoder.vocab.itos)
    elif getattr(subject, "vocab", None) is not None:
        batches = _batches_module_subject(subject, UserCorpus(corpus.name, corpus.format, tuple(sequences)),
                                          batch_size)
        vocabulary = tuple(subject.vocab)
    else:
        raise ValueError("this model has no vocabulary and embedding: load them on Inspect a model first")
    chunks, seq_ids, positions, token_ids, traces, unknown = [], [], [], [], [], set()
    next_seq = 0
    for tr, ids, unk in batches:
        lay = check_index("layer", layer, tr.num_layers)
        d = check_index("direction", direction, tr.num_directions)
        chunks.append(values(tr, name)[lay, d][tr.mask].to(torch.float32).numpy())
        lengths = tr.lengths.tolist()
        seq_ids.append(np.repeat(np.arange(next_seq, next_seq + len(lengths)), lengths))
        positions.append(np.concatenate([np.arange(n) for n in lengths]))
        token_ids.append(np.concatenate([np.asarray(s, dtype=np.int64) for s in ids]))
        traces.append(tr)
        unknown.update(unk)
        next_seq += len(lengths)
    if not chunks:
        raise ValueError(f"{corpus.name} has no sequence the model could read")
    acts = CorpusActivations(np.concatenate(chunks), np.concatenate(seq_ids), np.concatenate(positions),
                             np.concatenate(token_ids), vocabulary, name)
    unk_id = vocabulary.index("<unk>") if "<unk>" in vocabulary else -1
    return RecordedCorpus(acts, tuple(traces), next_seq, int((acts.token_ids == unk_id).sum()), note)


def match_rows(matches: Sequence) -> list[dict]:
    """Rows for a table of matches: rank, score, where, and the span in its context."""
    return [{"rank": k + 1, "score": round(m.score, 3), "sequence": m.sequence, "position": m.position,
             "length": m.length, "extra units on": round(m.extra_units, 2),
             "context": " ".join(m.left) + "  [" + " ".join(m.tokens) + "]  " + " ".join(m.right)}
            for k, m in enumerate(matches)]


def corpus_sample(subject, corpus: UserCorpus, n: int, batch_size: int = 32, seed: int = 0) -> Sample:
    """Up to `n` sequences of the user's corpus (a seeded random pick, traced in batches of similar length):
    the sample of the Saturation page when the session has a corpus. The source names the corpus."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    picked = sorted(random.Random(seed).sample(range(len(corpus.sequences)), min(n, len(corpus.sequences))))
    if corpus.format == "tensor":
        if not hasattr(subject, "probe_inputs"):
            raise ValueError(f"{corpus.name} holds embedded vectors; only a model loaded on Inspect a model "
                             "reads those")
        traces = [subject.trace(subject.probe_inputs(corpus.inputs[picked[k:k + batch_size]]))
                  for k in range(0, len(picked), batch_size)]
    else:
        part = UserCorpus(corpus.name, corpus.format, tuple(sorted((corpus.sequences[i] for i in picked), key=len)))
        if hasattr(subject, "encoder"):
            batches = _batches_model_subject(subject, part.sequences, batch_size)
        elif getattr(subject, "vocab", None) is not None:
            batches = _batches_module_subject(subject, part, batch_size)
        else:
            raise ValueError("this model has no vocabulary and embedding to read your corpus: load them on "
                             "Inspect a model first")
        traces = [tr for tr, _, _ in batches]
    n_seq = sum(int(t.lengths.numel()) for t in traces)
    n_tokens = int(sum(int(t.mask.sum()) for t in traces))
    of = f"all {n_seq:,}" if n_seq == len(corpus.sequences) else f"{n_seq:,} of the {len(corpus.sequences):,}"
    return Sample(traces, n_seq, n_tokens, f"{of} sequences of your corpus {corpus.name!r}")


RANDOM_TITLE = "Random inputs"  # how a subject's preset_inputs title its standard-normal random inputs


def prepared_sample(subject, n: int = 20) -> Sample:
    """A subject's prepared inputs (its own tensors, then random inputs) traced one by one, with a source
    that names each and says which are random numbers rather than data."""
    probes = dict(list(subject.preset_inputs(n).items())[:n])
    if not probes:
        raise ValueError("this model has no dataset and no prepared inputs to sample; add inputs on "
                         "Inspect a model")
    traces = [subject.trace(p) for p in probes.values()]
    yours = [t for t in probes if not t.startswith(RANDOM_TITLE)]
    randoms = [t for t in probes if t.startswith(RANDOM_TITLE)]
    parts = ([f"your input{'s' if len(yours) > 1 else ''} {', '.join(yours)}"] if yours else []) + \
        [f"standard-normal random numbers (not data): {t}" for t in randoms]
    n_seq = sum(int(p.lengths.numel()) for p in probes.values())
    n_tokens = int(sum(int(t.mask.sum()) for t in traces))
    return Sample(traces, n_seq, n_tokens, f"{n_seq:,} prepared sequences: " + " and ".join(parts))

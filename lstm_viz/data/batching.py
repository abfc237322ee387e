"""Turn examples into padded index tensors: encode once, then group into length-bucketed batches."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import NamedTuple, Optional, Sequence, Union

import torch

from .corpus import Example, LabelledText, TaggedSentence
from .vocab import Vocab

IGNORE_INDEX = -100  # target at padding positions; F.cross_entropy skips it


class Encoded(NamedTuple):
    """One example as indices (kept as plain lists so that batches can be re-formed each epoch)."""

    ids: list[int]  # word ids, one per token
    target: Union[list[int], int, None]  # tag ids (pos), one label id (sentiment), None (prediction)
    chars: Optional[list[list[int]]]  # char ids per word (None without char features)


@dataclass(frozen=True)
class Batch:
    tokens: torch.Tensor  # [B, T] int64 word ids, 0 (<pad>) after each sequence's length
    lengths: torch.Tensor  # [B] int64, on the CPU as pack_padded_sequence requires
    targets: Optional[torch.Tensor]  # pos: [B, T] tag ids with IGNORE_INDEX at padding; sentiment: [B]
    chars: Optional[torch.Tensor]  # [B, T, W] int64 char ids, 0-padded; None without char features
    num_tokens: int  # real (non-padding) tokens in the batch
    padded: bool  # False when every sequence fills T: the model can skip packing

    @property
    def model_lengths(self) -> Optional[torch.Tensor]:
        """What a model's `lengths` argument should get: None when no sequence is padded (faster)."""
        return self.lengths if self.padded else None

    def to(self, device: Union[str, torch.device]) -> "Batch":
        if torch.device(device) == self.tokens.device:
            return self
        def move(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
            return None if t is None else t.to(device, non_blocking=True)

        return replace(self, tokens=move(self.tokens), targets=move(self.targets), chars=move(self.chars))


@dataclass(frozen=True)
class BatchEncoder:
    """Everything needed to turn tokens into model inputs and predictions back into labels."""

    task: str  # "pos" (one tag per token) or "sentiment" (one label per text)
    vocab: Vocab  # words, with <pad>=0 and <unk>=1
    labels: Vocab  # tags or labels, no specials
    char_vocab: Optional[Vocab] = None  # characters, when the model has char features
    max_word_len: int = 20  # longer words keep their first and last 10 characters (prefix and suffix cues)

    def __post_init__(self):
        if self.task not in ("pos", "sentiment"):
            raise ValueError(f"task must be 'pos' or 'sentiment', got {self.task!r}")
        if self.labels.specials:
            raise ValueError("the label vocabulary must not have <pad>/<unk>; build it with Vocab.labels(...)")

    def _chars(self, tokens: Sequence[str]) -> list[list[int]]:
        k = self.max_word_len
        cut = [w if len(w) <= k else w[: k // 2] + w[len(w) - (k - k // 2):] for w in tokens]
        return [self.char_vocab.encode(list(w)) or [1] for w in cut]

    def encode_tokens(self, tokens: Sequence[str]) -> Encoded:
        if len(tokens) == 0:
            raise ValueError("cannot encode an empty token sequence")
        chars = self._chars(tokens) if self.char_vocab is not None else None
        return Encoded(self.vocab.encode(tokens), None, chars)

    def encode(self, example: Example) -> Encoded:
        enc = self.encode_tokens(example.tokens)
        if self.task == "pos":
            if not isinstance(example, TaggedSentence):
                raise TypeError(f"a pos model needs TaggedSentence examples, got {type(example).__name__}")
            if len(example.tags) != len(example.tokens):
                raise ValueError(f"{len(example.tokens)} tokens but {len(example.tags)} tags in {example.tokens[:8]}")
            return enc._replace(target=self.labels.encode(example.tags))
        if not isinstance(example, LabelledText):
            raise TypeError(f"a sentiment model needs LabelledText examples, got {type(example).__name__}")
        return enc._replace(target=self.labels.index(example.label))

    def encode_all(self, examples: Sequence[Example]) -> list[Encoded]:
        """Encodes every example with at least one token (empty ones cannot be fed to a recurrent layer)."""
        return [self.encode(ex) for ex in examples if len(ex.tokens)]

    def collate(self, items: Sequence[Encoded]) -> Batch:
        if not items:
            raise ValueError("cannot make a batch of no examples")
        lengths = [len(it.ids) for it in items]
        steps = max(lengths)
        tokens = torch.tensor([it.ids + [0] * (steps - len(it.ids)) for it in items], dtype=torch.long)
        targets = None
        if items[0].target is not None:
            if self.task == "pos":
                targets = torch.tensor([it.target + [IGNORE_INDEX] * (steps - len(it.target)) for it in items],
                                       dtype=torch.long)
            else:
                targets = torch.tensor([it.target for it in items], dtype=torch.long)
        chars = None
        if self.char_vocab is not None:
            width = max(len(w) for it in items for w in it.chars)
            empty = [0] * width
            chars = torch.tensor([[w + [0] * (width - len(w)) for w in it.chars] + [empty] * (steps - len(it.ids))
                                  for it in items], dtype=torch.long)
        return Batch(tokens, torch.tensor(lengths, dtype=torch.long), targets, chars,
                     num_tokens=sum(lengths), padded=min(lengths) != steps)

    def batch_tokens(self, token_lists: Sequence[Sequence[str]]) -> Batch:
        """A batch for prediction (targets None)."""
        return self.collate([self.encode_tokens(t) for t in token_lists])

    def decode(self, batch: Batch, logits: torch.Tensor) -> list:
        """Predicted tags per sentence (pos, cut to each length) or one label per text (sentiment)."""
        best = logits.argmax(-1).cpu().tolist()
        if self.task == "sentiment":
            return [self.labels.itos[i] for i in best]
        return [tuple(self.labels.itos[i] for i in row[:n]) for row, n in zip(best, batch.lengths.tolist())]


def make_batches(
    encoder: BatchEncoder,
    items: Sequence[Encoded],
    batch_size: int,
    *,
    shuffle: bool = False,
    rng: Optional[random.Random] = None,
    bucket: bool = True,
    max_tokens: Optional[int] = None,
) -> list[Batch]:
    """Group items into batches of at most `batch_size` sequences and, with `max_tokens`, at most that many
    padded tokens (batch x longest length; a longer single item still forms its own batch), which bounds
    the time of a step on long documents.

    With `bucket`, items are sorted by length inside pools of 50 batches, so a batch holds similar lengths
    (little padding) while the pools keep the order random when shuffling."""
    groups = _batch_groups(items, batch_size, shuffle, rng, bucket, max_tokens)
    return [encoder.collate([items[i] for i in g]) for g in groups]


def make_step_batches(encoder: BatchEncoder, items: Sequence[Encoded], batch_size: int, *, shuffle: bool = False,
                      rng: Optional[random.Random] = None, bucket: bool = True,
                      max_tokens: Optional[int] = None) -> list[list[Batch]]:
    """The batches `make_batches` forms without a token cap, each cut into pieces of at most `max_tokens` padded
    tokens (consecutive items: a bucketed batch is sorted by length, so its pieces pad little): one optimizer
    step per batch, its gradient accumulated over the pieces."""
    lengths = [len(it.ids) for it in items]
    return [[encoder.collate([items[i] for i in piece]) for piece in _group(group, lengths, batch_size, max_tokens)]
            for group in _batch_groups(items, batch_size, shuffle, rng, bucket, None)]


def count_batches(items: Sequence[Encoded], batch_size: int, *, bucket: bool = True,
                  max_tokens: Optional[int] = None) -> int:
    """How many batches `make_batches` forms (exact without shuffling; with shuffling, `max_tokens` can cut
    the shuffled pools into a few more or fewer batches)."""
    return len(_batch_groups(items, batch_size, False, None, bucket, max_tokens))


def _batch_groups(items: Sequence[Encoded], batch_size: int, shuffle: bool, rng: Optional[random.Random],
                  bucket: bool, max_tokens: Optional[int]) -> list[list[int]]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1 or None, got {max_tokens}")
    order = list(range(len(items)))
    if shuffle:
        (rng or random.Random(0)).shuffle(order)
    if bucket and batch_size > 1:
        pool = batch_size * 50
        order = [i for s in range(0, len(order), pool)
                 for i in sorted(order[s: s + pool], key=lambda j: len(items[j].ids))]
    groups = _group(order, [len(it.ids) for it in items], batch_size, max_tokens)
    if shuffle and bucket and batch_size > 1:
        (rng or random.Random(0)).shuffle(groups)
    return groups


def _group(order: list[int], lengths: list[int], batch_size: int, max_tokens: Optional[int]) -> list[list[int]]:
    """Consecutive runs of `order` with <= batch_size items and <= max_tokens padded tokens each."""
    if max_tokens is None:
        return [order[s: s + batch_size] for s in range(0, len(order), batch_size)]
    groups: list[list[int]] = []
    group: list[int] = []
    longest = 0
    for i in order:
        grown = max(longest, lengths[i])
        if group and (len(group) == batch_size or (len(group) + 1) * grown > max_tokens):
            groups.append(group)
            group, grown = [], lengths[i]
        group.append(i)
        longest = grown
    if group:
        groups.append(group)
    return groups


"""A `Subject` is what the analysis views look at: a recurrent layer plus a way to turn text into its inputs.

- `ModelSubject`: one of our Tagger/Classifier models with its BatchEncoder (and the corpus it learned from).
- `ModuleSubject` (in `lstm_viz.inspect_subject`): a user's own recurrent module with an optional vocabulary
  and embedding.

Both give `probe(token_lists) -> AnalysisInput` (the exact inputs the recurrent layer receives), `trace(probe)`,
`predict(token_lists)` and `loss_fn(probe)` for `gradient_flow`. Subjects switch a model to eval mode only
for the length of one call; give them a model that is not being trained (a copy of a running run's model).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batching import BatchEncoder
from ..data.corpus import Corpus, Example
from ..data.sentiment_files import tokenize as sentiment_tokenize
from ..files.inputs import InputError  # noqa: F401 - one error type for text and inputs; pages import it from here
from ..record.tracing import trace
from ..record.results import Trace
from ..training.evaluation import predict
from ..training.modes import eval_mode

MAX_TOKENS = 2000  # longer texts are cut (with a note): beyond this a heatmap is unreadable anyway
_POS_TOKEN_RE = re.compile(r"\w+(?:[-']\w+)*|n't|[^\w\s]")


def pos_tokenize(text: str) -> tuple[str, ...]:
    """Case-preserving word and punctuation tokens (taggers care about case: "The" vs "the")."""
    return tuple(_POS_TOKEN_RE.findall(text.replace("\u2019", "'")))


@dataclass(frozen=True)
class AnalysisInput:
    """Inputs ready for the recurrent layer, with the tokens they came from."""

    tokens: tuple[tuple[str, ...], ...]  # one tuple of tokens per sequence
    inputs: torch.Tensor  # laid out as the module expects (batch_first honoured): [B, T, F] or [T, B, F]
    lengths: torch.Tensor  # int64 [B]
    targets: Optional[tuple] = None  # gold tags per sequence (pos) or one label per sequence, when known
    note: str = ""  # e.g. "cut to the first 2000 tokens"
    unknown: tuple[str, ...] = ()  # tokens the vocabulary does not know (they map to <unk>)


class Subject(Protocol):
    """What the analysis pages need from a model; ModelSubject and the inspected-file subject both fit."""

    name: str
    task: Optional[str]  # "pos", "sentiment", or None (a bare module without a head)
    label_names: tuple[str, ...]  # tags or labels; () without a head
    accepts_text: bool  # False when there is no vocabulary/embedding: use preset_inputs() instead

    @property
    def module(self) -> nn.Module: ...  # the recurrent layer that is traced

    @property
    def kind(self) -> str: ...  # "lstm", "gru" or "rnn"

    def input_from_text(self, text: str) -> AnalysisInput: ...  # raises InputError with a message for the user

    def preset_inputs(self, n: int = 20) -> dict[str, AnalysisInput]: ...  # ready inputs by name (dataset examples...)

    def trace(self, probe: AnalysisInput) -> Trace: ...

    def predict(self, token_lists: Sequence[Sequence[str]]) -> Optional[list]: ...  # None without a head

    def loss_fn(self, probe: AnalysisInput) -> Callable: ...  # for gradient_flow(module, probe.inputs, loss_fn, ...)


# The sentence a fresh session starts with, per task: the first one the model knows every word of (the
# built-in EWT tagger has never seen "apple"; the tutorial tagger knows only its own two sentences' words).
DEFAULT_TEXTS = {
    "pos": ("The dog ate the apple", "The dog ate the food"),
    "sentiment": ("the story is slow at first , but the ending is not bad at all",),
}


def default_text(subject: "Subject") -> str:
    """The first of its task's default sentences that `subject` reads without <unk> (else the first)."""
    candidates = DEFAULT_TEXTS.get(subject.task or "pos", DEFAULT_TEXTS["pos"])
    for text in candidates:
        try:
            if not subject.input_from_text(text).unknown:
                return text
        except (InputError, ValueError, TypeError, RuntimeError):  # a model that cannot read it: try the next
            continue
    return candidates[0]


def tokens_from_text(text: str, task: Optional[str], max_tokens: int = MAX_TOKENS) -> tuple[tuple[str, ...], str]:
    """Tokenise user text for a task; raises InputError on empty text. Returns (tokens, note)."""
    if not text or not text.strip():
        raise InputError("the text is empty: type a sentence (for example: The dog ate the apple)")
    tokens = sentiment_tokenize(text) if task == "sentiment" else pos_tokenize(text)
    if not tokens:
        raise InputError("the text has no words or punctuation to analyse")
    note = ""
    if len(tokens) > max_tokens:
        note = f"The text has {len(tokens):,} tokens; only the first {max_tokens:,} are analysed."
        tokens = tokens[:max_tokens]
    return tokens, note


class ModelSubject:
    """A trained (or training) Tagger/Classifier seen through its recurrent layer `model.rnn`."""

    def __init__(self, name: str, model: nn.Module, encoder: BatchEncoder, corpus: Optional[Corpus] = None):
        self.name = name
        self.model = model
        self.encoder = encoder
        self.corpus = corpus
        self.task = encoder.task
        self.label_names = tuple(encoder.labels.itos)
        self.accepts_text = True
        self._presets: dict[int, dict[str, AnalysisInput]] = {}  # n -> preset inputs (this model's weights fixed)

    @property
    def module(self) -> nn.Module:
        return self.model.rnn

    @property
    def kind(self) -> str:
        return type(self.module).__name__.lower()

    def tokenize(self, text: str) -> tuple[tuple[str, ...], str]:
        return tokens_from_text(text, self.task)

    def examples(self, split: str = "dev", n: int = 20, seed: int = 0, max_len: int = 60) -> list[Example]:
        """Up to n examples of a split (falls back to train when empty), shortest first within a random pick."""
        if self.corpus is None:
            return []
        pool = [ex for ex in (self.corpus.split(split) or self.corpus.train) if 0 < len(ex.tokens) <= max_len]
        picked = random.Random(seed).sample(pool, min(n, len(pool)))
        return picked

    def preset_inputs(self, n: int = 20) -> dict[str, AnalysisInput]:
        """Dataset examples (dev, else train) as single-sequence probes with their gold targets, by title.

        Made once per subject and n (every page asks on every rerun; a built-in model's subject is shared by
        every session); the returned dict is a copy, its inputs are read-only."""
        if n not in self._presets:
            self._presets[n] = self._make_presets(n)
        return dict(self._presets[n])

    def _make_presets(self, n: int) -> dict[str, AnalysisInput]:
        probes = {}
        for ex in self.examples("dev", n):
            target = ex.tags if self.task == "pos" else ex.label
            title = " ".join(ex.tokens)
            title = title if len(title) <= 70 else title[:67] + "..."
            probes.setdefault(title, self.probe([ex.tokens], targets=[target]))
        return probes

    def probe(self, token_lists: Sequence[Sequence[str]], targets: Optional[Sequence] = None) -> AnalysisInput:
        token_lists = [tuple(t) for t in token_lists]
        if not token_lists or any(len(t) == 0 for t in token_lists):
            raise InputError("every sequence needs at least one token")
        batch = self.encoder.batch_tokens(token_lists)
        device = next(self.model.parameters()).device
        vocab = self.encoder.vocab
        unknown = tuple(sorted({tok for seq in token_lists for tok in seq if vocab.index(tok) == vocab.unk_index}))
        with eval_mode(self.model):
            chars = None if batch.chars is None else batch.chars.to(device)
            x = self.model.embed_inputs(batch.tokens.to(device), chars)  # [B, T, F]
        if not self.module.batch_first:  # our models' rnn is batch_first; a copy keeps it
            x = x.transpose(0, 1)
        return AnalysisInput(tokens=tuple(token_lists), inputs=x, lengths=batch.lengths,
                     targets=None if targets is None else tuple(targets), unknown=unknown)

    def input_from_text(self, text: str) -> AnalysisInput:
        tokens, note = self.tokenize(text)
        probe = self.probe([tokens])
        if len(probe.unknown) == len(set(tokens)):
            raise InputError(f"none of the words is in the model's vocabulary ({', '.join(tokens[:8])}"
                             f"{' ...' if len(tokens) > 8 else ''}); try words from the training data")
        return AnalysisInput(**{**probe.__dict__, "note": note})

    def trace(self, probe: AnalysisInput) -> Trace:
        lengths = None if bool((probe.lengths == probe.lengths.max()).all()) else probe.lengths
        return trace(self.module, probe.inputs, lengths=lengths)

    def predict(self, token_lists: Sequence[Sequence[str]]) -> list:
        return predict(self.model, self.encoder, [tuple(t) for t in token_lists])

    def loss_fn(self, probe: AnalysisInput) -> Callable:
        """Cross-entropy of the model's own head on the probe: gold targets when known, else its predictions."""
        targets = probe.targets if probe.targets is not None else tuple(self.predict(probe.tokens))
        head, labels = self.model.output, self.encoder.labels
        D = 2 if self.module.bidirectional else 1
        batch_first = self.module.batch_first
        if self.task == "pos":
            ids = torch.full((len(targets), int(probe.lengths.max())), -100, dtype=torch.long)
            for b, tags in enumerate(targets):
                ids[b, : len(tags)] = torch.tensor(labels.encode(tags))

            def loss(output, state):
                out = output if batch_first else output.transpose(0, 1)  # [B, T, D*H]
                return F.cross_entropy(head(out).flatten(0, 1), ids.to(out.device).flatten(), ignore_index=-100)
        else:
            ids = torch.tensor([labels.index(t) for t in targets])

            def loss(output, state):
                h_n = state[0] if isinstance(state, tuple) else state  # [L*D, B, H]
                feats = h_n[-D:].transpose(0, 1).reshape(h_n.shape[1], -1)
                return F.cross_entropy(head(feats), ids.to(feats.device))
        return loss

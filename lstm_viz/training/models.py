"""Tagger and Classifier: embeddings -> torch.nn.LSTM/GRU/RNN (attribute `rnn`) -> linear.

The recurrent layer is the plain fused torch module, batch_first, so a page can replay it exactly:
`trace(model.rnn, model.embed_inputs(tokens, chars), lengths=lengths)` (in eval mode).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from ..data.vocab import Vocab
from .fused_packed import packed_forward

ARCHS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}  # arch name -> torch.nn class name
TASKS = ("pos", "sentiment")
POOLINGS = ("last", "max", "mean", "mean+max")  # how a Classifier reads the last layer's outputs


@dataclass(frozen=True)
class ModelConfig:
    task: str = "pos"  # "pos": a tag per token (Tagger); "sentiment": a label per text (Classifier)
    arch: str = "lstm"  # recurrent layer: "lstm", "gru" or "rnn" (torch.nn.LSTM / GRU / RNN)
    embed_dim: int = 100  # word embedding size (100 fits GloVe 6B.100d vectors)
    hidden_size: int = 128  # units per direction in each recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    bidirectional: bool = False  # also read right to left; both directions' features are concatenated
    dropout: float = 0.0  # on the rnn input, between rnn layers and before the output layer (training only)
    char_embed_dim: int = 0  # 0: no character features; else size of each character embedding
    char_hidden: int = 0  # units per direction of the char BiLSTM; adds 2*char_hidden features per word
    nonlinearity: str = "tanh"  # plain RNN only: "tanh" or "relu"
    lowercase: bool = False  # fold case before word lookup (char features still see the case)
    min_freq: int = 1  # training words seen fewer times than this map to <unk>
    max_vocab: Optional[int] = None  # keep at most this many words, most frequent first (None: all)
    word_dropout: float = 0.0  # training only: a word becomes <unk> with this probability (teaches <unk>)
    freeze_embeddings: bool = False  # keep the word embeddings fixed (e.g. pretrained GloVe)
    # Classifier features: "last" = final states of both directions; "max"/"mean" over time; "mean+max" = both
    # concatenated (twice the features; as files.heads reads such a head)
    pooling: str = "last"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {tuple(ARCHS)}, got {self.arch!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {self.nonlinearity!r}")
        for name in ("embed_dim", "hidden_size", "num_layers", "min_freq"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("char_embed_dim", "char_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if (self.char_embed_dim > 0) != (self.char_hidden > 0):
            raise ValueError("set both char_embed_dim and char_hidden (> 0) for char features, or neither")
        for name in ("dropout", "word_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if self.max_vocab is not None and self.max_vocab < 0:
            raise ValueError(f"max_vocab must be >= 0 or None, got {self.max_vocab!r}")

    @property
    def char_features(self) -> bool:
        return self.char_hidden > 0

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_features(self) -> int:
        """What the output layer reads: D*H per token or text, 2*D*H with "mean+max" pooling."""
        return self.num_directions * self.hidden_size * (2 if self.pooling == "mean+max" else 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config fields {unknown}; this version knows {sorted(known)}")
        return cls(**data)


PRESETS: dict[str, ModelConfig] = {
    # The PyTorch sequence-models tutorial ("LSTM's in Pytorch"): EMBEDDING_DIM = HIDDEN_DIM = 6.
    "tutorial": ModelConfig(task="pos", arch="lstm", embed_dim=6, hidden_size=6),
    # A 2-layer BiLSTM sentiment classifier as in common PyTorch sentiment tutorials.
    "sentiment-bilstm": ModelConfig(task="sentiment", arch="lstm", embed_dim=100, hidden_size=256, num_layers=2,
                                    bidirectional=True, dropout=0.5, lowercase=True),
    # BiLSTM tagger with a char BiLSTM per word (Plank et al. 2016 / Lample et al. 2016 style).
    "pos-bilstm-char": ModelConfig(task="pos", arch="lstm", embed_dim=100, hidden_size=128, bidirectional=True,
                                   dropout=0.33, char_embed_dim=32, char_hidden=64, lowercase=True,
                                   word_dropout=0.05),
    # The same tagger with words only (unknown words get a trained <unk>).
    "pos-bilstm": ModelConfig(task="pos", arch="lstm", embed_dim=100, hidden_size=128, bidirectional=True,
                              dropout=0.33, word_dropout=0.05),
    # Sized for a lecture on a laptop CPU (with the "lecture" training preset): a rising accuracy curve within
    # seconds, a useful accuracy within a minute on 2 cores (benchmarks/bench_training.py --lecture).
    "pos-lecture": ModelConfig(task="pos", arch="lstm", embed_dim=64, hidden_size=64, bidirectional=True,
                               dropout=0.2, word_dropout=0.05),
    # Also the IMDB recipe (>= 80% test from 2,500 reviews): max-pooling over time learns from long texts far
    # sooner than final states; words seen once become <unk>.
    "sentiment-lecture": ModelConfig(task="sentiment", arch="lstm", embed_dim=64, hidden_size=64,
                                     bidirectional=True, dropout=0.3, lowercase=True, min_freq=2, pooling="max"),
    # Accuracy recipes (issue 10; each with the training preset of the same name in presets.py, run by
    # benchmarks/bench_accuracy.py): no pretrained vectors, so small embeddings, word dropout and rare words as <unk>
    "polarity-bilstm": ModelConfig(task="sentiment", embed_dim=128, hidden_size=128, bidirectional=True, dropout=0.5,
                                   word_dropout=0.2, lowercase=True, min_freq=2, pooling="mean"),
    "sst2-bilstm": ModelConfig(task="sentiment", embed_dim=128, hidden_size=96, bidirectional=True, dropout=0.5,
                               word_dropout=0.1, lowercase=True, pooling="mean"),
    "imdb-bilstm": ModelConfig(task="sentiment", embed_dim=64, hidden_size=64, bidirectional=True, dropout=0.3,
                               lowercase=True, min_freq=2, pooling="max"),
    # words seen once are <unk> (min_freq 2) and others 10% of the time: rare words lean on the char features, and
    # the vocabulary halves (16,654 -> ~8,900 words). Dropout 0.25: dev 0.9522 against 0.9513 at 0.33 (seeds 0-2)
    "ewt-bilstm-char": ModelConfig(task="pos", embed_dim=100, hidden_size=200, bidirectional=True, dropout=0.25,
                                   char_embed_dim=32, char_hidden=64, lowercase=True, min_freq=2,
                                   word_dropout=0.1),
}


def preset(name: str, **overrides) -> ModelConfig:
    """A named ModelConfig, optionally with some fields replaced."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)


class CharEncoder(nn.Module):
    """Each word's characters -> BiLSTM -> final states of both directions: [B, T, 2 * hidden]."""

    def __init__(self, num_chars: int, embed_dim: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(num_chars, embed_dim, padding_idx=0)
        self.rnn = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)

    LENGTH_GROUPS = ((0, 3), (3, 6), (6, 10**9))  # (shortest - 1, longest) characters of each group

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        B, T, W = chars.shape
        # each distinct word once (a batch of sentences repeats "the", ",", "."...: ~40% fewer char sequences);
        # the row of all zeros (padding positions) is among them and stays a zero feature
        words, where = torch.unique(chars.reshape(B * T, W), dim=0, return_inverse=True)  # [U, W], [B*T]
        word_len = (words != 0).sum(1)  # [U]; 0 for the padding row, which gets no features
        per_word = words.new_zeros(words.shape[0], 2 * self.hidden, dtype=self.embedding.weight.dtype)  # [U, 2H]
        # the fused kernel runs every word to the group's width: short words (most) in groups of their own
        for low, high in self.LENGTH_GROUPS:
            group = ((word_len > low) & (word_len <= high)).nonzero().squeeze(1)  # [N]
            if group.numel() == 0:
                continue
            lengths = word_len.index_select(0, group)
            x = self.embedding(words.index_select(0, group)[:, : int(lengths.max())])  # [N, W', E]
            # h_n [2, N, H]: forward state after the last char, backward after the first (packed semantics)
            _, (h_n, _) = packed_forward(self.rnn, x, lengths, cell_state=False)
            per_word = per_word.index_copy(0, group, torch.cat([h_n[0], h_n[1]], dim=-1))
        return per_word.index_select(0, where).view(B, T, 2 * self.hidden)


class _RecurrentModel(nn.Module):
    """Shared trunk: word embeddings [+ char features] -> dropout -> recurrent layer `rnn`."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_labels: int, char_vocab_size: int = 0):
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2 (<pad>, <unk>), got {vocab_size}")
        if num_labels < 1:
            raise ValueError(f"num_labels must be >= 1, got {num_labels}")
        if config.char_features and char_vocab_size < 2:
            raise ValueError("char features need a char vocabulary (char_vocab_size >= 2)")
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=0)
        self.embedding.weight.requires_grad_(not config.freeze_embeddings)
        self.char_encoder = (CharEncoder(char_vocab_size, config.char_embed_dim, config.char_hidden)
                             if config.char_features else None)
        input_size = config.embed_dim + (2 * config.char_hidden if config.char_features else 0)
        extra = {"nonlinearity": config.nonlinearity} if config.arch == "rnn" else {}
        self.rnn = getattr(nn, ARCHS[config.arch])(
            input_size, config.hidden_size, num_layers=config.num_layers, batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,  # torch applies it between layers only
            **extra)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.output_features, num_labels)

    @property
    def num_labels(self) -> int:
        return self.output.out_features

    def embed_inputs(self, token_ids: torch.Tensor, char_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """token_ids [B, T] (+ char_ids [B, T, W]) -> [B, T, F]: exactly what `self.rnn` receives."""
        if self.training and self.config.word_dropout > 0:
            drop = (torch.rand(token_ids.shape, device=token_ids.device) < self.config.word_dropout) & (token_ids > 1)
            token_ids = token_ids.masked_fill(drop, 1)  # 1 = <unk>
        x = self.embedding(token_ids)
        if self.char_encoder is not None:
            if char_ids is None:
                raise ValueError("this model has char features: pass char_ids [B, T, W]")
            x = torch.cat([x, self.char_encoder(char_ids)], dim=-1)
        return self.dropout(x)

    def run_rnn(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None):
        """x [B, T, F] -> (output [B, T, D*H] with zeros at padding, h_n [L*D, B, H]).

        lengths [B] (None: no padding): packed semantics, so padding never enters the recurrence and the
        reverse direction starts at each sequence's own last token (on CPU computed with the fused kernels
        and `self.rnn`'s own weights, see fused_packed.py; elsewhere with a PackedSequence).
        """
        if lengths is None:
            out, h_n = self.rnn(x)
        else:
            out, h_n = packed_forward(self.rnn, x, lengths, cell_state=False)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        return out, h_n

    def set_embeddings(self, weights: torch.Tensor) -> None:
        """Copy pretrained word vectors [vocab_size, embed_dim] into the embedding (e.g. from `load_glove`)."""
        expected = tuple(self.embedding.weight.shape)
        if tuple(weights.shape) != expected:
            raise ValueError(f"embedding weights have shape {tuple(weights.shape)}, the model needs {expected} "
                             f"(vocab size, embed_dim); build the vocab first and pass dim=embed_dim")
        with torch.no_grad():
            self.embedding.weight.copy_(weights)


class Tagger(_RecurrentModel):
    """A tag per token: logits [B, T, num_tags]."""

    def forward(self, tokens: torch.Tensor, lengths: Optional[torch.Tensor] = None,
                chars: Optional[torch.Tensor] = None) -> torch.Tensor:
        out, _ = self.run_rnn(self.embed_inputs(tokens, chars), lengths)  # [B, T, D*H]
        return self.output(self.dropout(out))


class Classifier(_RecurrentModel):
    """A label per text: logits [B, C] from the final hidden states of the last layer (both directions),
    or, with `pooling="max"`/`"mean"`/`"mean+max"`, from the last layer's outputs pooled over the valid steps."""

    def forward(self, tokens: torch.Tensor, lengths: Optional[torch.Tensor] = None,
                chars: Optional[torch.Tensor] = None) -> torch.Tensor:
        out, h_n = self.run_rnn(self.embed_inputs(tokens, chars), lengths)  # out [B, T, D*H], h_n [L*D, B, H]
        D, H = self.config.num_directions, self.config.hidden_size
        if self.config.pooling == "last":
            last = h_n[-D:]  # [D, B, H]: forward state after the last token, backward state after the first
            features = last.transpose(0, 1).reshape(-1, D * H)  # [B, D*H]
        else:
            valid = None if lengths is None else (torch.arange(out.shape[1]) < lengths[:, None]).to(out.device)
            mean = out.mean(1) if valid is None else out.sum(1) / lengths.to(out.device, out.dtype)[:, None]
            high = out.amax(1) if valid is None else out.masked_fill(~valid[..., None], float("-inf")).amax(1)
            features = {"mean": mean, "max": high}.get(self.config.pooling)  # [B, D*H]
            if features is None:  # "mean+max": [B, 2*D*H]
                features = torch.cat([mean, high], dim=-1)
        return self.output(self.dropout(features))


Model = Union[Tagger, Classifier]


def build_model(config: ModelConfig, vocab_size: int, num_labels: int, char_vocab_size: int = 0) -> Model:
    cls = Tagger if config.task == "pos" else Classifier
    return cls(config, vocab_size, num_labels, char_vocab_size)


def load_glove(path: Union[str, Path], vocab: Vocab, dim: int, *, seed: int = 0) -> torch.Tensor:
    """Word vectors from a GloVe-format text file (`word v1 ... v_dim` per line) -> [len(vocab), dim].

    Words missing from the file get small random vectors; `<pad>` stays zero. A word2vec header line
    (`count dim`) is skipped. Raises ValueError when the file's vectors do not have `dim` values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file not found: {path}")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn(len(vocab), dim, generator=gen) * (1.0 / math.sqrt(dim))
    weights[0] = 0.0
    found = [False] * len(vocab)
    by_lower: dict[str, list[int]] = {}
    for i, w in enumerate(vocab.itos):
        by_lower.setdefault(w.lower(), []).append(i)
    with path.open(encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec-style header
            if len(parts) < 2:
                continue
            n = len(parts) - 1
            if n != dim:
                raise ValueError(f"{path}:{lineno}: vectors have {n} values but dim={dim}; "
                                 f"pass dim={n} (and embed_dim={n}) or use a file with {dim}-d vectors")
            word = parts[0]
            exact = vocab.stoi.get(word)
            targets = [exact] if exact is not None else [i for i in by_lower.get(word.lower(), []) if not found[i]]
            if not targets:
                continue
            try:
                vec = torch.tensor([float(v) for v in parts[1:]])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: not a number in the vector of {word!r}") from None
            for i in targets:
                if i != 0:
                    weights[i] = vec
                    found[i] = True
    return weights

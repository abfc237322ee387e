"""A user's own recurrent module as a `Subject`, so every analysis view works on it.

    found = inspect_model("my_tagger.pt", prefix="encoder.lstm.")      # lstm_viz.inspect
    subject = module_subject(found, "my tagger", vocab=tokens)          # text through the file's embedding
    subject.add_inputs("batch.npy", load_input_tensor(...))             # or uploaded arrays, random inputs
    rec = subject.trace(subject.input_from_text("the dog ate"))

A bare module has no head: for gradient flow the subject then offers the stand-in losses of
`gradient_losses.LOSSES`; `set_head` gives it the model's own head (predictions, its cross-entropy).

A whole lstm-viz checkpoint is better served by `checkpoint_subject`, a real `ModelSubject` with its head,
vocabularies and predictions.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Optional, Union

import torch
from torch import nn

from ..files import inputs as _inputs
from ..files.budgets import Budget
from ..files.model_files import (
    MAX_MODEL_BYTES,
    InspectedModel,
    guess_heads,
    ModelFileError,
    PathOrBytes,
    build_module,
    find_embeddings,
    infer_architecture,
    read_bytes_limited,
)
from .gradient_losses import (  # noqa: F401 - LOSSES, DEFAULT_LOSS: re-exported for the Inspect page
    DEFAULT_LOSS, HEAD_LOSS, LOSSES, LossFn, check_loss, head_loss, stand_in_loss,
)
from .subject import MAX_TOKENS, AnalysisInput, InputError, ModelSubject
from ..record.tracing import trace
from ..record.results import Trace

MAX_BATCH = 64  # sequences per prepared input: beyond this every view is a wall of numbers, and slow
DEFAULT_RANDOM_STEPS = 20  # long enough to see a gate move, short enough to read every column
RECURRENT_TYPES = (nn.LSTM, nn.GRU, nn.RNN)


def _positions(steps: int) -> tuple[str, ...]:
    """Labels of input positions for inputs that carry no words: "0", "1", ..."""
    return tuple(str(t) for t in range(steps))


class ModuleSubject:
    """A bare `nn.LSTM`/`GRU`/`RNN` (no head), with optional text input through an embedding matrix.

    vocab + embedding: row i of `embedding` ([vocab, input_size]) embeds `vocab[i]`; then `accepts_text`.
    inputs: named arrays `[time, features]` or `[batch, time, features]` offered by `preset_inputs`.
    random_steps/random_batch/random_seed: the random-input probe (standard normal), always offered.
    loss: one of `LOSSES` or a callable `(output, final_state) -> scalar` used by `loss_fn`.
    Inputs are laid out as the module expects: `[B, T, F]` when `module.batch_first`, else `[T, B, F]`.
    """

    def __init__(self, name: str, module: nn.Module, vocab: Optional[Sequence[str]] = None,
                 embedding: Optional[torch.Tensor] = None, lowercase: Optional[bool] = None,
                 inputs: Optional[Mapping[str, torch.Tensor]] = None, random_steps: int = DEFAULT_RANDOM_STEPS,
                 random_batch: int = 1, random_seed: int = 0, loss: Union[str, LossFn] = DEFAULT_LOSS,
                 task: Optional[str] = None):
        if not isinstance(module, RECURRENT_TYPES):
            raise TypeError(f"module must be a torch.nn.LSTM, GRU or RNN, got {type(module).__name__}; "
                            "for a larger model pass its recurrent layer (e.g. model.encoder.lstm).")
        self.name = name
        self._module = module
        self.task = task
        self.label_names: tuple[str, ...] = ()
        self.head: Optional[nn.Module] = None  # the model's own head after this layer (set_head), else None
        self.pooling: Optional[str] = None  # how the head reads the layer's output (files.heads.POOLINGS)
        self.vocab: Optional[list[str]] = None
        self.embedding: Optional[torch.Tensor] = None  # [vocab rows, input_size] float32
        self.lowercase = lowercase
        if (vocab is None) != (embedding is None):
            raise ValueError("give both vocab and embedding for text input, or neither "
                             f"(got {'vocab' if vocab is not None else 'embedding'} only).")
        if vocab is not None:
            self.set_text_input(vocab, embedding, lowercase)
        self.loss = loss
        check_loss(loss)
        for label, value, top in (("random_steps", random_steps, MAX_TOKENS),
                                  ("random_batch", random_batch, MAX_BATCH)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise ValueError(f"{label} must be an integer from 1 to {top}, got {value!r}.")
        self.random_steps, self.random_batch, self.random_seed = random_steps, random_batch, int(random_seed)
        self._inputs: dict[str, torch.Tensor] = {}  # name -> [B, T, F] float32, batch first
        self._probes: dict[str, AnalysisInput] = {}  # built once, so pages can cache on the probe they get back
        for key, value in (inputs or {}).items():
            self.add_inputs(key, value)

    # ------------------------------------------------------------------------------------ Subject protocol

    @property
    def module(self) -> nn.Module:
        return self._module

    @property
    def kind(self) -> str:
        return type(self._module).__name__.lower()

    @property
    def input_size(self) -> int:
        return int(self._module.input_size)

    @property
    def batch_first(self) -> bool:
        return bool(getattr(self._module, "batch_first", False))

    @property
    def accepts_text(self) -> bool:
        return self.vocab is not None and self.embedding is not None

    def set_text_input(self, vocab: Sequence[str], embedding: torch.Tensor, lowercase: Optional[bool] = None) -> None:
        """Let the subject read text: `vocab[i]` is the token of `embedding` row i."""
        weight = _inputs.check_vocab_embedding(vocab, embedding, self.input_size)
        self.vocab, self.embedding, self.lowercase = list(vocab), weight.to(torch.float32), lowercase

    def add_inputs(self, name: str, array: torch.Tensor, time_first: bool = False) -> str:
        """Offer `array` ([T, F], [B, T, F], or [T, B, F] with time_first) as a prepared input; returns its title."""
        array = torch.as_tensor(array)
        if time_first and array.dim() == 3:
            array = array.transpose(0, 1)
        array = _inputs.check_inputs(array, self.input_size, name)  # -> [B, T, F] float32
        batch, steps = array.shape[:2]
        title = f"{name} ({batch} × {steps} steps)" if batch > 1 else f"{name} ({steps} steps)"
        self._inputs[title] = array
        self._probes.pop(title, None)
        return title

    def probe_inputs(self, array: torch.Tensor, tokens: Optional[Sequence[Sequence[str]]] = None,
                     note: str = "") -> AnalysisInput:
        """A probe of batch-first inputs `[B, T, F]` (cut to MAX_BATCH sequences and MAX_TOKENS steps)."""
        notes = [note] if note else []
        if array.shape[0] > MAX_BATCH:
            notes.append(f"The input has {array.shape[0]} sequences; only the first {MAX_BATCH} are analysed.")
            array = array[:MAX_BATCH]
        if array.shape[1] > MAX_TOKENS:
            notes.append(f"The input has {array.shape[1]:,} steps; only the first {MAX_TOKENS:,} are analysed.")
            array = array[:, :MAX_TOKENS]
        batch, steps = array.shape[:2]
        seqs = tuple(tuple(seq[:steps]) for seq in tokens[:batch]) if tokens is not None \
            else tuple(_positions(steps) for _ in range(batch))
        x = array if self.batch_first else array.transpose(0, 1)  # the module's own layout
        device = next(self._module.parameters()).device  # a notebook user's module may live on a GPU
        return AnalysisInput(tokens=seqs, inputs=x.to(device).contiguous(),
                     lengths=torch.full((batch,), steps, dtype=torch.int64),
                     note=" ".join(notes))

    def input_from_text(self, text: str) -> AnalysisInput:
        """Embed typed text with the file's own embedding; InputError says what to change."""
        if not self.accepts_text:
            raise InputError("This model has no vocabulary and embedding: pick a prepared input, or add a "
                             "vocabulary file and an embedding matrix on **Inspect a model**.")
        lowercase = self.lowercase if self.lowercase is not None else not any(t != t.lower() for t in self.vocab)
        index: dict[str, int] = {}
        for i, tok in enumerate(self.vocab):
            index.setdefault(tok.lower() if lowercase else tok, i)
        words = _inputs.tokenize_for_vocab(text if isinstance(text, str) else "", index, lowercase)
        unknown = tuple(dict.fromkeys(w for w in words if (w.lower() if lowercase else w) not in index))
        tokens, x, _ = _inputs.text_to_inputs(text, self.vocab, self.embedding, lowercase=lowercase)
        note = ""
        has_unk = "<unk>" in index  # text_to_inputs maps unknown words to this row when it exists
        if unknown and not has_unk:
            note = (f"The vocabulary has no <unk> entry, so {len(unknown)} unknown word(s) were left out: "
                    f"{', '.join(unknown[:8])}{' ...' if len(unknown) > 8 else ''}.")
        probe = self.probe_inputs(x.unsqueeze(0), [tokens], note)
        return AnalysisInput(**{**probe.__dict__, "unknown": unknown if has_unk else ()})

    def preset_inputs(self, n: int = 20) -> dict[str, AnalysisInput]:
        """The uploaded inputs (in the order added), then the random inputs; at most n."""
        titles = list(self._inputs)[: max(n - 1, 0)]
        for title in titles:
            if title not in self._probes:
                self._probes[title] = self.probe_inputs(self._inputs[title])
        random_title = (f"Random inputs ({self.random_batch} × {self.random_steps} steps, seed {self.random_seed})"
                        if self.random_batch > 1 else
                        f"Random inputs ({self.random_steps} steps, seed {self.random_seed})")
        if random_title not in self._probes:
            x = _inputs.random_inputs(self.input_size, self.random_steps, self.random_batch, self.random_seed)
            self._probes[random_title] = self.probe_inputs(x, note="Standard-normal random inputs: the gates show "
                                                           "the weights' own biases, not a task.")
        out = {title: self._probes[title] for title in titles}
        if n >= 1:
            out[random_title] = self._probes[random_title]
        return out

    def trace(self, probe: AnalysisInput) -> Trace:
        lengths = None if bool((probe.lengths == probe.lengths.max()).all()) else probe.lengths
        return trace(self._module, probe.inputs, lengths=lengths)

    def set_head(self, head: nn.Module, pooling: str, task: str, labels: Optional[Sequence[str]] = None) -> None:
        """Give the layer its model's head (e.g. `files.heads.build_head`), so pages show predictions and the
        Gradients page uses the head's own cross-entropy. task "pos": a tag per token (pooling "per-step");
        "sentiment": one label per sequence (pooling "last", "mean", "max" or "mean+max")."""
        from ..files.heads import POOLINGS

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if task not in ("pos", "sentiment") or (task == "pos") != (pooling == "per-step"):
            raise ValueError(f"task {task!r} with pooling {pooling!r} does not fit: a tag per token ('pos') reads "
                             "every step ('per-step'); one label per sequence ('sentiment') pools the steps")
        classes = [m for m in head.modules() if isinstance(m, nn.Linear)][-1].out_features
        labels = tuple(labels) if labels else tuple(f"class {k}" for k in range(classes))
        if len(labels) != classes:
            raise ValueError(f"{len(labels)} label names for a head with {classes} outputs")
        self.head, self.pooling, self.task, self.label_names = head.eval(), pooling, task, labels
        self.loss = HEAD_LOSS

    def _embed_tokens(self, tokens: Sequence[str]) -> Optional[torch.Tensor]:
        """The embedding rows of `tokens` as read (unknown -> <unk> row; dropped without one). -> [T, F]"""
        lowercase = self.lowercase if self.lowercase is not None else not any(t != t.lower() for t in self.vocab)
        index: dict[str, int] = {}
        for i, tok in enumerate(self.vocab):
            index.setdefault(tok.lower() if lowercase else tok, i)
        unk = index.get("<unk>")
        rows = [index.get(t.lower() if lowercase else t, unk) for t in tokens]
        rows = [r for r in rows if r is not None]
        return self.embedding[torch.tensor(rows)] if rows else None

    def predict(self, token_lists: Sequence[Sequence[str]]) -> Optional[list]:
        """The head's predictions (tags per token, or one label per text); None without a head or text input."""
        if self.head is None or not self.accepts_text:
            return None
        from ..files.heads import head_logits

        out = []
        for tokens in token_lists:
            x = self._embed_tokens(tokens)
            if x is None:
                raise InputError("none of the tokens is in the vocabulary, so there is nothing to predict")
            best = head_logits(self.head, self.trace(self.probe_inputs(x[None], [tokens])), self.pooling)[0]
            ids = best.argmax(-1).tolist()
            out.append(tuple(self.label_names[i] for i in ids) if self.task == "pos" else self.label_names[ids])
        return out

    # ---------------------------------------------------------------------------------------------- loss

    def loss_fn(self, probe: AnalysisInput, loss: Union[str, LossFn, None] = None) -> LossFn:
        """The loss for `gradient_flow(subject.module, probe.inputs, loss_fn, lengths=...)`.

        `loss` (default: the subject's `loss` attribute) names one of `LOSSES`, or `HEAD_LOSS` once a head is
        set; a callable is returned as is.
        """
        loss = self.loss if loss is None else loss
        directions = 2 if self._module.bidirectional else 1
        if loss == HEAD_LOSS and self.head is not None:
            return head_loss(self.head, self.pooling, self.label_names, probe, self.batch_first, directions)
        return stand_in_loss(loss, probe, self.batch_first, directions)


# ------------------------------------------------------------------------------------------ construction


def reinspect(found: InspectedModel, prefix: str, nonlinearity: Optional[str] = None) -> InspectedModel:
    """The same file seen at another recurrent prefix or RNN nonlinearity, without reading it again."""
    spec = infer_architecture(found.state_dict, prefix)
    if spec.kind == "rnn":
        act = nonlinearity or (found.spec.nonlinearity if found.spec.kind == "rnn" else "tanh")
        if act not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {act!r}.")
        spec = dataclasses.replace(spec, nonlinearity=act)
    module = build_module(spec, found.state_dict, prefix)
    return InspectedModel(spec=spec, module=module, prefix=prefix, prefixes=found.prefixes,
                          embedding_keys=tuple(find_embeddings(found.state_dict, spec.input_size, prefix)),
                          vocab=found.vocab, lowercase=found.lowercase, is_checkpoint=found.is_checkpoint,
                          state_dict=found.state_dict, warnings=found.warnings,
                          heads=guess_heads(found.state_dict, spec, prefix, found.vocab))


def module_subject(found: InspectedModel, name: str, embedding_key: Optional[str] = None,
                   vocab: Optional[Sequence[str]] = None, lowercase: Optional[bool] = None,
                   **kwargs) -> ModuleSubject:
    """A ModuleSubject for what `inspect_model` found.

    embedding_key: a key of the file's state_dict (e.g. one of `found.embedding_keys`) whose matrix embeds
    tokens; vocab: the token of each of its rows (default: the vocabulary stored in the file, if any).
    Without both, the subject takes prepared inputs only. Other keyword arguments go to `ModuleSubject`.
    """
    vocab = vocab if vocab is not None else found.vocab
    lowercase = lowercase if lowercase is not None else found.lowercase
    embedding = None
    if embedding_key is not None:
        if embedding_key not in found.state_dict:
            raise ModelFileError(f"The file has no key {embedding_key!r}; embedding candidates: "
                                 f"{', '.join(found.embedding_keys) or 'none'}.")
        embedding = found.state_dict[embedding_key]
        if vocab is None:
            raise InputError(f"The embedding {embedding_key!r} needs a vocabulary (one token per row): the file "
                             "stores none, so load a vocabulary file.")
    text = dict(vocab=vocab, embedding=embedding, lowercase=lowercase) if embedding is not None else {}
    return ModuleSubject(name, found.module, **text, **kwargs)


def checkpoint_subject(source: PathOrBytes, name: str, budget: Optional[Budget] = None) -> ModelSubject:
    """A whole lstm-viz checkpoint as a ModelSubject: its own head, vocabularies and predictions.

    Raises `lstm_viz.training.checkpoint.CheckpointError` (a ValueError) when the file is not a complete checkpoint
    or is over `budget` (default `budgets.current()`).
    """
    from ..training.checkpoint import load_checkpoint

    model, bundle = load_checkpoint(read_bytes_limited(source, MAX_MODEL_BYTES, "The checkpoint", budget),
                                    budget=budget)
    return ModelSubject(name, model.eval(), bundle.encoder, corpus=None)

"""Inputs for an inspected model: typed text through its embedding, uploaded arrays, or random noise.

Every function returns inputs batch-first, `[batch, time, features]` float32 (or `[time, features]` for
one text), so a caller moves time first for a `batch_first=False` module with `x.transpose(0, 1)`.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
import torch

from .budgets import Budget, BudgetError, resolve
from .safe_load import ModelFileError, PathOrBytes, check_zip_expansion, read_bytes_limited, safe_load

MAX_VOCAB_BYTES = 20 * 2**20  # a vocabulary file of a million tokens is still far below this
MAX_INPUT_BYTES = 100 * 2**20  # uploaded input arrays: enough for thousands of steps of wide features
_PIECES_RE = re.compile(r"\w+|[^\w\s]")  # words and single punctuation marks, for "dog." -> "dog", "."


class InputError(ValueError):
    """User input that cannot be turned into model inputs; the message says what to change."""


# ------------------------------------------------------------------------------------------------ text


def _lookup(vocab_tokens: Sequence[str], lowercase: bool) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, tok in enumerate(vocab_tokens):
        index.setdefault(tok.lower() if lowercase else tok, i)  # the first of repeated entries wins
    return index


class VocabLookup:
    """Words -> embedding rows the way the model reads them: optional lowercasing, word/punctuation pieces
    for unknown words, and `unk_token` (when the vocabulary has one) for what is still unknown."""

    def __init__(self, vocab_tokens: Sequence[str], lowercase: bool, unk_token: str = "<unk>"):
        self.tokens, self.lowercase = vocab_tokens, lowercase
        self.index = _lookup(vocab_tokens, lowercase)
        self.unk = self.index.get(unk_token.lower() if lowercase else unk_token)

    def ids(self, text: str) -> tuple[list[str], list[int], int]:
        """(the words kept, their row ids, how many words were unknown); unknown words are dropped when the
        vocabulary has no unk token."""
        kept, ids, unknown = [], [], 0
        for word in tokenize_for_vocab(text, self.index, self.lowercase):
            i = self.index.get(word.lower() if self.lowercase else word)
            if i is None:
                unknown += 1
                if self.unk is None:
                    continue
                i = self.unk
            kept.append(word)
            ids.append(i)
        return kept, ids, unknown


def tokenize_for_vocab(text: str, index: Mapping[str, int], lowercase: bool) -> list[str]:
    """Whitespace words; a word the vocabulary lacks is split into word and punctuation pieces
    ("dog." -> "dog", ".") when that makes at least one piece known."""
    out: list[str] = []
    for word in text.split():
        key = word.lower() if lowercase else word
        pieces = _PIECES_RE.findall(word)
        if key not in index and len(pieces) > 1 and any((p.lower() if lowercase else p) in index for p in pieces):
            out.extend(pieces)
        else:
            out.append(word)
    return out


def check_vocab_embedding(vocab_tokens: Sequence[str], embedding_weight, input_size: Optional[int] = None
                          ) -> torch.Tensor:
    """The embedding as a detached 2-D float tensor, after checking that `vocab_tokens[i]` can name row i
    (and, given `input_size`, that its width fits the recurrent layer); InputError/TypeError otherwise."""
    if isinstance(vocab_tokens, str) or not all(isinstance(t, str) for t in vocab_tokens):
        raise TypeError("vocab_tokens must be a list of strings (the token of each embedding row).")
    weight = torch.as_tensor(embedding_weight).detach()
    if weight.dim() != 2 or not weight.is_floating_point():
        raise InputError(f"The embedding must be a 2-D float matrix [vocab, features], got "
                         f"{tuple(weight.shape)} {weight.dtype}.")
    if input_size is not None and weight.shape[1] != input_size:
        raise InputError(f"The embedding has {weight.shape[1]} features per token (shape {tuple(weight.shape)}) "
                         f"but the recurrent layer expects input_size {input_size}: pick another matrix.")
    if not vocab_tokens:
        raise InputError("The vocabulary is empty: load a vocabulary file with one token per embedding row.")
    if len(vocab_tokens) > weight.shape[0]:
        raise InputError(f"The vocabulary has {len(vocab_tokens):,} tokens but the embedding has only "
                         f"{weight.shape[0]:,} rows: this vocabulary does not belong to this embedding.")
    return weight


def text_to_inputs(text: str, vocab_tokens: Sequence[str], embedding_weight: torch.Tensor,
                   unk_token: str = "<unk>", lowercase: Optional[bool] = None,
                   ) -> tuple[list[str], torch.Tensor, int]:
    """Embed `text` with the model's own embedding matrix.

    vocab_tokens: token of each embedding row (row i embeds vocab_tokens[i]).
    embedding_weight: `[vocab, features]`.
    lowercase: fold case before lookup; None decides from the vocabulary (fold when it has no capitals).
    Unknown words use the `unk_token` row when the vocabulary has one, and are left out otherwise.
    Returns (tokens as typed, inputs `[T, features]` float32, number of unknown words).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}.")
    weight = check_vocab_embedding(vocab_tokens, embedding_weight)
    if lowercase is None:
        lowercase = not any(t != t.lower() for t in vocab_tokens)
    lookup = VocabLookup(vocab_tokens, lowercase, unk_token)
    tokens, ids, unknown = lookup.ids(text)
    words = len(tokens) + (unknown if lookup.unk is None else 0)  # unknown words are dropped without an unk row
    if not words:
        raise InputError("The text is empty: type a sentence to run through the model.")
    if unknown == words:
        raise InputError(f"Every word of the text is unknown to the vocabulary ({len(vocab_tokens)} tokens, e.g. "
                         f"{', '.join(repr(t) for t in vocab_tokens[:5])}{', lowercased' if lowercase else ''}): "
                         "type words the model was trained on, or check that the vocabulary file is the right one.")
    inputs = weight[torch.tensor(ids)].to(torch.float32)  # [T, features]
    return tokens, inputs, unknown


def load_vocab_file(path_or_bytes: PathOrBytes, max_bytes: int = MAX_VOCAB_BYTES) -> list[str]:
    """Tokens in embedding-row order from a text file: one token per line, a JSON list of strings, or a
    JSON object `{token: id}` with ids 0..N-1. UTF-8 (a BOM is allowed); trailing empty lines are ignored."""
    try:
        data = read_bytes_limited(path_or_bytes, max_bytes, "The vocabulary file")
    except ModelFileError as err:
        raise InputError(str(err)) from None
    try:  # UTF-8 (a BOM is dropped), or UTF-16 when it starts with a UTF-16 byte-order mark
        text = data.decode("utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"The vocabulary file is not UTF-8 text (byte {err.start} cannot be decoded; it looks "
                         "like Latin-1 or UTF-16 without a byte-order mark): save it as UTF-8.") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise InputError(f"The vocabulary file looks like JSON but does not parse: {err}.") from None
        if isinstance(value, list):
            if not all(isinstance(t, str) for t in value):
                raise InputError("A JSON vocabulary must be a list of strings (the token of each row).")
            tokens = value
        elif isinstance(value, dict):
            if not all(isinstance(v, int) for v in value.values()):
                raise InputError("A JSON object vocabulary must map each token to its integer row id.")
            if sorted(value.values()) != list(range(len(value))):
                raise InputError("A JSON object vocabulary must use each row id 0..N-1 exactly once.")
            tokens = sorted(value, key=value.__getitem__)
        else:
            raise InputError("A JSON vocabulary must be a list of tokens or an object {token: id}.")
    else:
        tokens = [line.strip() for line in text.splitlines()]
        while tokens and not tokens[-1]:
            tokens.pop()
        if "" in tokens:
            raise InputError(f"Line {tokens.index('') + 1} of the vocabulary file is empty: each line is the token "
                             "of one embedding row, so an empty line would shift every later token.")
    if not tokens:
        raise InputError("The vocabulary file has no tokens.")
    return tokens


# ------------------------------------------------------------------------------------------ arrays


def _from_container(value: object, name: str) -> object:
    """The one array inside a dict/npz, or the entry named "inputs"/"x"."""
    keys = list(value.keys())  # type: ignore[attr-defined]
    for key in ("inputs", "input", "x"):
        if key in keys:
            return value[key]  # type: ignore[index]
    if len(keys) == 1:
        return value[keys[0]]  # type: ignore[index]
    raise InputError(f"{name} holds {len(keys)} arrays ({', '.join(map(str, keys[:8]))}); keep one, or name it "
                     "'inputs'.")


def load_input_tensor(path_or_bytes: PathOrBytes, name: str, input_size: int,
                      max_bytes: int = MAX_INPUT_BYTES, budget: Optional[Budget] = None) -> torch.Tensor:
    """Inputs from a `.pt`/`.pth` (torch.save, read with weights_only=True) or `.npy`/`.npz` file.

    name: the file's name; its extension picks the reader. Accepts `[time, features]` or
    `[batch, time, features]`; returns `[batch, time, features]` float32. The file's size, decompressed size,
    elements, steps and sequences are checked against `budget` (default `budgets.current()`) before the
    array is converted.
    """
    budget = resolve(budget)
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix in ("pt", "pth"):
        try:
            value = safe_load(path_or_bytes, max_bytes=max_bytes, budget=budget, what="The input file")
        except ModelFileError as err:
            raise InputError(f"{name}: {err}") from None
        if isinstance(value, Mapping):
            value = _from_container(value, name)
        if not isinstance(value, torch.Tensor):
            raise InputError(f"{name} holds a {type(value).__name__}, expected one tensor [time, features].")
        array = value.detach().cpu()
    elif suffix in ("npy", "npz"):
        try:
            data = read_bytes_limited(path_or_bytes, max_bytes, name, budget)
            check_zip_expansion(data, name, budget)
            loaded = np.load(io.BytesIO(data), allow_pickle=False)
            if suffix == "npz" or not isinstance(loaded, np.ndarray):
                with loaded:
                    loaded = np.asarray(_from_container(loaded, name))
        except (ModelFileError, BudgetError) as err:
            raise InputError(str(err)) from None
        except ValueError as err:  # numpy refuses object arrays without pickle, and bad headers
            raise InputError(f"{name} is not a plain numeric NumPy file ({err}); save a float array with "
                             "np.save(path, array).") from None
        except (OSError, EOFError) as err:
            raise InputError(f"{name} is not a NumPy file or is truncated ({err}).") from None
        if not (np.issubdtype(loaded.dtype, np.number) or loaded.dtype == np.bool_):
            raise InputError(f"{name} has dtype {loaded.dtype}; expected floating-point features.")
        array = torch.from_numpy(np.ascontiguousarray(loaded))
    else:
        raise InputError(f"{name}: unsupported file type {('.' + suffix) if suffix else '(no extension)'}; "
                         "use .pt/.pth (torch.save) or .npy/.npz (np.save).")
    return check_inputs(array, input_size, name, budget)


def check_inputs(array: torch.Tensor, input_size: int, name: str = "inputs",
                 budget: Optional[Budget] = None) -> torch.Tensor:
    """Validate `[time, features]` / `[batch, time, features]` and return `[batch, time, features]` float32.

    Sequences and steps are checked against `budget` (default `budgets.current()`) before any copy is made.
    """
    if not array.is_floating_point():
        raise InputError(f"{name} has dtype {array.dtype}: the recurrent layer takes float features. "
                         "If these are token ids, type the text instead or embed them first.")
    if array.dim() == 2:
        array = array.unsqueeze(0)
    if array.dim() != 3:
        raise InputError(f"{name} has shape {tuple(array.shape)}; expected [time, features] or "
                         "[batch, time, features].")
    if array.shape[-1] != input_size:
        raise InputError(f"{name} has {array.shape[-1]} features per step (shape {tuple(array.shape)}), but the "
                         f"model expects input_size {input_size}: expected [..., {input_size}], "
                         f"found [..., {array.shape[-1]}].")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name} has shape {tuple(array.shape)}: it needs at least one sequence of one step.")
    budget = resolve(budget)
    try:
        budget.check("batch", array.shape[0], f"{name} (shape {tuple(array.shape)}): its number of sequences")
        budget.check("steps", array.shape[1], f"{name} (shape {tuple(array.shape)}): its number of steps")
        budget.check("elements", array.numel(), f"{name} (shape {tuple(array.shape)}): its number of values")
    except BudgetError as err:
        raise InputError(str(err)) from None
    array = array.to(torch.float32)
    if not torch.isfinite(array).all():
        raise InputError(f"{name} contains NaN or infinite values.")
    return array.contiguous()


def random_inputs(input_size: int, steps: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """Standard-normal inputs `[batch, steps, input_size]`, the same for the same seed."""
    for label, value in (("input_size", input_size), ("steps", steps), ("batch", batch)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{label} must be a positive integer, got {value!r}.")
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(batch, steps, input_size, generator=gen)

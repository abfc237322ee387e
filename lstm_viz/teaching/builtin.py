"""The built-in teaching models, loaded once per process and shared read-only, as Subjects for the pages.

`load_builtin(key)` reads a checkpoint once (a cached, thread-safe loader; the app may also wrap it in
`st.cache_resource`). Nothing here trains or changes a model: pages must not train a built-in model
(they copy it first), and Subjects only switch an eval-mode model to eval mode.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Optional, Sequence

from ..data.corpus import Corpus, LabelledText, TaggedSentence
from ..explore.subject import AnalysisInput, InputError, ModelSubject
from ..training.checkpoint import Bundle, load_checkpoint
from ..training.models import Tagger
from .catalog import BUILTINS, BY_KEY, BuiltinSpec
from .char_data import read_source, stdlib_folder

_lock = threading.Lock()
CHAR_SNIPPET = 600  # characters of a held-out file offered as a ready input to the analysis pages


def available_builtins() -> list[BuiltinSpec]:
    """The built-in models whose checkpoint file is present, in catalog order."""
    return [spec for spec in BUILTINS if spec.path.is_file()]


@lru_cache(maxsize=None)
def _load(key: str) -> tuple[Tagger, Bundle]:
    model, bundle = load_checkpoint(BY_KEY[key].path)
    for p in model.parameters():
        p.requires_grad_(False)  # shared read-only: nobody trains a built-in model in place
    return model, bundle


def load_builtin(key: str) -> tuple[Tagger, Bundle]:
    """(model in eval mode, bundle) of a built-in model; read from disk once per process."""
    if key not in BY_KEY:
        raise KeyError(f"no built-in model {key!r}; known: {sorted(BY_KEY)}")
    if not BY_KEY[key].path.is_file():
        raise FileNotFoundError(f"the built-in model {key!r} is not built ({BY_KEY[key].path} is missing); "
                                f"run: python -m lstm_viz.teaching build --only {key}")
    with _lock:  # one reader at a time: two sessions starting together read the file once
        return _load(key)


def _example_corpus(name: str, task: str, labels: Sequence[str], rows: Sequence[dict]) -> Corpus:
    """The test examples stored in the checkpoint as a small Corpus (ready inputs without the data)."""
    if task == "pos":
        examples = tuple(TaggedSentence(tuple(r["tokens"]), tuple(r["target"])) for r in rows)
    else:
        examples = tuple(LabelledText(tuple(r["tokens"]), str(r["target"])) for r in rows)
    return Corpus(name=name, task=task, train=examples, dev=examples, test=examples, labels=tuple(labels),
                  source="examples stored in the built-in model")


class CharSubject(ModelSubject):
    """A character model seen through its recurrent layer: every character is a token."""

    def __init__(self, name: str, model: Tagger, encoder, held_out_files: Sequence[str] = ()):
        super().__init__(name, model, encoder)
        self.held_out_files = list(held_out_files)  # stdlib file names it was evaluated on

    def tokenize(self, text: str) -> tuple[tuple[str, ...], str]:
        from .char_view import check_code

        text, note = check_code(text)
        return tuple(text), note

    def preset_inputs(self, n: int = 20) -> dict[str, AnalysisInput]:
        """The start of each held-out standard-library file (when this Python has it)."""
        probes = {}
        for name in self.held_out_files[:n]:
            path = stdlib_folder() / name
            if path.is_file():
                text = read_source(path)[:CHAR_SNIPPET]
                probes[f"{name} (first {len(text)} characters)"] = self.probe([tuple(text)])
        return probes


@lru_cache(maxsize=None)
def builtin_subject(key: str) -> ModelSubject:
    """A Subject over a built-in model (shared: it holds no per-session state)."""
    model, bundle = load_builtin(key)
    spec = BY_KEY[key]
    if spec.kind == "char":
        return CharSubject(spec.title, model, bundle.encoder, bundle.extra.get("held_out_files") or ())
    corpus = _example_corpus(spec.key, bundle.encoder.task, bundle.encoder.labels.itos,
                             bundle.extra.get("examples") or [])
    return ModelSubject(spec.title, model, bundle.encoder, corpus)


def default_builtin_key() -> Optional[str]:
    """The model an analysis page opens on when a session has none: the EWT tagger (a real, saturated
    model), else the first built-in model present."""
    present = [spec.key for spec in available_builtins()]
    for key in ("ewt-pos-lstm", "tutorial-tagger"):
        if key in present:
            return key
    return present[0] if present else None


__all__ = ["CharSubject", "InputError", "available_builtins", "builtin_subject", "default_builtin_key",
           "load_builtin"]

"""How much a file may make the process do: checked BEFORE a file is expanded or a model is built.

Two sets of limits: `LIBRARY` (a notebook or the CLI, where one person owns the machine: generous) and `APP`
(the Streamlit app, where a room of strangers shares one server: tight). Every limit can be raised with an
environment variable `LSTM_VIZ_MAX_<FIELD>` (e.g. `LSTM_VIZ_MAX_ELEMENTS=500000000`), read at call time, or
in the library by passing `budget=Budget(...)` / `dataclasses.replace(LIBRARY, max_elements=...)`.

    budget = current()                     # LIBRARY, or APP once the app called use(APP)
    budget.check("max_elements", n, "The model file 'x.pt'")   # -> BudgetError naming the limit
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields

ENV_PREFIX = "LSTM_VIZ_MAX_"


class BudgetError(ValueError):
    """A file or setting asks for more than the active budget allows; the message names the limit and how to
    raise it."""


@dataclass(frozen=True)
class Budget:
    """Upper bounds on what one file may ask for (bytes, tensor elements, model sizes, corpus size)."""

    file_bytes: int = 2 * 2**30  # bytes of one model/input/recording file on disk or uploaded
    expanded_bytes: int = 4 * 2**30  # bytes a file holds once decompressed (torch zip entries, .npz members)
    elements: int = 1_000_000_000  # tensor elements in one file, counted from the shapes (stride-0 views too)
    layers: int = 64  # stacked recurrent layers in one model
    hidden: int = 16_384  # units per gate (hidden_size) of one recurrent layer
    steps: int = 100_000  # time steps of one input sequence
    batch: int = 10_000  # sequences in one input file
    corpus_bytes: int = 4 * 2**30  # bytes of one dataset file (CSV/TSV/CoNLL-U/text) before it is read
    vocab_tokens: int = 5_000_000  # tokens of a vocabulary
    name: str = "library"  # "library" or "app": said in messages, picks the advice on how to raise a limit

    def limit(self, field: str) -> int:
        """The limit `field` (e.g. "elements"), raised or lowered by $LSTM_VIZ_MAX_<FIELD> when set."""
        value = getattr(self, field)
        env = os.environ.get(ENV_PREFIX + field.upper(), "").strip().replace("_", "")
        if env.isdigit() and int(env) > 0:
            return int(env)
        return value

    def check(self, field: str, amount: int, what: str, unit: str = "") -> None:
        """BudgetError when `amount` exceeds `limit(field)`; `what` names the file and the thing counted."""
        top = self.limit(field)
        if amount > top:
            raise BudgetError(f"{what} is {_fmt(amount, unit)}, over the limit of {_fmt(top, unit)} "
                              f"({self.name} budget, field {field!r}). {self.how_to_raise(field)}")

    def how_to_raise(self, field: str) -> str:
        env = ENV_PREFIX + field.upper()
        if self.name == "app":
            return (f"The person running the app can raise it by starting it with the environment variable "
                    f"{env} set; in a notebook or the CLI the limits are higher.")
        return f"Raise it with the environment variable {env}, or pass budget=Budget({field}=...)."


def _fmt(amount: int, unit: str) -> str:
    if unit == "bytes":
        return f"{amount / 2**20:,.1f} MiB" if amount < 2**30 else f"{amount / 2**30:,.2f} GiB"
    return f"{amount:,}{' ' + unit if unit else ''}"


LIBRARY = Budget()  # one person, their own machine: only absurd files are refused
APP = Budget(  # a shared server: a file may not cost more than a few hundred MB or seconds
    file_bytes=200 * 2**20,  # the upload limit of the Inspect page
    expanded_bytes=256 * 2**20,  # what a file may hold once decompressed
    elements=40_000_000,  # 160 MB of float32 weights: far beyond any model a page can draw
    layers=8,  # a page shows every layer; more do not fit on a screen
    hidden=4_096,  # heatmaps with more units are unreadable and slow
    steps=5_000,  # time steps of one uploaded input
    batch=256,  # sequences in one uploaded input
    corpus_bytes=100 * 2**20,  # a dataset file typed as a Local path on the Train page
    vocab_tokens=1_000_000,
    name="app",
)

_active: list[Budget] = [LIBRARY]


def current() -> Budget:
    """The budget in force for this process: LIBRARY unless the app switched to APP with `use`."""
    return _active[0]


def use(budget: Budget) -> None:
    """Make `budget` the process-wide default (the app calls `use(APP)` at start-up)."""
    if not isinstance(budget, Budget):
        raise TypeError(f"use() takes a Budget, got {type(budget).__name__}")
    _active[0] = budget


def resolve(budget: "Budget | None") -> Budget:
    """`budget` when given, else `current()`."""
    return current() if budget is None else budget


def replace(budget: Budget, **changes: int) -> Budget:
    """A copy of `budget` with some limits changed (unknown fields are an error)."""
    known = {f.name for f in fields(Budget)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise TypeError(f"unknown budget fields {unknown}; known: {sorted(known)}")
    return dataclasses.replace(budget, **changes)

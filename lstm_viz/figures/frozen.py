"""Finished figures that many sessions draw: their plain data is made once.

`st.plotly_chart(fig)` calls `fig.to_dict()` on every script run, a deep copy of the whole figure (a few ms
each, for every chart of every session's rerun). A `FrozenFigure` makes that dict once and hands out the same
one every time; the server-wide view cache (lstm_viz.serving.view_cache) keeps figures frozen. Read-only by
contract: change neither the figure nor the dict it returns.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import plotly.graph_objects as go


class FrozenFigure(go.Figure):
    """A figure whose `to_dict()` is computed once, on first use (the same dict is returned every time: do
    not change it). Made by `freeze`, which takes a finished figure over without copying it."""

    def to_dict(self) -> dict:
        finished = self.__dict__.get("_finished")
        if finished is None:  # two threads may both compute it once: the same data either way
            finished = self.__dict__["_finished"] = super().to_dict()
        return finished


def freeze(value: Any) -> Any:
    """`value` with every plotly figure in it frozen in place (the figures are taken over: nobody may change
    them any more): a figure, a tuple or list of values, or a dataclass whose fields hold figures (a gates
    view); anything else is returned as it is."""
    if type(value) is go.Figure:
        value.__class__ = FrozenFigure  # same object, same data: no copy, no validation
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            freeze(v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            freeze(getattr(value, f.name))
    return value

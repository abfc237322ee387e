"""Alarms while training: pure checks over probe recordings, and a watcher that raises each alarm once.

- gate saturation (Karpathy, Johnson & Fei-Fei 2015): the share of a sigmoid gate's values (all units, all
  valid probe steps) below `low` or above `high` exceeds `max_saturated` for `patience` probes in a row;
- dead units: h_t of a unit hardly moves (std over valid probe steps < `dead_std`) and stays near 0 (mean
  |h| < `dead_abs`) for `patience` probes in a row;
- vanishing gradient through the cell state: the gradient that reaches c_t shrinks by more than a factor
  of `min_step_factor` per step on average between the last and the first step of the probes.

A probe is anything with `gate_names`, `gates` / `hidden` as `[L, D, B, T, H]` arrays and `lengths` (a
`ProbeSnapshot`) or with `mask` (a `Trace`). The checks know nothing about any UI; each alarm names the
view ("saturation", "gradients") that shows it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from ..record.gate_table import SIGMOID_GATES
from ..record.results import GradientFlow


@dataclass(frozen=True)
class AlarmConfig:
    low: float = 0.1  # Karpathy et al.: a sigmoid gate below this is left-saturated
    high: float = 0.9  # ... and above this right-saturated
    max_saturated: float = 0.8  # alarm when more than this share of a gate's (unit, step) values is saturated
    gates: Optional[tuple[str, ...]] = None  # sigmoid gates to watch (None: every sigmoid gate of the model)
    patience: int = 3  # consecutive probes a condition must hold before it raises an alarm
    dead_std: float = 1e-3  # a unit whose h_t varies less than this over the probe steps ...
    dead_abs: float = 1e-2  # ... and whose mean |h_t| is below this is dead
    min_step_factor: float = 0.25  # vanishing: the gradient to c_t shrinks faster than this per step (geometric
    #                                mean; measured here: 0.58-0.79 in normal runs, 0.11-0.13 with forget biases at -8)

    def __post_init__(self):
        if not 0.0 <= self.low < self.high <= 1.0:
            raise ValueError(f"need 0 <= low < high <= 1; got low={self.low}, high={self.high}")
        if not 0.0 < self.max_saturated <= 1.0:
            raise ValueError(f"max_saturated must be in (0, 1]; got {self.max_saturated}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1 probe; got {self.patience}")
        if self.dead_std < 0 or self.dead_abs < 0 or not 0.0 < self.min_step_factor < 1.0:
            raise ValueError("need dead_std >= 0, dead_abs >= 0 and 0 < min_step_factor < 1")


@dataclass(frozen=True)
class Alarm:
    kind: str  # "saturation", "dead_units" or "vanishing_gradient"
    step: int  # training step of the probe that raised it
    layer: int
    direction: int
    gate: Optional[str]  # the saturated gate; None for dead units / vanishing gradients
    value: float  # saturated share, number of dead units, or per-step gradient factor
    units: tuple[int, ...]  # dead units (empty for the others)
    message: str  # one sentence for the Train page and the CLI log
    view: str  # the page that shows it: "saturation" or "gradients"


def _valid_mask(probe: Any) -> np.ndarray:
    """bool [B, T] of valid steps."""
    mask = getattr(probe, "mask", None)
    if mask is not None:
        return np.asarray(mask, dtype=bool)
    lengths = np.asarray(probe.lengths)
    steps = np.asarray(probe.hidden).shape[3]
    return np.arange(steps)[None, :] < lengths[:, None]


def gate_saturation(probe: Any, low: float = 0.1, high: float = 0.9, gates: Optional[tuple[str, ...]] = None
                    ) -> dict[tuple[str, int, int], tuple[float, float]]:
    """(gate, layer, direction) -> (share below `low`, share above `high`) of the gate's values at valid steps."""
    mask = _valid_mask(probe)[None, None, :, :, None]  # [1, 1, B, T, 1]
    names = [g for g in probe.gate_names if g in SIGMOID_GATES and (gates is None or g in gates)]
    out = {}
    for g in names:
        v = np.asarray(probe.gates[g], dtype=np.float32)  # [L, D, B, T, H]
        count = max(int(mask.sum()) * v.shape[-1], 1)
        left = ((v < low) & mask).sum(axis=(2, 3, 4)) / count  # [L, D]
        right = ((v > high) & mask).sum(axis=(2, 3, 4)) / count
        for layer in range(v.shape[0]):
            for d in range(v.shape[1]):
                out[(g, layer, d)] = (float(left[layer, d]), float(right[layer, d]))
    return out


def dead_units(probe: Any, dead_std: float = 1e-3, dead_abs: float = 1e-2) -> dict[tuple[int, int], np.ndarray]:
    """(layer, direction) -> indices of units whose h_t hardly moves and stays near 0 over valid steps."""
    mask = _valid_mask(probe)
    h = np.asarray(probe.hidden, dtype=np.float64)[:, :, mask]  # [L, D, valid steps, H]
    std, mean_abs = h.std(axis=2), np.abs(h).mean(axis=2)  # [L, D, H]
    dead = (std < dead_std) & (mean_abs < dead_abs)
    return {(layer, d): np.flatnonzero(dead[layer, d]) for layer in range(h.shape[0]) for d in range(h.shape[1])}


def cell_gradient_step_factor(flow: GradientFlow) -> dict[tuple[int, int], float]:
    """(layer, direction) -> geometric-mean factor per step by which ||dL/dc_t|| shrinks from the last
    processed step back to the first (1: kept, near 0: vanished); median over sequences of >= 2 steps."""
    if flow.dc is None:
        return {}
    dc = flow.dc.double().numpy()  # [L, D, B, T]
    lengths = np.asarray(flow.mask).sum(axis=1)
    out = {}
    for layer in range(dc.shape[0]):
        for d in range(dc.shape[1]):
            factors = []
            for b, n in enumerate(lengths):
                if n < 2:
                    continue
                first, last = (n - 1, 0) if d else (0, n - 1)  # a reverse direction starts at the end
                end = dc[layer, d, b, last]
                if end <= 0:
                    continue
                ratio = max(dc[layer, d, b, first], 1e-300) / end
                factors.append(ratio ** (1.0 / (n - 1)))
            if factors:
                out[(layer, d)] = float(np.median(factors))
    return out


class AlarmWatcher:
    """Call `observe(probe)` after each probe; it returns the alarms raised at that probe.

    Each condition raises once when it has held for `patience` probes in a row and again only after it has
    cleared. Thread-safe: the trainer's thread observes while a page reads `alarms`.
    """

    def __init__(self, config: AlarmConfig = AlarmConfig()):
        self.config = config
        self._streak: dict[tuple, int] = {}
        self._alarms: list[Alarm] = []
        self._lock = threading.Lock()

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        with self._lock:
            return tuple(self._alarms)

    def _hold(self, key: tuple, holds: bool) -> bool:
        """Advance the streak of `key`; True exactly when it reaches `patience`."""
        streak = self._streak.get(key, 0) + 1 if holds else 0
        self._streak[key] = streak
        return streak == self.config.patience

    def observe(self, probe: Any, step: Optional[int] = None, flow: Optional[GradientFlow] = None) -> list[Alarm]:
        cfg, step = self.config, int(getattr(probe, "step", 0) if step is None else step)
        raised: list[Alarm] = []
        for (g, layer, d), (left, right) in gate_saturation(probe, cfg.low, cfg.high, cfg.gates).items():
            if self._hold(("saturation", g, layer, d), left + right > cfg.max_saturated):
                raised.append(Alarm("saturation", step, layer, d, g, left + right, (), (
                    f"step {step}: gate {g} (layer {layer}, direction {d}) is saturated on {left + right:.0%} of "
                    f"its values ({left:.0%} below {cfg.low:g}, {right:.0%} above {cfg.high:g}) for "
                    f"{cfg.patience} probes in a row"), "saturation"))
        for (layer, d), units in dead_units(probe, cfg.dead_std, cfg.dead_abs).items():
            key = ("dead_units", layer, d)
            if self._hold(key, units.size > 0):
                shown = ", ".join(map(str, units[:10])) + (", ..." if units.size > 10 else "")
                raised.append(Alarm("dead_units", step, layer, d, None, float(units.size), tuple(units.tolist()), (
                    f"step {step}: {units.size} unit(s) of h_t in layer {layer}, direction {d} are dead (constant "
                    f"near 0 for {cfg.patience} probes): {shown}"), "saturation"))
        if flow is not None:
            for (layer, d), factor in cell_gradient_step_factor(flow).items():
                if self._hold(("vanishing", layer, d), factor < cfg.min_step_factor):
                    raised.append(Alarm("vanishing_gradient", step, layer, d, None, factor, (), (
                        f"step {step}: the gradient through the cell state of layer {layer}, direction {d} "
                        f"shrinks by a factor {factor:.2g} per step (below {cfg.min_step_factor:g}) for "
                        f"{cfg.patience} probes"), "gradients"))
        with self._lock:
            self._alarms.extend(raised)
        return raised

    def attach(self, trainer: Any, gradients: bool = True,
               on_alarm: Optional[Callable[[Alarm], None]] = None) -> None:
        """Observe every probe of `trainer` (its `on_probe` callback, in the training thread; the trainer's
        monitoring share counts this time as part of the probe).

        gradients: also follow the gradient through the cell state on the probe batch (LSTM only), with the
        stand-in loss 0.5 * ||final states||^2 (what reaches the end of each sequence).
        on_alarm: called with each alarm as it is raised (e.g. the CLI prints it)."""
        def on_probe(t: Any) -> None:
            probe = t.snapshot().probes[-1]
            flow = probe_cell_flow(t.model, t.probes.batch) if gradients and probe.kind == "lstm" else None
            for alarm in self.observe(probe, flow=flow):
                if on_alarm is not None:
                    on_alarm(alarm)

        trainer.add_callback("on_probe", on_probe)


def probe_cell_flow(model: Any, batch: Any) -> Optional[GradientFlow]:
    """Gradient flow of the stand-in loss 0.5 * (||h_n||^2 + ||c_n||^2) on a probe batch; None without one."""
    if batch is None:
        return None
    from ..record.gradient_flow import gradient_flow  # the step-wise graph, only when gradients are watched
    from .modes import eval_mode

    def final_state_loss(_output, state):
        h_n, c_n = state
        return 0.5 * (h_n.pow(2).sum() + c_n.pow(2).sum())

    with eval_mode(model):
        x = model.embed_inputs(batch.tokens, batch.chars).detach()
        return gradient_flow(model.rnn, x, final_state_loss, lengths=batch.lengths)

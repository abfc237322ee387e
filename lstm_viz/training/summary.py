"""Plain summaries of a Trainer snapshot for display: curve points, a comparison-table row, progress text.

Pure functions of a `TrainerSnapshot` (lstm_viz.train); the Train page renders what they return.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence, TypeVar

T = TypeVar("T")


def thin(items: Sequence[T], max_points: int) -> list[T]:
    """At most `max_points` items at an even stride, always keeping the first and the last."""
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    n = len(items)
    if n <= max_points:
        return list(items)
    idx = sorted({round(k * (n - 1) / (max_points - 1)) for k in range(max_points)})
    return [items[i] for i in idx]


def bin_means(events: Sequence, max_points: int) -> list[dict]:
    """Step events averaged in at most `max_points` consecutive bins of equal size (the last may be shorter):
    per-step loss and accuracy of small batches are noisy, and a lecture hall wants the trend.
    Each point has the bin's last step and the plain means of its events' loss and accuracy."""
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    size = max(1, math.ceil(len(events) / max_points))
    points = []
    for start in range(0, len(events), size):
        chunk = events[start:start + size]
        points.append({"step": chunk[-1].step, "loss": sum(e.loss for e in chunk) / len(chunk),
                       "accuracy": sum(e.accuracy for e in chunk) / len(chunk)})
    return points


def curve_events(snapshot, max_points: int = 150) -> list[dict]:
    """Points for `figures.training_curves`: binned step events (loss, accuracy), then each dev evaluation."""
    points = bin_means(snapshot.events, max_points)
    points += [{"step": e.step, "dev_accuracy": e.accuracy} for e in snapshot.evals if e.split == "dev"]
    return points


def grad_norm_events(snapshot, max_points: int = 200) -> list[dict]:
    """Points for `figures.gate_grad_norm_curves`: the events that carry per-gate gradient norms."""
    with_norms = [e for e in snapshot.events if e.gate_grad_norms]
    return [{"step": e.step, "gate_grad_norms": dict(e.gate_grad_norms)} for e in thin(with_norms, max_points)]


def arch_label(config) -> str:
    """e.g. "BiLSTM x2, 256 units, chars" from a ModelConfig."""
    name = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}.get(config.arch, str(config.arch))
    if config.arch == "rnn" and config.nonlinearity == "relu":
        name += " (ReLU)"
    label = ("Bi" if config.bidirectional else "") + name
    if config.num_layers > 1:
        label += f" x{config.num_layers}"
    label += f", {config.hidden_size} units"
    if config.char_features:
        label += ", chars"
    return label


def _number(metrics: Mapping[str, Any], key: str) -> Optional[float]:
    value = metrics.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def run_row(name: str, dataset: str, config, snapshot) -> dict:
    """One row of the run-comparison table (None where a value is not known yet)."""
    m = snapshot.metrics
    return {
        "name": name,
        "dataset": dataset,
        "arch": arch_label(config) if config is not None else "?",
        "status": snapshot.status,
        "steps": snapshot.step,
        "loss": _number(m, "loss"),
        "dev accuracy": _number(m, "dev_accuracy"),
        "tokens/s": _number(m, "tokens_per_s"),
    }


def format_seconds(seconds: Optional[float]) -> str:
    """"0.039 s", "42 s", "3 min 05 s", "2 h 01 min"; "?" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 0.95:  # a tiny model's epoch: two significant digits, never "0.0 s"
        return f"{seconds:.2g} s"
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def progress_text(snapshot, epochs: Optional[int] = None) -> str:
    """"step 120 / 600 · epoch 3 / 10 · 4.2 s · ETA 17 s" for the progress bar."""
    parts = [f"step {snapshot.step:,} / {snapshot.total_steps:,}"]
    if snapshot.epoch:
        parts.append(f"epoch {snapshot.epoch}" + (f" / {epochs}" if epochs else ""))
    parts.append(f"{format_seconds(snapshot.elapsed_s)} elapsed")
    if snapshot.status == "running":
        parts.append(f"ETA {format_seconds(snapshot.eta_s)}")
    return " · ".join(parts)


def planned_steps(n_train: int, epochs: int, batch_size: int, max_steps: Optional[int] = None) -> int:
    """Optimizer steps a run will take (as the Trainer plans them)."""
    planned = epochs * math.ceil(n_train / batch_size)
    return min(planned, max_steps) if max_steps else planned


def every(total_steps: int, times: int) -> int:
    """A period k >= 1 so that something done every k steps happens about `times` times in the run."""
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    return max(1, total_steps // times)


def checkpoint_metrics(snapshot) -> dict:
    """Plain numbers worth keeping in a checkpoint (what `checkpoint_bytes(metrics=...)` takes)."""
    out: dict[str, Any] = {k: v for k in ("loss", "accuracy", "dev_loss", "dev_accuracy", "best_dev_accuracy",
                                           "tokens_per_s", "tokens_seen")
                           if (v := _number(snapshot.metrics, k)) is not None}
    out.update(steps=int(snapshot.step), epochs=int(snapshot.epoch), train_seconds=float(snapshot.elapsed_s),
               status=str(snapshot.status))
    return out

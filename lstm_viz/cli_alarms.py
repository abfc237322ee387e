"""The command line's alarms while training (issue 12): options, and a watcher whose alarms are printed as
they are raised and listed in the --json result. The checks themselves are lstm_viz.training.alarms."""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any, Optional

from .training.alarms import Alarm, AlarmConfig, AlarmWatcher

_DEFAULTS = AlarmConfig()


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text}")
    return value


def add_alarm_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "alarms while training", "At each probe recording the run checks its gates: a sigmoid gate saturated "
        "(Karpathy et al. 2015: below 0.1 or above 0.9) on most of its values, dead units, or a gradient "
        "through the cell state that vanishes. Each alarm is printed once when it has held for several probes "
        "in a row.")
    g.add_argument("--alarms", action=argparse.BooleanOptionalAction, default=True,
                   help="watch the probe recordings and report alarms")
    g.add_argument("--saturation-low", type=_share, default=_DEFAULTS.low, metavar="P",
                   help="a sigmoid gate value below this is saturated (left)")
    g.add_argument("--saturation-high", type=_share, default=_DEFAULTS.high, metavar="P",
                   help="a sigmoid gate value above this is saturated (right)")
    g.add_argument("--saturation-share", type=_share, default=_DEFAULTS.max_saturated, metavar="F",
                   help="alarm when more than this share of a gate's values is saturated")
    g.add_argument("--alarm-patience", type=int, default=_DEFAULTS.patience, metavar="K",
                   help="probes in a row a condition must hold before it raises an alarm")
    g.add_argument("--vanishing-factor", type=float, default=_DEFAULTS.min_step_factor, metavar="F",
                   help="alarm when the gradient through the cell state shrinks faster than this per step")
    g.add_argument("--probe-every", type=int, metavar="K",
                   help="record the probe sentences (and check alarms) every K steps; default: the preset's")
    g.add_argument("--monitor-share", type=float, metavar="F",
                   help="share of the training time probes and alarm checks may use (default 0.05; 0: no cap)")


def alarm_config(args: argparse.Namespace) -> AlarmConfig:
    """The thresholds the options ask for (ValueError naming the option when they do not fit together)."""
    try:
        return AlarmConfig(low=args.saturation_low, high=args.saturation_high,
                           max_saturated=args.saturation_share, patience=args.alarm_patience,
                           min_step_factor=args.vanishing_factor)
    except ValueError as err:
        raise ValueError(f"alarm options (--saturation-low/--saturation-high/--saturation-share/"
                         f"--alarm-patience/--vanishing-factor): {err}") from None


def print_alarm(alarm: Alarm) -> None:
    print(f"ALARM {alarm.kind}: {alarm.message} (see the {alarm.view} view)", file=sys.stderr, flush=True)


def watch_alarms(trainer: Any, config: AlarmConfig, quiet: bool) -> Optional[AlarmWatcher]:
    """An AlarmWatcher on `trainer`'s probes that prints each alarm as it is raised (not when `quiet`);
    None when the run records no probes."""
    if trainer.probes.batch is None:
        return None
    watcher = AlarmWatcher(config)
    watcher.attach(trainer, on_alarm=None if quiet else print_alarm)
    return watcher


def alarms_json(watcher: Optional[AlarmWatcher]) -> list[dict]:
    return [] if watcher is None else [{**asdict(a), "units": list(a.units)} for a in watcher.alarms]

"""What the trainer watches besides the loss, each a separate part it calls:

- `MonitorBudget`: probes and per-gate gradient norms use at most a share of the training time, each kind
  scheduled by its measured cost within its own part of the share (the first and last probe included).
- `gate_norms`: per-gate gradient norms of the recurrent layer after a backward pass.
- `NanGuard`: keeps the weights of the last step whose loss was finite and puts them back after NaN/inf.
- `ProbeRecorder`: replays fixed probe examples through `model.rnn` and records the gates (ProbeSnapshot).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import torch

from ..data.batching import Batch, BatchEncoder
from ..data.corpus import Corpus, Example, TaggedSentence
from ..record.gradient_flow import gate_grad_norms
from ..record.tracing import trace
from .config import TrainConfig
from .events import ProbeSnapshot
from .models import Model
from .modes import eval_mode


class MonitorBudget:
    """Monitoring calls (probes, per-gate norms) that together use at most `share` of the time since `start()`,
    the mandatory first and last probe included (0: no cap).

    Each kind of call is scheduled by its measured cost: a due call runs only when the time spent so far, plus
    what this kind cost last time, plus `reserve` (what the mandatory final call will cost) stays within
    `share` of the elapsed time. So on a tiny model whose probe costs two training steps, probes simply come
    less often; a call never pushes the total over the share, and the last probe has room kept for it.
    Forced calls (`force=True`: the first and last probe) always run and count like the others.

    `portions` (kind -> its part of the share, the parts adding up to 1) gives each kind its own part, so one kind
    cannot crowd out another: in the tutorial a probe costs as much as 25 per-gate norm calls, and one early probe
    left no room for norms over most of the run, so the Train page drew its gradient-norm chart over steps 3-18
    of 600. None: all kinds draw on the whole share together.

    `clock` measures the elapsed time, `cost_clock` what a call costs. In the app the training thread shares the
    GIL with the page's redraws: a 0.2 ms norm call took 8 ms of wall time while a chart was built, and that one
    wait used up the norms' part for the rest of the run. Such a wait slows training steps as much; the run's
    own CPU time in the call (`time.thread_time`) is what monitoring adds. (Waits on a GPU take no CPU time, so
    a CUDA run measures calls by the wall clock: `cost_clock_for`.)
    """

    def __init__(self, share: float, clock: Callable[[], float] = time.perf_counter,
                 portions: Optional[Mapping[str, float]] = None,
                 cost_clock: Callable[[], float] = time.thread_time):
        if portions is not None and (min(portions.values(), default=0.0) <= 0.0
                                     or not math.isclose(sum(portions.values()), 1.0)):
            raise ValueError(f"portions must be positive and add up to 1, got {dict(portions)!r}")
        self.share, self._clock, self._cost_clock = share, clock, cost_clock
        self.portions = dict(portions) if portions is not None else None
        self.spent_s = 0.0  # seconds spent in monitoring calls since start()
        self.spent_by: dict[str, float] = {}  # kind -> its part of spent_s
        self.cost_s: dict[str, float] = {}  # kind -> seconds its next call is expected to take
        self._last_s: dict[str, float] = {}  # kind -> seconds its last call took
        self._first_s: dict[str, float] = {}  # kind -> seconds its first call took (warm-up included)
        self._set_up: dict[str, float] = {}  # first calls made before start(), not yet counted in spent_s
        self.reserve_kind: Optional[str] = None  # the kind of the forced call at the end (its cost is kept free)
        self.t0 = clock()

    def start(self, reserve_kind: Optional[str] = None) -> None:
        """Count from now. A kind's first call made before (the run's probe at step 0) carries one-time warm-up
        (0.5 s in a fresh thread against a few ms warm): it counts at its warm cost once its next call has
        measured that, so the share holds with it and a cold start does not use up a short run's share."""
        self.spent_s, self.spent_by, self.t0, self.reserve_kind = 0.0, {}, self._clock(), reserve_kind
        self._set_up = dict(self._first_s)

    def allows(self, kind: str, now: Optional[float] = None) -> bool:
        """Whether a `kind` call fits in its part of the share now (always, without a cap)."""
        if not self.share:
            return True
        now = self._clock() if now is None else now
        if self.portions is None:
            spent, part = self.spent_s, 1.0
        else:
            spent, part = self.spent_by.get(kind, 0.0), self.portions.get(kind, 0.0)
        keeps_reserve = self.reserve_kind is not None and (self.portions is None or kind == self.reserve_kind)
        reserve = self.cost_s.get(self.reserve_kind, 0.0) if keeps_reserve else 0.0
        return spent + self.cost_s.get(kind, 0.0) + reserve <= part * self.share * (now - self.t0)

    def run(self, kind: str, fn: Callable[..., Any], *args, force: bool = False) -> Any:
        """fn(*args), or None (not called) when it does not fit in the share and is not forced."""
        if not force and not self.allows(kind):
            return None
        start = self._cost_clock()
        try:
            return fn(*args)
        finally:
            took = self._cost_clock() - start
            self._spend(kind, took)
            # The next call is expected to cost as much as the dearer of the last two warm calls. A kind's first
            # call carries one-time warm-up (allocations, kernel choice) and says little about the next: it counts
            # in spent_s but not in the estimate, so the next call runs once the time spent fits, and measures.
            warm_before = self._last_s.get(kind)  # None before the first call
            if warm_before is None:
                self._first_s[kind] = took
            elif kind in self._set_up:
                self._spend(kind, min(self._set_up.pop(kind), took))
            self.cost_s[kind] = 0.0 if warm_before is None else max(took, warm_before)
            self._last_s[kind] = 0.0 if warm_before is None else took

    def _spend(self, kind: str, seconds: float) -> None:
        self.spent_s += seconds
        self.spent_by[kind] = self.spent_by.get(kind, 0.0) + seconds

    @property
    def used_share(self) -> float:
        """Share of the time since start() spent in monitoring calls."""
        return self.spent_s / max(self._clock() - self.t0, 1e-9)


# parts of the monitoring share when a run takes both: a tutorial probe costs ~25 per-gate norm calls, so the norms'
# third still buys a gradient-norm point every few steps across a short run
MONITOR_PORTIONS = MappingProxyType({"probe": 2 / 3, "norms": 1 / 3})


def cost_clock_for(device: torch.device) -> Callable[[], float]:
    """How MonitorBudget measures a call on `device`: the thread's CPU time, or the wall clock where the call
    waits on an accelerator (a CUDA sync may sleep and take no CPU time)."""
    return time.thread_time if device.type == "cpu" else time.perf_counter


def monitor_portions(cfg: TrainConfig, has_probes: bool) -> Optional[Mapping[str, float]]:
    """MonitorBudget's parts of the share for the kinds of monitoring this run takes (None: it takes none)."""
    kinds = [kind for kind, on in (("probe", cfg.probe_every and has_probes), ("norms", cfg.grad_norm_every)) if on]
    if len(kinds) == 1:
        return {kinds[0]: 1.0}
    return MONITOR_PORTIONS if kinds else None


def gate_norms(rnn: torch.nn.Module) -> Mapping[tuple[int, int, str], float]:
    """(layer, direction, gate) -> L2 norm of that gate's weight gradients (read-only)."""
    return MappingProxyType(gate_grad_norms(rnn))


class NanGuard:
    """The weights of the last step whose loss was finite: `save()` before a step, `restore()` after NaN/inf."""

    def __init__(self, params: Sequence[torch.nn.Parameter]):
        self._params = list(params)
        self._data = [p.detach() for p in self._params]  # views sharing the parameters' storage
        # one flat copy, written by a single cat (5 us against 8 us for a foreach copy of the tutorial's 7
        # tensors, whose steps take 0.3 ms) where the weights allow it: contiguous, one dtype and device
        self._flat = [t.view(-1) for t in self._data] if self._data and all(
            t.is_contiguous() and t.dtype == self._data[0].dtype and t.device == self._data[0].device
            for t in self._data) else None
        self._good: Optional[list[torch.Tensor]] = None  # the saved weights, shaped like the parameters
        self._good_flat: Optional[torch.Tensor] = None

    def save(self) -> None:
        if self._flat is not None:
            if self._good_flat is None:
                self._good_flat = torch.cat(self._flat)
                self._good = [g.view_as(t) for g, t in zip(self._good_flat.split([t.numel() for t in self._data]),
                                                           self._data)]
            else:
                torch.cat(self._flat, out=self._good_flat)
        elif self._good is None:
            self._good = [t.clone() for t in self._data]
        else:
            torch._foreach_copy_(self._good, self._data)  # one fused copy

    def restore(self) -> bool:
        """Put the saved weights back; False when nothing was saved."""
        if self._good is None:
            return False
        with torch.no_grad():
            torch._foreach_copy_(self._data, self._good)
        return True

    def weights_finite(self) -> bool:
        with torch.no_grad():
            return bool(torch.stack([torch.isfinite(p).all() for p in self._params]).all())


def _frozen_array(t: Optional[torch.Tensor]) -> Optional[np.ndarray]:
    if t is None:
        return None
    a = t.detach().to(torch.float16).cpu().numpy()
    a.flags.writeable = False
    return a


def choose_probe_examples(corpus: Corpus, cfg: TrainConfig, examples: Optional[Sequence[Example]] = None) -> tuple:
    """The examples a run records: the given ones, else the first dev (else train) ones with >= 2 tokens,
    each cut to cfg.probe_max_len tokens."""
    if cfg.probe_every == 0 or cfg.probe_sentences == 0:
        return ()
    if examples is None:
        pool = [ex for ex in (corpus.dev or corpus.train) if len(ex.tokens) >= 2]
        pool = pool or [ex for ex in corpus.train if len(ex.tokens)]
        examples = pool[: cfg.probe_sentences]
    cut = cfg.probe_max_len
    return tuple(replace(ex, tokens=ex.tokens[:cut], tags=ex.tags[:cut]) if isinstance(ex, TaggedSentence)
                 else replace(ex, tokens=ex.tokens[:cut]) for ex in examples if len(ex.tokens))


class ProbeRecorder:
    """Records the gates of fixed probe examples (eval mode, no gradients) as a ProbeSnapshot."""

    def __init__(self, encoder: BatchEncoder, examples: Sequence[Example], device: torch.device):
        self.encoder = encoder
        self.examples = tuple(examples)
        self.batch: Optional[Batch] = (encoder.collate(encoder.encode_all(self.examples)).to(device)
                                       if self.examples else None)
        self.error: Optional[str] = None  # why recording was switched off

    def record(self, model: Model, step: int, epoch: int) -> Optional[ProbeSnapshot]:
        """A recording of the model now; None when there are no probes or recording failed (see `error`)."""
        if self.batch is None:
            return None
        b = self.batch
        try:
            with eval_mode(model):
                tr = trace(model.rnn, model.embed_inputs(b.tokens, b.chars), lengths=b.lengths)
                logits = model(b.tokens, b.model_lengths, b.chars)
        except Exception as err:  # noqa: BLE001 - a recording problem must not end the training
            self.batch, self.error = None, f"probes disabled: {type(err).__name__}: {err}"
            return None
        targets = tuple(ex.tags if isinstance(ex, TaggedSentence) else ex.label for ex in self.examples)
        return ProbeSnapshot(
            step=step, epoch=epoch, kind=tr.kind, tokens=tuple(ex.tokens for ex in self.examples),
            lengths=tuple(b.lengths.tolist()), gate_names=tuple(tr.gate_names),
            gates=MappingProxyType({k: _frozen_array(v) for k, v in tr.gates.items()}),
            hidden=_frozen_array(tr.hidden), cell=_frozen_array(tr.cell),
            predictions=tuple(self.encoder.decode(b, logits)), targets=targets)


def nan_message(value: float, step: int, cfg: TrainConfig) -> str:
    """What to tell the user when the loss stopped being finite."""
    what = "NaN" if math.isnan(value) else "infinite"
    clip = (f"lower gradient clipping (now {cfg.clip_grad_norm:g})" if cfg.clip_grad_norm
            else "enable gradient clipping")
    return (f"loss became {what} at step {step}; lower the learning rate (now {cfg.lr:g}) or {clip}. "
            f"The weights of the last step with a finite loss were restored.")

"""Training: Tagger and Classifier models around torch.nn.LSTM/GRU/RNN (models.py), what a run is told
(config.py, presets.py, threads.py), what it needs before the first step (building.py: encoder, model,
optimizer, batches), the Trainer (trainer.py: its loop; background.py: thread, stop, callbacks) with its
published state (run_state.py, events.py) and monitoring (monitoring.py: probes, gate-gradient norms, NaN
guard, monitoring budget), evaluation (evaluation.py; modes.py: the one eval-mode switch), runs as the app sees
them (run.py: one Run protocol; loaded_run.py: a checkpoint as a finished run; live_copy.py: weights handed
from the training thread between steps), checkpoints of plain data, and the history of the probe recordings."""
from .building import build_encoder, warm_up
from .config import CALLBACK_EVENTS, STATUSES, TrainConfig, resolve_device
from .evaluation import batch_loss, evaluate, predict
from .events import EvalEvent, EvalResult, ProbeSnapshot, StepEvent, TrainerSnapshot
from .modes import eval_mode
from .presets import TRAIN_PRESETS
from .trainer import Trainer

__all__ = [
    "Trainer", "TrainConfig", "TRAIN_PRESETS", "STATUSES", "CALLBACK_EVENTS", "resolve_device",
    "build_encoder", "warm_up", "batch_loss", "evaluate", "predict", "eval_mode",
    "StepEvent", "EvalEvent", "EvalResult", "ProbeSnapshot", "TrainerSnapshot",
]

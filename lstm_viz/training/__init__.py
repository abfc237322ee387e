"""Training: Tagger and Classifier models around torch.nn.LSTM/GRU/RNN (models.py), what a run is told
(config.py, presets.py, threads.py), what it needs before the first step (building.py), the Trainer
(trainer.py: a plain thread, a stop event) with its published state (run_state.py, events.py) and its
monitoring (monitoring.py: probes, gate-gradient norms, NaN guard, monitoring budget), evaluation
(evaluation.py, modes.py: the one eval-mode switch), checkpoints of plain data, and the history of what a
run recorded on its probe sentences."""
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

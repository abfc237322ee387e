"""What a run will cost before it starts: its parameter count (the model built on torch's "meta" device, so
nothing is allocated), its training time on one free core and its memory while kept, from its configs alone.

The time model is deliberately plain: a fixed cost per optimizer step (Python, autograd and optimizer
overhead, which is all the tutorial tagger pays) plus floating-point work per token (about 6 multiply-adds
per weight for forward and backward) plus the optimizer's pass over every parameter. The constants were
measured on this project's 2-core CPU (see SECONDS_PER_STEP, FLOPS); the scheduler corrects the estimate by
the ratio it observes between estimated and actual training times.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from ..data.corpus import Corpus
from ..training import TrainConfig, build_encoder
from ..training.models import ModelConfig, build_model

SECONDS_PER_STEP = 1.0e-3  # fixed overhead of one optimizer step on a tiny model (tutorial: ~0.6 s / 600 steps)
FLOPS = 12.0e9  # floating-point operations per second one core sustains on these recurrent matrices (2-core CPU here)
FLOPS_PER_WEIGHT_TOKEN = 6  # forward (2) and backward (4) per dense weight per token
OPTIMIZER_FLOPS_PER_PARAM = 10  # clipping, Adam/SGD update and the NaN guard's copy, per parameter per step
BYTES = 4  # float32
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@dataclass(frozen=True)
class RunCost:
    params: int  # every parameter of the model
    dense_params: int  # parameters multiplied on every token (all but embedding tables)
    steps: int  # planned optimizer steps
    tokens_per_step: float  # real tokens in one batch, on average
    seconds: float  # estimated training time on one otherwise idle core
    bytes: int  # estimated memory of the run while it is kept (model, optimizer, activations, probes, data)

    @property
    def megabytes(self) -> float:
        return self.bytes / 2**20


def count_params(model_config: ModelConfig, vocab_size: int, num_labels: int, char_vocab_size: int = 0
                 ) -> tuple[int, int]:
    """(all parameters, dense parameters) of the model these sizes give, built on the meta device."""
    with torch.device("meta"):
        model = build_model(model_config, vocab_size, num_labels, char_vocab_size)
    total = sum(p.numel() for p in model.parameters())
    tables = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    return total, total - tables


def estimate_cost(model_config: ModelConfig, train_config: TrainConfig, corpus: Corpus,
                  encoder=None) -> RunCost:
    """The cost of training `model_config` on `corpus` with `train_config` (the encoder is built from the
    corpus when not given: that reads the training split once, without building the model)."""
    encoder = encoder if encoder is not None else build_encoder(model_config, corpus)
    chars = len(encoder.char_vocab) if encoder.char_vocab else 0
    params, dense = count_params(model_config, len(encoder.vocab), len(encoder.labels), chars)
    lengths = [len(ex.tokens) for ex in corpus.train] or [1]
    n_train = len(lengths)
    batch = min(train_config.batch_size, n_train)
    tokens_per_step = batch * sum(lengths) / n_train
    planned = train_config.epochs * math.ceil(n_train / train_config.batch_size)
    steps = min(planned, train_config.max_steps) if train_config.max_steps else planned
    seconds = steps * step_seconds(params, dense, tokens_per_step, model_config)
    if train_config.eval_every and corpus.dev:  # forward only over dev, each eval_every epochs
        evals = math.ceil(train_config.epochs / train_config.eval_every)
        seconds += evals * 2 * dense * sum(len(ex.tokens) for ex in corpus.dev) / FLOPS
    if train_config.time_budget_s:
        seconds = min(seconds, train_config.time_budget_s)
    return RunCost(params=params, dense_params=dense, steps=steps, tokens_per_step=tokens_per_step,
                   seconds=seconds, bytes=run_bytes(params, model_config, train_config, tokens_per_step,
                                                    sum(lengths)))


def step_seconds(params: int, dense: int, tokens_per_step: float, model_config: ModelConfig) -> float:
    flops = FLOPS_PER_WEIGHT_TOKEN * dense * tokens_per_step + OPTIMIZER_FLOPS_PER_PARAM * params
    if model_config.char_features:  # the char BiLSTM runs once per word over ~6 characters
        flops += 6 * FLOPS_PER_WEIGHT_TOKEN * 8 * model_config.char_hidden * (
            model_config.char_embed_dim + model_config.char_hidden) * tokens_per_step
    return SECONDS_PER_STEP + flops / FLOPS


def run_bytes(params: int, model_config: ModelConfig, train_config: TrainConfig, tokens_per_step: float,
              train_tokens: int) -> int:
    """Memory of a kept run: weights and their copies, one step's activations, kept probes and the encoded
    training data."""
    copies = 2 + 1  # weights, gradients, the analysis copy pages take of a trained model
    copies += {"adam": 2}.get(train_config.optimizer, 1 if train_config.momentum else 0)
    copies += int(train_config.guard_nan) + int(train_config.restore_best)
    units = model_config.num_layers * model_config.num_directions * model_config.hidden_size
    per_token = units * (GATES[model_config.arch] + 3) + model_config.embed_dim  # gates, c, h, tanh(c); input
    activations = 2 * per_token * tokens_per_step * BYTES  # autograd keeps about as much again
    probe_tokens = train_config.probe_sentences * train_config.probe_max_len
    probes = (train_config.max_probes * probe_tokens * units * (GATES[model_config.arch] + 2) * 2
              if train_config.probe_every else 0)  # float16
    data = train_tokens * 8 * (2 + (12 if model_config.char_features else 0))  # int64 ids (+ chars)
    return int(params * BYTES * copies + activations + probes + data + 300 * train_config.max_events)


def trainer_cost(trainer, corpus: Optional[Corpus] = None) -> RunCost:
    """The cost of an already built Trainer (its encoder and configs; its model is not touched)."""
    return estimate_cost(trainer.model_config, trainer.train_config, corpus or trainer.corpus, trainer.encoder)

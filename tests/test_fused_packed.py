"""packed_forward (fused kernels on CPU) against torch.nn.LSTM/GRU/RNN over a real PackedSequence:
outputs, final states and gradients for random configurations, initial states, dropout, and the models."""
from __future__ import annotations

import random

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstm_viz.training.fused_packed import packed_forward
from lstm_viz.training.models import ModelConfig, build_model

pytestmark = pytest.mark.timeout(120)


def _reference(module, x, lengths, hx=None):
    batch_first = module.batch_first
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, state = module(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    return out, state


def _states(state):
    return list(state) if isinstance(state, tuple) else [state]


def _random_case(rng: random.Random):
    kind = rng.choice(["LSTM", "GRU", "RNN"])
    extra = {"nonlinearity": rng.choice(["tanh", "relu"])} if kind == "RNN" else {}
    if kind == "LSTM" and rng.random() < 0.2:
        extra["proj_size"] = 3
    module = getattr(nn, kind)(rng.randint(1, 6), rng.randint(4, 9), num_layers=rng.randint(1, 3),
                               bidirectional=rng.random() < 0.6, batch_first=rng.random() < 0.5,
                               bias=rng.random() < 0.85, **extra)
    batch, steps = rng.randint(1, 7), rng.randint(1, 12)
    lengths = torch.tensor([rng.randint(1, steps) for _ in range(batch)])
    lengths[rng.randrange(batch)] = steps  # pad_packed_sequence's total_length needs one full sequence
    shape = (batch, steps, module.input_size) if module.batch_first else (steps, batch, module.input_size)
    return module, torch.randn(shape), lengths


@pytest.mark.parametrize("seed", range(40))
def test_random_configs_match_packed_module_outputs_states_and_gradients(seed):
    torch.manual_seed(seed)
    module, x, lengths = _random_case(random.Random(seed))
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref_out, ref_state = _reference(module, x1, lengths)
    out, state = packed_forward(module, x2, lengths)
    assert out.shape == ref_out.shape
    torch.testing.assert_close(out, ref_out, atol=2e-6, rtol=1e-5)
    for got, want in zip(_states(state), _states(ref_state), strict=True):
        torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-5)
    # gradients of a random function of everything returned, w.r.t. the inputs and the module's own weights
    weight = torch.randn_like(out)
    state_weights = [torch.randn_like(s) for s in _states(ref_state)]

    def objective(o, s):
        return (o * weight).sum() + sum((a * w).sum() for a, w in zip(_states(s), state_weights))

    params = list(module.parameters())
    want = torch.autograd.grad(objective(ref_out, ref_state), [x1, *params])
    got = torch.autograd.grad(objective(out, state), [x2, *params])
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_initial_state_is_used_like_the_packed_module(kind):
    torch.manual_seed(1)
    module = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    x, lengths = torch.randn(4, 6, 3), torch.tensor([6, 2, 5, 1])
    h0 = torch.randn(4, 4, 5)
    hx = (h0, torch.randn(4, 4, 5)) if kind == "LSTM" else h0
    ref_out, ref_state = _reference(module, x, lengths, hx)
    out, state = packed_forward(module, x, lengths, hx)
    torch.testing.assert_close(out, ref_out, atol=2e-6, rtol=1e-5)
    for got, want in zip(_states(state), _states(ref_state), strict=True):
        torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-5)


def test_without_cell_state_lstm_returns_the_same_h_n_and_no_c_n():
    torch.manual_seed(2)
    module = nn.LSTM(3, 5, bidirectional=True, batch_first=True)
    x, lengths = torch.randn(3, 7, 3), torch.tensor([7, 3, 1])
    (h_full, c_full), (h_only, c_none) = packed_forward(module, x, lengths)[1], \
        packed_forward(module, x, lengths, cell_state=False)[1]
    assert c_none is None and c_full.shape == (2, 3, 5)
    torch.testing.assert_close(h_only, h_full)


def test_dropout_between_layers_only_in_training_and_padding_stays_zero():
    torch.manual_seed(3)
    module = nn.LSTM(4, 6, num_layers=2, dropout=0.5, batch_first=True)
    x, lengths = torch.randn(5, 8, 4), torch.tensor([8, 3, 5, 1, 8])
    module.eval()
    ref_out, _ = _reference(module, x, lengths)
    torch.testing.assert_close(packed_forward(module, x, lengths)[0], ref_out, atol=2e-6, rtol=1e-5)
    module.train()
    trained, _ = packed_forward(module, x, lengths)
    assert (trained - ref_out).abs().max() > 1e-3  # the second layer saw dropped inputs
    valid = torch.arange(8)[None, :] < lengths[:, None]
    assert trained[~valid].abs().max() == 0
    one_layer = nn.LSTM(4, 6, dropout=0.0, batch_first=True).train()
    torch.testing.assert_close(packed_forward(one_layer, x, lengths)[0], _reference(one_layer, x, lengths)[0],
                               atol=2e-6, rtol=1e-5)


def test_rejects_non_sequence_modules_and_bad_lengths():
    with pytest.raises(TypeError, match="LSTM, GRU or RNN"):
        packed_forward(nn.LSTMCell(3, 4), torch.randn(2, 3), torch.tensor([1, 1]))
    module = nn.GRU(3, 4, batch_first=True)
    with pytest.raises(ValueError, match="lengths"):
        packed_forward(module, torch.randn(2, 5, 3), torch.tensor([6, 1]))
    with pytest.raises(ValueError, match="lengths"):
        packed_forward(module, torch.randn(2, 5, 3), torch.tensor([0, 5]))


@pytest.mark.parametrize("task", ["pos", "sentiment"])
def test_models_train_the_plain_rnn_module_with_packed_semantics(task):
    """A model's forward uses its own `.rnn` weights (state_dict unchanged) and matches the packed module."""
    torch.manual_seed(4)
    cfg = ModelConfig(task=task, embed_dim=5, hidden_size=6, num_layers=2, bidirectional=True,
                      char_embed_dim=3, char_hidden=4, pooling="last")
    model = build_model(cfg, vocab_size=12, num_labels=3, char_vocab_size=9).eval()
    assert type(model.rnn) is nn.LSTM and type(model.char_encoder.rnn) is nn.LSTM
    tokens = torch.randint(2, 12, (3, 7))
    lengths = torch.tensor([7, 2, 5])
    tokens[1, 2:] = 0
    tokens[2, 5:] = 0
    chars = torch.randint(1, 9, (3, 7, 4))
    chars[tokens == 0] = 0
    chars[..., 3] = 0  # every word shorter than the widest
    x = model.embed_inputs(tokens, chars)
    out, h_n = model.run_rnn(x, lengths)
    ref_out, (ref_h, _) = _reference(model.rnn, x, lengths)
    torch.testing.assert_close(out, ref_out, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(h_n, ref_h, atol=2e-6, rtol=1e-5)
    logits = model(tokens, lengths, chars)
    logits.sum().backward()
    assert model.rnn.weight_hh_l1_reverse.grad is not None and model.rnn.weight_hh_l1_reverse.grad.abs().sum() > 0
    assert model.char_encoder.rnn.weight_ih_l0_reverse.grad.abs().sum() > 0

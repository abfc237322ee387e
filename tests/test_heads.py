"""Heads after the recurrent layer, read off state_dicts: what is inferred, from which keys, and the built head
reproduces the model's own predictions."""
from __future__ import annotations

import torch
from torch import nn

from lstm_viz import trace
from lstm_viz.files.heads import build_head, find_heads, head_logits
from lstm_viz.files.recurrent_weights import infer_architecture
from lstm_viz.training.models import ModelConfig, build_model


class Practitioner(nn.Module):
    """The issue's file: an embedding + 2-layer BiLSTM (32 -> 64) + a linear head over the last states."""

    def __init__(self, head_name="head", mlp=False):
        super().__init__()
        self.embedding = nn.Embedding(50, 32)
        self.lstm = nn.LSTM(32, 64, num_layers=2, bidirectional=True, batch_first=True)
        setattr(self, head_name, nn.Sequential(nn.Linear(128, 16), nn.ReLU(), nn.Linear(16, 2)) if mlp
                else nn.Linear(128, 2))
        self.head_name = head_name

    def forward(self, ids):
        _, (h_n, _) = self.lstm(self.embedding(ids))
        return getattr(self, self.head_name)(torch.cat([h_n[-2], h_n[-1]], dim=-1))


def guesses(sd, **kw):
    return find_heads(sd, infer_architecture(sd), **kw)


def test_the_practitioners_head_is_found_and_reproduces_its_predictions():
    torch.manual_seed(0)
    model = Practitioner().eval()
    sd = model.state_dict()
    found = guesses(sd)
    assert len(found) == 1
    head = found[0]
    assert head.layers == (("head.weight", "head.bias", 128, 2),) and head.out_features == 2
    assert head.task == "unknown" and "last" in head.pooling_candidates and "per-step" in head.pooling_candidates
    assert "head.weight has input width 128 = 2 direction(s) x 64 units of lstm." in head.evidence[0]
    ids = torch.randint(0, 50, (3, 7))
    tr = trace(model.lstm, model.embedding(ids).detach())
    torch.testing.assert_close(head_logits(build_head(head, sd), tr, "last"), model(ids), atol=1e-5, rtol=0)


def test_without_head_keys_there_is_no_head():
    sd = {k: v for k, v in Practitioner().state_dict().items() if not k.startswith("head.")}
    assert guesses(sd) == []


def test_names_mlp_chains_and_widths_decide_the_task():
    mlp = guesses(Practitioner("classifier", mlp=True).state_dict())
    assert len(mlp) == 1 and [w for w, *_ in mlp[0].layers] == ["classifier.0.weight", "classifier.2.weight"]
    assert mlp[0].task == "classification" and mlp[0].pooling_candidates[0] == "last"
    torch.manual_seed(1)
    model = Practitioner("classifier", mlp=True).eval()
    ids = torch.randint(0, 50, (2, 5))
    tr = trace(model.lstm, model.embedding(ids).detach())
    torch.testing.assert_close(head_logits(build_head(mlp[0], model.state_dict()), tr, "last"), model(ids),
                               atol=1e-5, rtol=0)

    tagger = Practitioner("hidden2tag").state_dict()
    assert guesses(tagger)[0].task == "tagging"
    lm = {**Practitioner().state_dict()}
    lm.pop("head.weight"), lm.pop("head.bias")
    lm["decoder.weight"], lm["decoder.bias"] = torch.zeros(50, 128), torch.zeros(50)
    lm_guess = guesses(lm, vocab_size=50)[0]
    assert lm_guess.task == "tagging" and "equal the vocabulary size" in lm_guess.evidence[-1]
    pooled = {**Practitioner().state_dict(), "head.weight": torch.zeros(2, 256)}
    assert guesses(pooled)[0].pooling_candidates == ("mean+max",)


def test_heads_of_the_projects_own_models_match_their_forward():
    torch.manual_seed(2)
    ids = torch.randint(2, 30, (3, 6))
    lengths = torch.tensor([6, 4, 2])
    for task, pooling in (("pos", "per-step"), ("sentiment", "last"), ("sentiment", "max"), ("sentiment", "mean")):
        cfg = ModelConfig(task=task, embed_dim=8, hidden_size=6, bidirectional=True, num_layers=2,
                          pooling="last" if pooling == "per-step" else pooling)
        model = build_model(cfg, 30, 4, 0).eval()
        sd = model.state_dict()
        head = guesses(sd)[0]
        assert head.layers[0][0] == "output.weight"
        assert pooling in head.pooling_candidates
        with torch.no_grad():
            tr = trace(model.rnn, model.embed_inputs(ids), lengths=lengths)
            want = model(ids, lengths)
        got = head_logits(build_head(head, sd), tr, pooling)
        if pooling == "per-step":
            mask = tr.mask
            torch.testing.assert_close(got[mask], want[mask], atol=1e-5, rtol=0)
        else:
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
